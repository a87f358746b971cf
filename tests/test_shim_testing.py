"""``shims.testing``: clock control and testbed-style helpers, the same on both backends,
with the return shapes of Google's ``TaskQueueServiceStub`` helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shims import backends, testing
from shims import taskqueue as tq
from tests.shim_support import (
    LIMITED,
    PULL,
    PULL_B,
    PUSH,
    SEC,
    T0,
    sdk_world,
    shim_world,
)


def populate(module: Any, advance: Any) -> None:
    pull = module.Queue(PULL)
    pull.add(
        [
            module.Task(payload="héllo", method="PULL", name="p1", tag="t"),
            module.Task(payload=b"\x00", method="PULL", name="p2", countdown=30),
        ]
    )
    module.Queue(PULL_B).add(module.Task(payload=b"b", method="PULL", name="b1"))
    module.Queue(PUSH).add(
        [
            module.Task(url="/w", params={"k": "v"}, name="s1"),
            module.Task(payload=b"raw", name="s2", headers={"X-A": "1"}),
        ]
    )
    advance(1)
    pull.lease_tasks(60, 1)


def without_wall_clock(task: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in task.items() if k not in {"eta_delta", "add_request_pb"}}


def observe(helpers: Any) -> tuple[Any, ...]:
    """What testbed-style ``helpers`` (the stub, or ``shims.testing``) report, minus the
    wall-clock fields: tasks per queue, queues, and several ``get_filtered_tasks`` views."""
    tasks = {q: [without_wall_clock(t) for t in helpers.GetTasks(q)] for q in (PULL, PULL_B, PUSH)}
    queues = [{k: v for k, v in q.items() if k != "eta_delta"} for q in helpers.GetQueues()]
    filtered = [
        [(t.name, t.method, t.url, t.payload, t.eta, t.headers) for t in found]
        for found in (
            helpers.get_filtered_tasks(),
            helpers.get_filtered_tasks(queue_names=PULL),
            helpers.get_filtered_tasks(queue_names=[PUSH, "nope"]),
            helpers.get_filtered_tasks(url="/w"),
            helpers.get_filtered_tasks(name="b1"),
        )
    ]
    return tasks, queues, filtered


def test_helpers_return_what_testbed_returns(
    root: Path, backend: backends.ControlledBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sdk_world(root) as sdk:
        populate(sdk.taskqueue, sdk.advance)
        expected_tasks, expected_queues, expected_filtered = observe(sdk.stub)
    with shim_world(backend) as shim:
        monkeypatch.setenv("HTTP_HOST", "testbed.example.com")
        populate(shim.taskqueue, shim.advance)
        actual_tasks, actual_queues, actual_filtered = observe(testing)
    assert actual_tasks == expected_tasks
    assert actual_queues == expected_queues
    assert actual_filtered == expected_filtered


def test_eta_delta_is_relative_to_the_emulator_clock(backend: backends.ControlledBackend) -> None:
    with shim_world(backend):
        tq.Queue(PULL).add(tq.Task(payload="x", method="PULL", countdown=90))
        [task] = testing.GetTasks(PULL)
        assert task["eta_delta"] == "0:01:30 from now"
        testing.advance_clock(100.5)
        assert testing.GetTasks(PULL)[0]["eta_delta"] == "0:00:10 ago"
        assert testing.GetQueues()[2]["eta_delta"] == "0:00:10 ago"


def test_unknown_queue_raises_key_error(backend: backends.ControlledBackend) -> None:
    with shim_world(backend):
        with pytest.raises(KeyError):
            testing.GetTasks("nope")
        testing.FlushQueue("nope")
        testing.DeleteTask("nope", "x")


def test_flush_and_delete_task_leave_no_tombstones(backend: backends.ControlledBackend) -> None:
    with shim_world(backend):
        queue = tq.Queue(PULL)
        queue.add([tq.Task(payload="x", method="PULL", name=n) for n in ("a", "b", "c")])
        queue.delete_tasks_by_name("c")
        testing.DeleteTask(PULL, "a")
        assert [t["name"] for t in testing.GetTasks(PULL)] == ["b"]
        queue.add(tq.Task(payload="x", method="PULL", name="a"))
        testing.FlushQueue(PULL)
        assert testing.GetTasks(PULL) == []
        queue.add([tq.Task(payload="x", method="PULL", name=n) for n in ("a", "b", "c")])


def test_reset_empties_everything_and_restarts_auto_names(
    backend: backends.ControlledBackend,
) -> None:
    with shim_world(backend):
        tq.Queue(PULL).add([tq.Task(payload="x", method="PULL") for _ in range(2)])
        tq.Queue(LIMITED).add(tq.Task(payload="x", method="PULL", name="gone"))
        tq.Queue(LIMITED).delete_tasks_by_name("gone")
        testing.reset()
        assert all(q["tasks_in_queue"] == 0 for q in testing.GetQueues())
        assert tq.Queue(PULL).add(tq.Task(payload="x", method="PULL")).name == "task1"
        tq.Queue(LIMITED).add(tq.Task(payload="x", method="PULL", name="gone"))
        assert testing.now_usec() == T0


def test_clock_controls_drive_the_emulator_and_the_client(
    backend: backends.ControlledBackend,
) -> None:
    with shim_world(backend):
        assert testing.now_usec() == T0
        assert tq.Task(payload="x", method="PULL")._eta_usec == T0
        testing.advance_clock(2.5)
        assert testing.now_usec() == T0 + 2_500_000
        assert tq.Task(payload="x", method="PULL")._eta_usec == T0 + 2_500_000
        testing.set_clock(T0 + 40 * 86400 * SEC)
        tq.Task(payload="x", method="PULL", countdown=29 * 86400)  # within 30 days of the clock
        testing.use_system_clock()
        assert abs(testing.now_usec() - tq.Task(payload="", method="PULL")._eta_usec) < 60 * SEC


def test_stub_object_offers_the_helpers_as_methods(backend: backends.ControlledBackend) -> None:
    with shim_world(backend):
        stub = testing.stub
        tq.Queue(PULL).add(tq.Task(payload="x", method="PULL", name="m"))
        assert [t.name for t in stub.get_filtered_tasks(queue_names=PULL)] == ["m"]
        assert [q["name"] for q in stub.GetQueues()] == sorted(
            ["default", PULL, PULL_B, LIMITED, PUSH]
        )
        stub.FlushQueue(PULL)
        assert stub.GetTasks(PULL) == []
