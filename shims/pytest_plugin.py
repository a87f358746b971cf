"""pytest fixtures for code that uses ``google.appengine.api.taskqueue`` (pull queues).

* ``taskqueue``: the shim installed as ``google.appengine.api.taskqueue`` and returned; a
  fresh embedded emulator for each test (or, if the test also uses ``taskqueue_emulator``,
  that server). ``HTTP_HOST`` defaults to testbed's ``testbed.example.com``.
* ``taskqueue_emulator``: a real emulator server (one per session, on a free port, with test
  control), reset for each test; returns its ``"host:port"`` and sets
  ``TASKQUEUE_EMULATOR_HOST`` for the test, so subprocesses and the shim use it.
* ``taskqueue_clock``: the active emulator's clock, frozen at the start of the test (at the
  current whole second): ``.now()``, ``.set(now_usec)``, ``.advance(seconds)``,
  ``.use_system()``.

The queue.yaml comes from ``--taskqueue-yaml PATH``, else the ini option ``taskqueue_yaml``
(relative to the ini file), else ``TASKQUEUE_EMULATOR_QUEUE_YAML``; without any, only the push
queue ``default`` exists.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from emulator.domain.limits import MEMORY_STORAGE
from shims import backends, testing
from shims import clock as client_clock

if TYPE_CHECKING:
    from emulator.server import ServerThread

TESTBED_HTTP_HOST = "testbed.example.com"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("taskqueue", "App Engine task queue emulator")
    group.addoption(
        "--taskqueue-yaml",
        dest="taskqueue_yaml",
        default=None,
        metavar="PATH",
        help="queue.yaml for the taskqueue fixtures",
    )
    parser.addini("taskqueue_yaml", "queue.yaml for the taskqueue fixtures (relative to the ini)")


def queue_yaml_path(config: pytest.Config) -> str | None:
    """The queue.yaml the fixtures load (see the module docstring), or None."""
    option = config.getoption("taskqueue_yaml")
    if option:
        return str(Path(option).resolve())
    ini = config.getini("taskqueue_yaml")
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return str((base / str(ini)).resolve())
    return os.environ.get(backends.ENV_QUEUE_YAML) or None


class TaskQueueClock:
    """The active emulator's clock (embedded or remote), in integer microseconds."""

    def now(self) -> int:
        """The emulator's current time."""
        return testing.now_usec()

    def set(self, now_usec: int) -> None:
        """Freeze the clock at ``now_usec``."""
        testing.set_clock(now_usec)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        testing.advance_clock(seconds)

    def use_system(self) -> None:
        """Let the clock follow real time again."""
        testing.use_system_clock()


@pytest.fixture(scope="session")
def _taskqueue_emulator_server(pytestconfig: pytest.Config) -> Iterator[ServerThread]:
    from emulator.app import runtime_app
    from emulator.server import ServerThread
    from emulator.wiring import build_runtime

    runtime = build_runtime(queue_yaml_path(pytestconfig), MEMORY_STORAGE)
    server = ServerThread(runtime_app(runtime, enable_test_control=True)).start()
    try:
        yield server
    finally:
        server.stop()
        runtime.close()


@pytest.fixture
def taskqueue_emulator(
    _taskqueue_emulator_server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    from shims.backends.remote import RemoteBackend

    address = _taskqueue_emulator_server.address
    control = RemoteBackend(address)
    control.use_system_clock()
    control.reset()
    monkeypatch.setenv(backends.ENV_HOST, address)
    try:
        yield address
    finally:
        control.use_system_clock()
        control.close()
        client_clock.set_source(None)


@pytest.fixture
def taskqueue(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    import shims
    from shims import taskqueue as module

    backend = _fixture_backend(request)
    monkeypatch.setenv("HTTP_HOST", os.environ.get("HTTP_HOST", TESTBED_HTTP_HOST))
    installed_here = not shims.is_installed()
    if installed_here:
        shims.install()
    previous = backends.use(backend)
    try:
        yield module
    finally:
        backends.use(previous)
        backend.close()
        client_clock.set_source(None)
        if installed_here:
            shims.uninstall()


def _fixture_backend(request: pytest.FixtureRequest) -> backends.ControlledBackend:
    if "taskqueue_emulator" in request.fixturenames:
        from shims.backends.remote import RemoteBackend

        return RemoteBackend(request.getfixturevalue("taskqueue_emulator"))
    from shims.backends.embedded import EmbeddedBackend

    return EmbeddedBackend.build(queue_yaml_path(request.config), MEMORY_STORAGE)


@pytest.fixture
def taskqueue_clock(request: pytest.FixtureRequest) -> Iterator[TaskQueueClock]:
    for name in ("taskqueue", "taskqueue_emulator"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
    clock = TaskQueueClock()
    clock.set(time.time_ns() // 1000 // 1_000_000 * 1_000_000)
    try:
        yield clock
    finally:
        try:
            clock.use_system()
        finally:
            client_clock.set_source(None)
