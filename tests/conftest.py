"""Shared fixtures and the Hypothesis profiles.

Fixtures here serve several modules (a module may define its own of the same name, which
then wins); builders that are not fixtures live in the ``*_support.py`` modules.

Hypothesis profiles, chosen with ``HYPOTHESIS_PROFILE`` (default ``default``):

* ``default``: quick, for a run on a laptop: few examples and short runs of the
  differential state machines;
* ``ci``: what ``.ci/run`` uses: at least the example counts and step counts the
  differential suites were written with.

The profile sets ``max_examples`` and ``stateful_step_count`` for every test that does not
set them itself; cheap property tests pin their own ``max_examples`` so that the quick
profile does not thin them out.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from emulator.domain.production import ProductionOptions
from emulator.faces.cloud_tasks.grpc_server import CloudTasksGrpcServer
from shims import backends
from tests.console_support import ConsoleSite, make_site
from tests.core_support import World, make_world
from tests.shim_support import LiveServer, embedded_backend, live_server, write_queue_yaml

settings.register_profile("default", max_examples=8, stateful_step_count=20)
settings.register_profile("ci", max_examples=50, stateful_step_count=40)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def world() -> World:
    """The core over an in-memory store and a fake clock (tests/core_support.py)."""
    return make_world()


@pytest.fixture
def site(world: World) -> ConsoleSite:
    """The web console over ``world``, through a Flask test client (tests/console_support.py)."""
    return make_site(world)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the shim tests' queue.yaml (tests/shim_support.py)."""
    directory = tmp_path_factory.mktemp("shim")
    write_queue_yaml(directory)
    return directory


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[LiveServer]:
    """A live emulator on that queue.yaml, for the module."""
    with live_server(root / "queue.yaml") as running:
        yield running


@pytest.fixture(params=["embedded", pytest.param("live", marks=pytest.mark.e2e)])
def backend(request: pytest.FixtureRequest, root: Path) -> Iterator[backends.ControlledBackend]:
    """Each test twice: on an embedded backend and on the live server."""
    chosen: backends.ControlledBackend
    if request.param == "embedded":
        chosen = embedded_backend(root / "queue.yaml")
    else:
        chosen = request.getfixturevalue("server").backend()
    try:
        yield chosen
    finally:
        chosen.close()


@pytest.fixture(scope="module")
def cloud_tasks_grpc(server: LiveServer) -> Iterator[CloudTasksGrpcServer]:
    """Cloud Tasks over gRPC on a free port, over the module's live emulator."""
    grpc_server = CloudTasksGrpcServer(server.runtime.service).start()
    try:
        yield grpc_server
    finally:
        grpc_server.stop()


#: Builds a backend whose emulator has the given production behaviours.
BackendFactory = Callable[[ProductionOptions], backends.ControlledBackend]


@pytest.fixture(params=["embedded", pytest.param("live", marks=pytest.mark.e2e)])
def production_backend(request: pytest.FixtureRequest, root: Path) -> Iterator[BackendFactory]:
    """Each test twice: a factory of backends with given production behaviours (rate limit,
    faults, visibility delay), embedded, then each on a live server of its own."""
    with contextlib.ExitStack() as stack:

        def make(production: ProductionOptions) -> backends.ControlledBackend:
            chosen: backends.ControlledBackend
            if request.param == "embedded":
                chosen = embedded_backend(root / "queue.yaml", production)
            else:
                running = stack.enter_context(
                    live_server(root / "queue.yaml", production=production)
                )
                chosen = running.backend()
            stack.callback(chosen.close)
            return chosen

        yield make
