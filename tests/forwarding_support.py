"""Builders for the forwarding tests: a second emulator plays the real Cloud Tasks.

* :func:`cloud_tasks` serves an in-memory emulator (the "real" Cloud Tasks) over its Cloud
  Tasks gRPC face, with its own queue.yaml;
* :func:`forwarding_backend` is the shim's Cloud Tasks backend pointed at it, its "now" the
  backing emulator's clock (so countdowns agree with Cloud Tasks' own clock);
* :func:`forwarding_server` is a whole emulator in ``--backend cloudtasks`` mode (JSON,
  ``/rpc_http``, console) over it;
* :func:`forwarding_world` is a :class:`~tests.shim_support.ShimWorld` whose clock is the
  backing emulator's: Cloud Tasks' clock cannot be controlled through the forwarder, so the
  tests freeze and advance the backing emulator directly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.cloudtasks.target import CloudTasksTarget
from emulator.faces.cloud_tasks.grpc_server import AuthorizationCheck, CloudTasksGrpcServer
from emulator.wiring import Runtime, build_forwarding_runtime, build_runtime
from shims import backends
from shims import clock as client_clock
from shims.backends.cloudtasks import CloudTasksBackend
from tests.shim_support import T0, LiveServer, ShimWorld, serving

PROJECT = "fwd-proj"
LOCATION = "europe-west1"
#: Short enough that a test of an unreachable endpoint ends at once, long enough for a
#: loaded machine to answer.
TIMEOUT_SECONDS = 10.0


@dataclass
class CloudTasks:
    """The backing emulator: its runtime and its Cloud Tasks gRPC face."""

    runtime: Runtime
    grpc: CloudTasksGrpcServer

    @property
    def endpoint(self) -> str:
        return self.grpc.address

    def target(self, timeout: float = TIMEOUT_SECONDS) -> CloudTasksTarget:
        return CloudTasksTarget(PROJECT, LOCATION, self.endpoint, timeout)

    def emptied(self, now_usec: int = T0) -> None:
        """Drop everything and freeze the clock at ``now_usec``."""
        self.runtime.service.reset()
        self.runtime.clock.freeze(now_usec)

    def advance(self, seconds: float) -> None:
        self.runtime.clock.advance(seconds)


@contextlib.contextmanager
def cloud_tasks(
    queue_yaml: Path, authorize: AuthorizationCheck | None = None
) -> Iterator[CloudTasks]:
    """An in-memory emulator serving Cloud Tasks over gRPC on a free port."""
    runtime = build_runtime(str(queue_yaml), ":memory:")
    grpc_server = CloudTasksGrpcServer(runtime.service, authorize=authorize).start()
    try:
        yield CloudTasks(runtime, grpc_server)
    finally:
        grpc_server.stop()
        runtime.clock.unfreeze()
        runtime.close()


def forwarding_backend(queue_yaml: Path, backing: CloudTasks) -> CloudTasksBackend:
    """The shim's Cloud Tasks backend over ``backing``, reading ``backing``'s clock."""
    return CloudTasksBackend.build(str(queue_yaml), backing.target(), backing.runtime.clock)


@contextlib.contextmanager
def forwarding_server(queue_yaml: Path, backing: CloudTasks) -> Iterator[LiveServer]:
    """Serve a forwarding emulator over ``backing`` (its "now": ``backing``'s clock); its
    ``backend()`` is the shim's remote backend on the server's JSON API."""
    runtime = build_forwarding_runtime(
        str(queue_yaml), backing.target(), clock=backing.runtime.clock
    )
    with serving(runtime) as server:
        yield LiveServer(runtime, server)


@contextlib.contextmanager
def forwarding_world(backend: Any, backing: CloudTasks) -> Iterator[ShimWorld]:
    """The shim over ``backend`` (which forwards to ``backing``), ``backing`` emptied and its
    clock frozen at :data:`T0`; the shim's client clock reads ``backing``'s."""
    from shims import taskqueue

    backing.emptied()
    previous = backends.use(backend)
    client_clock.set_source(backing.runtime.clock.now_usec)
    try:
        yield _BackedWorld(taskqueue, backend, backing)
    finally:
        client_clock.set_source(None)
        backends.use(previous)


class _BackedWorld(ShimWorld):
    """A shim world whose clock moves the backing emulator's."""

    def __init__(self, taskqueue: Any, backend: Any, backing: CloudTasks) -> None:
        super().__init__(taskqueue, backend)
        self._backing = backing

    def advance(self, seconds: float) -> None:
        self._backing.advance(seconds)
