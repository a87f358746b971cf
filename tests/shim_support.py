"""Shared builders for the shim tests: a queue.yaml, Google's SDK + testbed stub on a fake
clock, the shim on an embedded or a live emulator, and small servers that misbehave."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.app import runtime_app
from emulator.domain.clock import FakeClock
from emulator.domain.production import ProductionOptions
from emulator.server import ServerThread
from emulator.wiring import Runtime, build_runtime
from shims import backends, testing
from shims import clock as client_clock
from shims.backends.embedded import EmbeddedBackend
from shims.backends.remote import RemoteBackend

#: 2026-01-01T00:00:00Z in microseconds: the instant the fake clocks start at.
T0 = FakeClock.DEFAULT_START_USEC  #: 2026-01-01T00:00:00Z, where every test clock starts
SEC = 1_000_000

PULL = "pull-a"
PULL_B = "pull-b"
LIMITED = "limited"
PUSH = "push-q"

QUEUE_YAML = f"""\
queue:
- name: {PULL}
  mode: pull
- name: {PULL_B}
  mode: pull
- name: {LIMITED}
  mode: pull
  retry_parameters:
    task_retry_limit: 2
- name: {PUSH}
  rate: 5/s
"""


def write_queue_yaml(directory: Path, text: str = QUEUE_YAML) -> Path:
    """Write ``queue.yaml`` into ``directory`` and return its path."""
    path = directory / "queue.yaml"
    path.write_text(text)
    return path


# -- Google's SDK with testbed ------------------------------------------------------------------


class FakeTime:
    """A clock in integer microseconds, read by the stub (``gettime``) and the SDK module."""

    def __init__(self, now_usec: int = T0) -> None:
        self.now_usec = now_usec

    def time(self) -> float:
        return self.now_usec / 1e6

    def advance(self, seconds: float) -> None:
        self.now_usec += int(seconds * 1e6)


@dataclass
class SdkWorld:
    """Google's ``taskqueue`` module over testbed's stub, both on one :class:`FakeTime`."""

    taskqueue: Any
    stub: Any
    clock: FakeTime

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


class _TimeModule(types.ModuleType):
    """The ``time`` module, except that ``time()`` reads a :class:`FakeTime`."""

    def __init__(self, fake: FakeTime) -> None:
        super().__init__("time")
        self._fake = fake

    def time(self) -> float:
        return self._fake.time()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextlib.contextmanager
def sdk_time(fake: FakeTime) -> Iterator[None]:
    """Make Google's ``taskqueue`` module compute ETAs (``time.time()``) from ``fake``."""
    from google.appengine.api.taskqueue import taskqueue as module

    original = module.time
    module.time = _TimeModule(fake)
    try:
        yield
    finally:
        module.time = original


@contextlib.contextmanager
def sdk_world(
    root_path: Path, clock: FakeTime | None = None, *, patch_sdk_time: bool = True
) -> Iterator[SdkWorld]:
    """Activate testbed with the stub reading ``root_path/queue.yaml`` and its ``gettime`` on
    a fake clock. With ``patch_sdk_time`` the SDK module's ``time.time`` (used for ETAs) reads
    the same fake clock; without it the SDK keeps the wall clock, as in most testbed suites."""
    from google.appengine.api import taskqueue
    from google.appengine.ext import testbed

    fake = clock or FakeTime()
    bed = testbed.Testbed()
    bed.activate()
    try:
        with sdk_time(fake) if patch_sdk_time else contextlib.nullcontext():
            bed.init_taskqueue_stub(root_path=str(root_path), gettime=fake.time)
            yield SdkWorld(taskqueue, bed.get_stub(testbed.TASKQUEUE_SERVICE_NAME), fake)
    finally:
        bed.deactivate()


# -- the shim -----------------------------------------------------------------------------------


@dataclass
class ShimWorld:
    """The shim module over one backend, with the emulator's clock under test control."""

    taskqueue: Any
    backend: backends.ControlledBackend

    def advance(self, seconds: float) -> None:
        testing.advance_clock(seconds)


@contextlib.contextmanager
def shim_world(backend: backends.ControlledBackend, now_usec: int = T0) -> Iterator[ShimWorld]:
    """Make ``backend`` current, empty it and freeze its clock at ``now_usec``."""
    from shims import taskqueue

    previous = backends.use(backend)
    try:
        testing.reset()
        testing.set_clock(now_usec)
        yield ShimWorld(taskqueue, backend)
    finally:
        client_clock.set_source(None)
        backends.use(previous)


def embedded_backend(
    queue_yaml: Path | None, production: ProductionOptions | None = None
) -> EmbeddedBackend:
    """A fresh in-process emulator (with the ``production`` behaviours; default none)."""
    path = None if queue_yaml is None else str(queue_yaml)
    return EmbeddedBackend.build(path, ":memory:", production)


@dataclass
class LiveServer:
    """A real emulator server in a thread, with test control."""

    runtime: Runtime
    server: ServerThread

    @property
    def address(self) -> str:
        return self.server.address

    def backend(self) -> RemoteBackend:
        return RemoteBackend(self.address)


@contextlib.contextmanager
def live_server(
    queue_yaml: Path | None,
    *,
    test_control: bool = True,
    production: ProductionOptions | None = None,
) -> Iterator[LiveServer]:
    """Serve an in-memory emulator on a free port for the duration of the block (with the
    ``production`` behaviours; default none)."""
    path = None if queue_yaml is None else str(queue_yaml)
    runtime = build_runtime(path, ":memory:", production=production)
    with serving(runtime, test_control=test_control) as server:
        yield LiveServer(runtime, server)


@contextlib.contextmanager
def serving(runtime: Runtime, *, test_control: bool = False) -> Iterator[ServerThread]:
    """Serve ``runtime`` on a free port for the duration of the block; then close it."""
    server = ServerThread(runtime_app(runtime, enable_test_control=test_control)).start()
    try:
        yield server
    finally:
        server.stop()
        runtime.close()


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers; yields ``host:port``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def free_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
