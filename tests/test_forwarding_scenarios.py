"""Forwarding: the legacy scenarios of ``test_shim_scenarios.py`` against "real" Cloud Tasks.

A second emulator plays Cloud Tasks (its gRPC face); the code under test forwards to it with
:class:`~emulator.cloudtasks.service.CloudTasksQueueService`. Each scenario runs once through
Google's SDK + testbed stub (what legacy code expects) and once through each route to Cloud
Tasks; what it records must be equal:

* ``shim``: the shim's Cloud Tasks backend in this process (``shims.install(backend=
  "cloudtasks")``), no emulator server in between;
* ``json``: the shim's remote backend → the JSON API /v1 of an emulator in ``--backend
  cloudtasks`` mode;
* ``sdk``: Google's own SDK → ``/rpc_http`` of that emulator (``shims.sdk.stub``).

The divergences are listed in docs/COMPATIBILITY.md ("Forwarding to Cloud Tasks"); the one a
scenario meets (leasing untagged tasks by tag) is asserted on its own below.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shims.sdk.stub import EmulatorTaskQueueStub
from tests.forwarding_support import (
    CloudTasks,
    cloud_tasks,
    forwarding_backend,
    forwarding_server,
    forwarding_world,
)
from tests.shim_support import PULL, LiveServer, sdk_time, sdk_world
from tests.test_shim_scenarios import SCENARIOS, Advance, pull

pytestmark = pytest.mark.e2e

#: Scenarios that meet a documented divergence (asserted in their own tests).
DIVERGING = {"lease_by_tag_groups"}
ROUTES = ("shim", "json", "sdk")
#: Scenarios a route cannot run in order: Google's SDK runs ``*_async`` calls on its RPC
#: thread pool (shims/sdk/stub.py is THREADSAFE), so they reach the server in any order.
UNORDERED = {("async_calls_and_callbacks", "sdk")}


@pytest.fixture(scope="module")
def backing(root: Path) -> Iterator[CloudTasks]:
    with cloud_tasks(root / "queue.yaml") as running:
        yield running


@pytest.fixture(scope="module")
def forwarder(root: Path, backing: CloudTasks) -> Iterator[LiveServer]:
    with forwarding_server(root / "queue.yaml", backing) as running:
        yield running


class _BackingTime:
    """The backing emulator's clock as the ``time()`` Google's SDK module reads."""

    def __init__(self, backing: CloudTasks) -> None:
        self._backing = backing

    def time(self) -> float:
        return self._backing.runtime.clock.now_usec() / 1e6


@contextlib.contextmanager
def sdk_over(address: str, backing: CloudTasks) -> Iterator[tuple[Any, Advance]]:
    """Google's SDK with its taskqueue stub sending ``/rpc_http`` to ``address``."""
    from google.appengine.api import apiproxy_stub_map, taskqueue
    from google.appengine.ext import testbed

    backing.emptied()
    bed = testbed.Testbed()
    bed.activate()
    stub = EmulatorTaskQueueStub(address)
    try:
        bed.init_taskqueue_stub()
        apiproxy_stub_map.apiproxy.ReplaceStub("taskqueue", stub)
        with sdk_time(_BackingTime(backing)):  # type: ignore[arg-type]
            yield taskqueue, backing.advance
    finally:
        stub.close()
        bed.deactivate()


@contextlib.contextmanager
def route(
    name: str, root: Path, backing: CloudTasks, forwarder: LiveServer
) -> Iterator[tuple[Any, Advance]]:
    """The taskqueue module and the clock of one route to Cloud Tasks."""
    if name == "sdk":
        with sdk_over(forwarder.address, backing) as world:
            yield world
        return
    backend: Any = (
        forwarding_backend(root / "queue.yaml", backing) if name == "shim" else forwarder.backend()
    )
    try:
        with forwarding_world(backend, backing) as shim:
            yield shim.taskqueue, shim.advance
    finally:
        backend.close()


@pytest.mark.parametrize("via", ROUTES)
@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - DIVERGING))
def test_scenario_through_cloud_tasks_matches_google_sdk(
    name: str, via: str, root: Path, backing: CloudTasks, forwarder: LiveServer
) -> None:
    if (name, via) in UNORDERED:
        pytest.skip("the SDK sends these async calls concurrently (not a forwarding matter)")
    scenario = SCENARIOS[name]
    with sdk_world(root) as sdk:
        expected = scenario(sdk.taskqueue, sdk.advance)
    with route(via, root, backing, forwarder) as (taskqueue, advance):
        actual = scenario(taskqueue, advance)
    assert actual == expected


@pytest.mark.parametrize("via", ROUTES)
def test_leasing_untagged_tasks_by_tag_is_refused_with_why(
    via: str, root: Path, backing: CloudTasks, forwarder: LiveServer
) -> None:
    """Cloud Tasks' LeaseTasks filter cannot name the empty tag; legacy ``tag=""`` can."""
    with route(via, root, backing, forwarder) as (taskqueue, advance):
        q = taskqueue.Queue(PULL)
        q.add([pull(taskqueue, "u"), pull(taskqueue, "a", tag="A")])
        advance(1)
        with pytest.raises(taskqueue.Error) as refused:
            q.lease_tasks_by_tag(30, 5, tag="")
        assert [t.name for t in q.lease_tasks_by_tag(30, 5, tag="A")] == ["a"]
        assert [t.name for t in q.lease_tasks(30, 5)] == ["u"]
    if via != "sdk":  # the SDK's exception carries no detail from /rpc_http
        assert "untagged" in str(refused.value)


@pytest.mark.parametrize("via", ROUTES)
def test_a_fractional_lease_is_held_whole_seconds(
    via: str, root: Path, backing: CloudTasks, forwarder: LiveServer
) -> None:
    """Cloud Tasks leases whole seconds: 0.5 s is rounded up to 1 s (not down to nothing)."""
    with route(via, root, backing, forwarder) as (taskqueue, advance):
        q = taskqueue.Queue(PULL)
        q.add(pull(taskqueue, "t"))
        [task] = q.lease_tasks(0.5, 1)
        advance(0.5)
        assert q.lease_tasks(10, 1) == []
        advance(0.5)
        assert [t.name for t in q.lease_tasks(10, 1)] == ["t"]
    assert task.name == "t"
