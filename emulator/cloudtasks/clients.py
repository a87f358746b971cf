"""The google-cloud-tasks clients of a target (reference cloud-tasks-api.md §2).

No endpoint: the real service, each client with its own TLS channel and Application Default
Credentials. An endpoint: **one** plaintext gRPC channel for the three clients, with the
4 MiB receive limit lifted (a lease answer may be 32 MB); a channel instance in the
transport means no credentials are looked up at all (anonymous).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import grpc
from google.auth import exceptions as auth_exceptions
from google.cloud import tasks_v2, tasks_v2beta2, tasks_v2beta3

from emulator.cloudtasks.target import CloudTasksTarget
from emulator.domain.errors import ErrorCode, TaskQueueError

#: As the reference advises for a user-made channel.
GRPC_OPTIONS: Final = [
    ("grpc.max_receive_message_length", -1),
    ("grpc.max_send_message_length", -1),
]


@dataclass
class CloudTasksClients:
    """``pull`` (v2beta2: pull tasks and their queues), ``push`` (v2: push tasks and queues),
    ``push_stats`` (v2beta3: a push queue's statistics, which v2 does not have)."""

    pull: Any
    push: Any
    push_stats: Any
    channel: grpc.Channel | None = field(default=None, repr=False)

    def close(self) -> None:
        """Close the shared channel, or each client's own."""
        if self.channel is not None:
            self.channel.close()
            return
        for client in (self.pull, self.push, self.push_stats):
            client.transport.close()


def _transport(module: Any, channel: grpc.Channel) -> Any:
    return module.services.cloud_tasks.transports.CloudTasksGrpcTransport(channel=channel)


def connect(target: CloudTasksTarget) -> CloudTasksClients:
    """The three clients of ``target``.

    Raises:
        TaskQueueError: PERMISSION_DENIED when no endpoint is given and Application Default
            Credentials cannot be found (the message says how to provide them).
    """
    modules = (tasks_v2beta2, tasks_v2, tasks_v2beta3)
    if target.endpoint is not None:
        channel = grpc.insecure_channel(target.endpoint, options=GRPC_OPTIONS)
        pull, push, push_stats = (
            m.CloudTasksClient(transport=_transport(m, channel)) for m in modules
        )
        return CloudTasksClients(pull, push, push_stats, channel=channel)
    try:
        pull, push, push_stats = (m.CloudTasksClient() for m in modules)
        return CloudTasksClients(pull, push, push_stats)
    except auth_exceptions.DefaultCredentialsError as exc:
        raise TaskQueueError(
            ErrorCode.PERMISSION_DENIED,
            f"cannot reach {target.description}: {exc} (run 'gcloud auth "
            "application-default login', or give --cloud-tasks-endpoint for an emulator)",
        ) from None
