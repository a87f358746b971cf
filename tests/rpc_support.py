"""Shared helpers for the ``/rpc_http`` tests: the queue.yaml, a frozen fake time for Google's
SDK, a live emulator in a thread driven through its test-control endpoints, and envelopes.

Requests are built with the SDK's own ``*_pb2`` classes wherever possible, so every test also
checks wire compatibility with ``appengine-python-standard``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from google.appengine.ext.remote_api import remote_api_bytes_pb2 as sdk_remote

from emulator.app import runtime_app
from emulator.server import ServerThread
from emulator.wiring import Runtime, build_runtime
from shims.backends.remote import RemoteBackend
from tests import shim_support
from tests.shim_support import SEC, T0, FakeTime, sdk_time

__all__ = ["SEC", "FakeTime", "sdk_time"]  # re-exported for the /rpc_http tests

T0_USEC = T0
T0_SECONDS = T0 / 1e6  #: exact in float seconds

PULL = "pullq"
LIMITED = "limited"
QUEUE_YAML = f"""\
queue:
- name: {PULL}
  mode: pull
- name: {LIMITED}
  mode: pull
  retry_parameters:
    task_retry_limit: 2
"""


def write_queue_yaml(directory: Path) -> Path:
    """Write :data:`QUEUE_YAML` as ``directory/queue.yaml`` (testbed's ``root_path`` layout)."""
    return shim_support.write_queue_yaml(directory, QUEUE_YAML)


@dataclass
class LiveEmulator:
    """An emulator served on 127.0.0.1:<free port>, its clock and data controlled through the
    ``/_emulator`` endpoints (by a :class:`RemoteBackend`, the shim's own client)."""

    runtime: Runtime
    server: ServerThread

    def __post_init__(self) -> None:
        self.control = RemoteBackend(self.server.address)

    @property
    def address(self) -> str:
        return self.server.address

    def freeze(self, now_usec: int) -> None:
        """Stop the emulator's clock at ``now_usec``."""
        self.control.set_clock(now_usec)

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward."""
        self.control.advance_clock(seconds)

    def use_system_clock(self) -> None:
        """Let the emulator's clock follow the real time again."""
        self.control.use_system_clock()

    def reset(self) -> None:
        """Drop every task, tombstone and counter."""
        self.control.reset()

    def stop(self) -> None:
        self.control.close()
        self.server.stop()
        self.runtime.close()


def start_emulator(queue_yaml: Path) -> LiveEmulator:
    """Serve a fresh in-memory emulator for ``queue_yaml``, its clock frozen at T0."""
    runtime = build_runtime(str(queue_yaml), ":memory:")
    server = ServerThread(runtime_app(runtime, enable_test_control=True)).start()
    emulator = LiveEmulator(runtime, server)
    emulator.freeze(T0_USEC)
    return emulator


def envelope(method: str, request: Any, service: str = "taskqueue") -> bytes:
    """A serialized remote_api ``Request`` carrying ``request`` (any message, or raw bytes)."""
    body = request if isinstance(request, bytes) else request.SerializeToString()
    wrapped: bytes = sdk_remote.Request(
        service_name=service, method=method, request=body, request_id="ticket"
    ).SerializeToString()
    return wrapped


def post_rpc(client: FlaskClient, body: bytes) -> Any:
    """POST ``body`` to /rpc_http; assert HTTP 200 and return the parsed SDK ``Response``."""
    answer = client.post("/rpc_http", data=body, content_type="application/octet-stream")
    assert answer.status_code == 200, answer.data
    assert answer.content_type == "application/octet-stream"
    return sdk_remote.Response.FromString(answer.data)
