"""Where the forwarding service sends its calls: a project, a location, an endpoint.

No Google import here: :mod:`emulator.settings` and :mod:`emulator.wiring` name a target
without loading protobuf (only building the service does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Google's per-call timeout of every v2beta2 RPC (google-cloud-tasks' transports/base.py).
DEFAULT_TIMEOUT_SECONDS: Final = 20.0


@dataclass(frozen=True)
class CloudTasksTarget:
    """A Cloud Tasks location to forward to.

    ``endpoint`` None is the real service (``cloudtasks.googleapis.com``, TLS, Application
    Default Credentials); ``host:port`` is a plaintext gRPC server reached with anonymous
    credentials (another emulator's ``--cloud-tasks-grpc-port``). ``timeout_seconds`` bounds
    every call (no automatic retries: a failure is reported at once).
    """

    project: str
    location: str
    endpoint: str | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def description(self) -> str:
        """Where the calls go, for banners and messages."""
        where = self.endpoint or "cloudtasks.googleapis.com (Application Default Credentials)"
        return f"Cloud Tasks projects/{self.project}/locations/{self.location} at {where}"

    def queue_path(self, queue: str) -> str:
        """``projects/P/locations/L/queues/Q``."""
        return f"projects/{self.project}/locations/{self.location}/queues/{queue}"

    def task_path(self, queue: str, task: str) -> str:
        """``projects/P/locations/L/queues/Q/tasks/T``."""
        return f"{self.queue_path(queue)}/tasks/{task}"
