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

The opt-in production behaviours (docs/TESTING.md) of both fixtures' emulators, each from
the first of: the test's ``@pytest.mark.taskqueue(lease_rate_limit=10, ...)`` marker, the
option ``--taskqueue-lease-rate-limit N`` (and ``--taskqueue-add-visibility-delay SECONDS``,
``--taskqueue-inject-faults SPEC``, ``--taskqueue-inject-faults-seed N``,
``--taskqueue-like-production``), the ini option of the same name (``taskqueue_lease_rate_limit``
...), the ``TASKQUEUE_EMULATOR_*`` variable of the CLI flag. A test with the marker and
``taskqueue_emulator`` gets a server of its own with those behaviours.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from emulator import settings
from emulator.domain.limits import MEMORY_STORAGE
from emulator.domain.production import ProductionOptions, resolve_production
from shims import backends, testing
from shims import clock as client_clock

if TYPE_CHECKING:
    from emulator.server import ServerThread

#: The production settings, named as the CLI's (``dest`` in :data:`emulator.settings.SETTINGS`).
PRODUCTION_SETTINGS = (
    "lease_rate_limit",
    "add_visibility_delay",
    "inject_faults",
    "inject_faults_seed",
    "like_production",
)
MARKER = "taskqueue"


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
    for name in PRODUCTION_SETTINGS:
        row = settings.setting(name)
        text = f"the fixtures' emulators: {row.flag} of taskqueue-emulator"
        if row.switch:
            group.addoption(
                _option(name),
                dest=f"taskqueue_{name}",
                action="store_true",
                default=None,
                help=text,
            )
        else:
            group.addoption(
                _option(name),
                dest=f"taskqueue_{name}",
                default=None,
                metavar=row.metavar,
                help=text,
            )
        parser.addini(f"taskqueue_{name}", text)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; a bad production option or ini value stops the session at once
    (the ``TASKQUEUE_EMULATOR_*`` variables are read only when a fixture needs them)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(lease_rate_limit=None, add_visibility_delay=None, inject_faults=None, "
        "inject_faults_seed=None, like_production=None): production behaviours of this "
        "test's taskqueue emulator (docs/TESTING.md)",
    )
    for name in PRODUCTION_SETTINGS:
        try:
            _configured_value(config, name)
        except ValueError as exc:
            raise pytest.UsageError(f"taskqueue fixtures: {exc}") from None


def _option(name: str) -> str:
    return f"--taskqueue-{name.replace('_', '-')}"


def production_options(
    config: pytest.Config, marked: Mapping[str, Any] | None = None
) -> ProductionOptions:
    """The production behaviours for a fixture's emulator (see the module docstring).

    Raises:
        pytest.UsageError: an unknown marker argument or an unusable value (named).
    """
    marked = dict(marked or {})
    unknown = sorted(set(marked) - set(PRODUCTION_SETTINGS))
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER}: unknown argument {unknown[0]!r}; "
            f"use {', '.join(PRODUCTION_SETTINGS)}"
        )
    try:
        values = {name: _production_value(config, name, marked) for name in PRODUCTION_SETTINGS}
        like = bool(values.pop("like_production"))
        return resolve_production(like_production=like, **values)
    except ValueError as exc:
        raise pytest.UsageError(f"taskqueue fixtures: {exc}") from None


def _production_value(config: pytest.Config, name: str, marked: Mapping[str, Any]) -> Any:
    if name in marked:
        return marked[name]
    value = _configured_value(config, name)
    return settings.from_environment(name) if value is None else value


def _configured_value(config: pytest.Config, name: str) -> Any:
    """The value of the option, else of the ini option, else None."""
    row = settings.setting(name)
    option = config.getoption(f"taskqueue_{name}")
    if option is not None:
        return True if row.switch else _parsed(row, option, _option(name))
    ini = config.getini(f"taskqueue_{name}")
    if ini:
        return _parsed(row, str(ini), f"ini option taskqueue_{name}")
    return None


def _parsed(row: settings.Setting, text: str, source: str) -> Any:
    try:
        return row.parse(text)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{source}: {exc}") from None


def _marked(request: pytest.FixtureRequest) -> Mapping[str, Any] | None:
    marker = request.node.get_closest_marker(MARKER)
    return None if marker is None else marker.kwargs


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
    with _serving(pytestconfig, production_options(pytestconfig)) as server:
        yield server


@contextlib.contextmanager
def _serving(config: pytest.Config, production: ProductionOptions) -> Iterator[ServerThread]:
    """An emulator server on a free port, with test control, until the block ends."""
    from emulator.app import runtime_app
    from emulator.server import ServerThread
    from emulator.wiring import build_runtime

    runtime = build_runtime(queue_yaml_path(config), MEMORY_STORAGE, production=production)
    server = ServerThread(runtime_app(runtime, enable_test_control=True)).start()
    try:
        yield server
    finally:
        server.stop()
        runtime.close()


@pytest.fixture
def taskqueue_emulator(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    with contextlib.ExitStack() as stack:
        marked = _marked(request)
        if marked is None:
            server: ServerThread = request.getfixturevalue("_taskqueue_emulator_server")
        else:  # a server of its own, with the marker's behaviours
            server = stack.enter_context(
                _serving(request.config, production_options(request.config, marked))
            )
        yield from _reset_for_the_test(server.address, monkeypatch)


def _reset_for_the_test(address: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from shims.backends.remote import RemoteBackend

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
    monkeypatch.setenv("HTTP_HOST", os.environ.get("HTTP_HOST", testing.TESTBED_HTTP_HOST))
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

    production = production_options(request.config, _marked(request))
    return EmbeddedBackend.build(queue_yaml_path(request.config), MEMORY_STORAGE, production)


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
