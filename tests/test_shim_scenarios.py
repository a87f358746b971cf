"""Scenarios of legacy-taskqueue-api.md §4 run through Google's SDK + testbed stub and through
the shim (embedded and on a live server); what each scenario records must be equal.

Every scenario is a function ``(taskqueue module, advance(seconds)) -> list`` of observations
(exception names, task views, statistics) made the same way on both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shims import backends
from tests.shim_support import (
    LIMITED,
    PULL,
    PUSH,
    sdk_world,
    shim_world,
)

Advance = Callable[[float], None]
Scenario = Callable[[Any, Advance], list[Any]]


def error(call: Callable[[], Any]) -> str | None:
    try:
        call()
    except Exception as exc:
        return type(exc).__name__
    return None


def view(task: Any) -> tuple[Any, ...]:
    attributes = [
        "name",
        "payload",
        "tag",
        "_eta_usec",
        "retry_count",
        "was_enqueued",
        "was_deleted",
        "queue_name",
    ]
    return tuple(getattr(task, attribute) for attribute in attributes)


def pull(tq: Any, name: str | None = None, **kwargs: Any) -> Any:
    return tq.Task(payload=b"p-" + (name or "").encode(), method="PULL", name=name, **kwargs)


def lease_and_modify(tq: Any, advance: Advance) -> list[Any]:
    q = tq.Queue(PULL)
    q.add([pull(tq, "a"), pull(tq, "b", tag="x"), pull(tq, "c", tag="y")])
    advance(1)
    leased = q.lease_tasks(30, 10)
    seen: list[Any] = [[view(t) for t in leased], q.lease_tasks(30, 10)]
    q.modify_task_lease(leased[0], 60)
    seen.append(view(leased[0]))
    seen.append(error(lambda: q.modify_task_lease(pull(tq, "a"), 10)))
    seen.append(error(lambda: q.modify_task_lease(pull(tq, "never"), 10)))
    q.modify_task_lease(leased[1], 0)
    advance(0.25)
    seen.append([view(t) for t in q.lease_tasks(30, 10)])
    advance(31)
    seen.append(error(lambda: q.modify_task_lease(leased[2], 10)))
    return seen


def delete_and_tombstones(tq: Any, advance: Advance) -> list[Any]:
    q = tq.Queue(PULL)
    q.add([pull(tq, "a"), pull(tq, "b"), pull(tq, "c")])
    advance(1)
    leased = q.lease_tasks(30, 10)
    seen: list[Any] = [[t.was_deleted for t in q.delete_tasks(leased)]]
    again = q.delete_tasks_by_name(["a", "b", "c", "never"])
    seen.append([t.was_deleted for t in again])
    seen.append(error(lambda: q.delete_tasks(leased[0])))
    seen.append(error(lambda: q.add(pull(tq, "a"))))
    seen.append(error(lambda: q.modify_task_lease(leased[1], 10)))
    seen.append(q.delete_tasks_by_name("c").was_deleted)
    return seen


def batch_with_existing_names(tq: Any, advance: Advance) -> list[Any]:
    q = tq.Queue(PULL)
    q.add([pull(tq, "old"), pull(tq, "gone")])
    q.delete_tasks_by_name("gone")
    batch = [pull(tq, "new1"), pull(tq, "gone"), pull(tq, "old"), pull(tq, "new2")]
    seen: list[Any] = [error(lambda: q.add(batch)), [view(t) for t in batch]]
    batch = [pull(tq, "old"), pull(tq, "gone")]
    seen += [error(lambda: q.add(batch)), [t.was_enqueued for t in batch]]
    seen.append(error(lambda: q.add(batch[0])))
    added = q.add(pull(tq, "new3"))
    seen.append(error(lambda: q.add(added)))
    return seen


def purge_keeps_tombstones(tq: Any, advance: Advance) -> list[Any]:
    q = tq.Queue(PULL)
    q.add([pull(tq, "a"), pull(tq, "b")])
    q.purge()
    return [q.fetch_statistics().tasks, error(lambda: q.add(pull(tq, "a")))]


def queue_modes_and_unknown_queues(tq: Any, advance: Advance) -> list[Any]:
    nope = tq.Queue("nope")
    stats = tq.QueueStatistics.fetch([nope, tq.Queue(PULL)])
    return [
        error(lambda: tq.Queue().lease_tasks(1, 1)),
        error(lambda: tq.Queue().add(pull(tq, "x"))),
        error(lambda: tq.Queue(PULL).add(tq.Task(payload="p", name="push"))),
        error(lambda: tq.Queue(PUSH).add(pull(tq, "x"))),
        error(lambda: nope.lease_tasks(1, 1)),
        error(lambda: nope.purge()),
        error(lambda: nope.delete_tasks_by_name("x")),
        error(lambda: nope.add(pull(tq, "x"))),
        error(lambda: nope.modify_task_lease(pull(tq, "x"), 1)),
        [(s.tasks, s.oldest_eta_usec) for s in stats],
        (stats[0].executed_last_minute, stats[0].in_flight, stats[0].enforced_rate),
    ]


def lease_by_tag_groups(tq: Any, advance: Advance) -> list[Any]:
    q = tq.Queue(PULL)
    q.add(pull(tq, "u1"))
    advance(0.25)
    q.add(pull(tq, "a1", tag="A"))
    advance(0.25)
    q.add(pull(tq, "u2"))
    advance(0.25)
    q.add([pull(tq, "a2", tag="A"), pull(tq, "fut", tag="A", countdown=60)])
    advance(0.25)
    seen = [[t.name for t in q.lease_tasks_by_tag(30, 2)] for _ in range(4)]
    q.add([pull(tq, "b1", tag="B"), pull(tq, "b2", tag="B"), pull(tq, "c1", tag="C")])
    advance(1)
    seen.append([t.name for t in q.lease_tasks_by_tag(30, 5, tag="C")])
    seen.append([t.name for t in q.lease_tasks_by_tag(30, 5, tag="")])
    return seen


def retry_limit_deletes(tq: Any, advance: Advance) -> list[Any]:
    q = tq.Queue(LIMITED)
    q.add(pull(tq, "t"))
    seen: list[Any] = []
    for _ in range(3):
        advance(1)
        seen.append([(t.name, t.retry_count) for t in q.lease_tasks(0.5, 5)])
    seen.append(error(lambda: q.add(pull(tq, "t"))))
    return seen


def modify_a_task_never_leased(tq: Any, advance: Advance) -> list[Any]:
    q = tq.Queue(PULL)
    [task] = q.add([pull(tq, "later", countdown=100)])
    q.modify_task_lease(task, 10)
    advance(11)
    return [view(task), [t.name for t in q.lease_tasks(5, 5)]]


def async_calls_and_callbacks(tq: Any, advance: Advance) -> list[Any]:
    q = tq.Queue(PULL)
    calls: list[str] = []
    rpc = tq.create_rpc(deadline=5, callback=lambda: calls.append("add"))
    q.add_async([pull(tq, "a"), pull(tq, "b")], rpc=rpc)
    added = [view(t) for t in rpc.get_result()]
    advance(1)
    lease_rpc = q.lease_tasks_async(30, 1)
    stats_rpc = tq.QueueStatistics.fetch_async([PULL, "nope"])
    by_tag = q.lease_tasks_by_tag_async(30, 1)
    deleted = q.delete_tasks_by_name_async(["a"])
    return [
        added,
        calls,
        [view(t) for t in lease_rpc.get_result()],
        [(s.tasks, s.oldest_eta_usec) for s in stats_rpc.get_result()],
        [view(t) for t in by_tag.get_result()],
        [t.was_deleted for t in deleted.get_result()],
        error(lambda: q.fetch_statistics_async(tq.create_rpc(1)).get_result().tasks),
    ]


def module_level_add(tq: Any, advance: Advance) -> list[Any]:
    task = tq.add(payload="hi", method="PULL", queue_name=PULL, name="m", countdown=5)
    return [
        view(task),
        error(lambda: tq.add(payload="x", method="PULL", queue_name=PULL, name="m")),
    ]


def unnamed_tasks_are_stored_as_task_n(tq: Any, advance: Advance) -> list[Any]:
    q = tq.Queue(PULL)
    q.add([pull(tq), pull(tq, tag="b"), pull(tq, tag="a")])
    advance(1)
    return [[(t.name, t.tag, t.retry_count) for t in q.lease_tasks(30, 10)]]


SCENARIOS: dict[str, Scenario] = {
    f.__name__: f
    for f in [
        lease_and_modify,
        delete_and_tombstones,
        batch_with_existing_names,
        purge_keeps_tombstones,
        queue_modes_and_unknown_queues,
        lease_by_tag_groups,
        retry_limit_deletes,
        modify_a_task_never_leased,
        async_calls_and_callbacks,
        module_level_add,
        unnamed_tasks_are_stored_as_task_n,
    ]
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_matches_google_sdk(
    name: str, root: Path, backend: backends.ControlledBackend
) -> None:
    scenario = SCENARIOS[name]
    with sdk_world(root) as sdk:
        expected = scenario(sdk.taskqueue, sdk.advance)
    with shim_world(backend) as shim:
        actual = scenario(shim.taskqueue, shim.advance)
    assert actual == expected
