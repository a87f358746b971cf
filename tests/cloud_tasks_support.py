"""Shared builders for the Cloud Tasks tests: google-cloud-tasks' own clients, built exactly as
docs/CLOUD_TASKS.md tells users to (gRPC on an insecure channel, REST with anonymous
credentials), against a live emulator whose clock is frozen."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import tasks_v2, tasks_v2beta2, tasks_v2beta3
from google.protobuf import duration_pb2

from emulator.faces.cloud_tasks.grpc_server import CloudTasksGrpcServer
from tests.shim_support import T0, LiveServer

PROJECT = "my-proj"
LOCATION = "us-central1"
TRANSPORTS = ("grpc", "rest")
#: As the reference advises: lift gRPC's 4 MiB receive limit on a user-made channel.
GRPC_OPTS = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
MODULES: dict[str, ModuleType] = {
    "v2beta2": tasks_v2beta2,
    "v2beta3": tasks_v2beta3,
    "v2": tasks_v2,
}


def make_client(version: str, transport: str, rest_address: str, grpc_address: str) -> Any:
    """A ``CloudTasksClient`` of ``version`` over ``transport``, as a user builds one."""
    module = MODULES[version]
    grpc_transport = module.services.cloud_tasks.transports.CloudTasksGrpcTransport
    if transport == "grpc":
        channel = grpc.insecure_channel(grpc_address, options=GRPC_OPTS)
        return module.CloudTasksClient(transport=grpc_transport(channel=channel))
    return module.CloudTasksClient(
        transport="rest",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": f"http://{rest_address}"},
    )


@dataclass
class CloudTasksWorld:
    """A live emulator (REST on its port, gRPC on another), one client, the frozen clock."""

    server: LiveServer
    grpc_server: CloudTasksGrpcServer
    version: str
    transport: str
    client: Any

    @property
    def types(self) -> ModuleType:
        """The client's version module (``tasks_v2beta2``), for its message classes."""
        return MODULES[self.version]

    @staticmethod
    def other_types(version: str) -> ModuleType:
        """Another version's module, for its message classes."""
        return MODULES[version]

    def queue(self, queue: str) -> str:
        return str(self.client.queue_path(PROJECT, LOCATION, queue))

    def task(self, queue: str, task: str) -> str:
        return str(self.client.task_path(PROJECT, LOCATION, queue, task))

    def other(self, version: str, transport: str | None = None) -> Any:
        """Another client on the same emulator."""
        return make_client(
            version, transport or self.transport, self.server.address, self.grpc_server.address
        )

    def advance(self, seconds: float) -> None:
        self.server.runtime.clock.advance(seconds)

    @property
    def now_usec(self) -> int:
        return self.server.runtime.clock.now_usec()


@contextlib.contextmanager
def cloud_tasks_world(
    server: LiveServer, grpc_server: CloudTasksGrpcServer, version: str, transport: str
) -> Iterator[CloudTasksWorld]:
    """An emptied emulator, its clock frozen at :data:`T0`, and a client."""
    server.runtime.service.reset()
    server.runtime.clock.freeze(T0)
    client = make_client(version, transport, server.address, grpc_server.address)
    try:
        yield CloudTasksWorld(server, grpc_server, version, transport, client)
    finally:
        server.runtime.clock.unfreeze()


def seconds(value: float) -> duration_pb2.Duration:
    """A Duration of ``value`` seconds (whole seconds and nanos)."""
    whole = int(value)
    return duration_pb2.Duration(seconds=whole, nanos=round((value - whole) * 1e9))


def usec(stamp: Any) -> int:
    """A proto-plus ``DatetimeWithNanoseconds`` (what timestamps read back as) in µs."""
    pb = stamp.timestamp_pb()
    return int(pb.seconds * 1_000_000 + pb.nanos // 1000)


@contextlib.contextmanager
def raises_status(world: CloudTasksWorld, status: str, *mentions: str) -> Iterator[None]:
    """Expect Google's error ``status`` (``FAILED_PRECONDITION``), as each transport raises it:
    gRPC by its status code, REST by its HTTP status with ``status`` in the JSON body (so a
    FAILED_PRECONDITION over REST is a ``BadRequest``, as against Google). The message must
    name each of ``mentions``."""
    with pytest.raises(exceptions.GoogleAPICallError) as caught:
        yield
    error = caught.value
    if world.transport == "grpc":
        assert error.grpc_status_code is not None
        assert error.grpc_status_code.name == status, error
    else:
        assert error.response is not None
        body = error.response.json()
        assert body["error"]["status"] == status, body
        assert body["error"]["code"] == error.code, body
    for text in mentions:
        assert text in error.message, (text, error.message)
