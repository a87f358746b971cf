"""Core: leasing, leasing by tag, the retry limit and pausing (§4.3–§4.5, §4.9)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.model import LeasedTask, StoredTask
from emulator.domain.queue_config import RetryParameters
from tests.core_support import LIMITED, PULL, World, pull


def names(tasks: Sequence[LeasedTask | StoredTask]) -> list[str]:
    return [t.name for t in tasks]


def test_a_task_added_without_eta_is_ready_at_the_instant_it_was_added(world: World) -> None:
    world.add(pull(name="now"))
    assert names(world.service.lease(PULL, 30, 10)) == ["now"]


def test_a_task_is_ready_from_its_eta_and_not_a_microsecond_before(world: World) -> None:
    now = world.clock.now_usec()
    world.add(pull(name="later", eta_usec=now + 5))
    world.clock.set(now + 4)
    assert world.service.lease(PULL, 30, 10) == []
    world.clock.set(now + 5)
    assert names(world.service.lease(PULL, 30, 10)) == ["later"]


def test_a_countdown_of_n_seconds_is_ready_exactly_n_seconds_later(world: World) -> None:
    world.add(pull(name="t", countdown_seconds=30))
    world.clock.advance(29.999999)
    assert world.service.lease(PULL, 30, 10) == []
    world.clock.advance(0.000001)
    assert names(world.service.lease(PULL, 30, 10)) == ["t"]


def test_a_lease_of_l_seconds_taken_at_t_is_held_for_all_of_t_to_t_plus_l(world: World) -> None:
    world.add(pull(name="t"))
    world.service.lease(PULL, 10, 1)
    world.clock.advance(9.999999)  # the last instant of the lease
    assert world.service.lease(PULL, 10, 1) == []
    world.clock.advance(0.000001)  # T + L: the lease has ended
    [second] = world.service.lease(PULL, 10, 1)
    assert (second.name, second.retry_count) == ("t", 2)


def test_lease_order_is_eta_then_name(world: World) -> None:
    now = world.clock.now_usec()
    world.add(
        pull(name="c", eta_usec=now - 10),
        pull(name="b", eta_usec=now - 10),
        pull(name="a", eta_usec=now - 5),
        pull(name="z", eta_usec=now - 20),
    )
    assert names(world.service.lease(PULL, 30, 10)) == ["z", "b", "c", "a"]


def test_lease_sets_eta_to_now_plus_lease_and_counts_retries(world: World) -> None:
    world.add(pull(b"body", name="t", tag="x"))
    world.tick()
    now = world.clock.now_usec()
    [task] = world.service.lease(PULL, 30.5, 1)
    assert (task.name, task.payload, task.tag) == ("t", b"body", "x")
    assert task.eta_usec == now + 30_500_000
    assert task.retry_count == 1
    assert world.service.lease(PULL, 30, 1) == []  # leased tasks are not ready
    world.clock.advance(31)
    assert world.service.lease(PULL, 30, 1)[0].retry_count == 2


def test_max_tasks_limits_the_lease(world: World) -> None:
    world.add(*(pull() for _ in range(5)))
    world.tick()
    assert len(world.service.lease(PULL, 30, 3)) == 3
    assert len(world.service.lease(PULL, 30, 3)) == 2


def test_zero_lease_leaves_the_task_ready_at_once(world: World) -> None:
    world.add(pull(name="t"))
    world.service.lease(PULL, 0, 1)
    assert world.service.lease(PULL, 0, 1)[0].retry_count == 2


def test_delayed_tasks_are_not_leased_until_their_eta(world: World) -> None:
    world.add(pull(name="later", countdown_seconds=60), pull(name="soon"))
    world.tick()
    assert names(world.service.lease(PULL, 3600, 10)) == ["soon"]
    world.clock.advance(60)
    assert names(world.service.lease(PULL, 3600, 10)) == ["later"]


@pytest.mark.parametrize(
    ("lease_seconds", "max_tasks"),
    [(-1, 1), (604801, 1), (1, 0), (1, 1001), (1, True), (float("nan"), 1), ("1", 1)],
)
def test_lease_arguments_are_checked_server_side(
    world: World, lease_seconds: object, max_tasks: object
) -> None:
    with pytest.raises(TaskQueueError) as err:
        world.service.lease(PULL, lease_seconds, max_tasks)  # type: ignore[arg-type]
    assert err.value.code is ErrorCode.INVALID_REQUEST


def test_limits_themselves_are_allowed(world: World) -> None:
    assert world.service.lease(PULL, 604800, 1000) == []
    assert world.service.lease(PULL, 0, 1) == []


def test_leasing_a_push_queue_is_invalid_queue_mode(world: World) -> None:
    with pytest.raises(TaskQueueError) as err:
        world.service.lease("default", 30, 1)
    assert err.value.code is ErrorCode.INVALID_QUEUE_MODE


def test_leasing_an_unknown_queue_is_unknown_queue(world: World) -> None:
    with pytest.raises(TaskQueueError) as err:
        world.service.lease("nope", 30, 1)
    assert err.value.code is ErrorCode.UNKNOWN_QUEUE


def test_tag_without_group_by_tag_is_invalid_request(world: World) -> None:
    with pytest.raises(TaskQueueError) as err:
        world.service.lease(PULL, 30, 1, tag="a")
    assert err.value.code is ErrorCode.INVALID_REQUEST


# -- lease by tag ---------------------------------------------------------------------------------


def test_explicit_tag_leases_only_that_tag_in_eta_order(world: World) -> None:
    now = world.clock.now_usec()
    world.add(
        pull(name="a2", tag="A", eta_usec=now - 1),
        pull(name="b1", tag="B", eta_usec=now - 9),
        pull(name="a1", tag="A", eta_usec=now - 5),
        pull(name="u", eta_usec=now - 7),
    )
    leased = world.service.lease(PULL, 30, 10, group_by_tag=True, tag="A")
    assert names(leased) == ["a1", "a2"]


def test_no_tag_uses_the_oldest_ready_tasks_tag_beyond_the_window(world: World) -> None:
    now = world.clock.now_usec()
    world.add(
        pull(name="a1", tag="A", eta_usec=now - 9),
        pull(name="u1", eta_usec=now - 8),
        pull(name="b1", tag="B", eta_usec=now - 7),
        pull(name="a2", tag="A", eta_usec=now - 6),
    )
    # The window of 2 is [a1, u1], but all A-tagged ready tasks (up to 2) come back.
    assert names(world.service.lease(PULL, 30, 2, group_by_tag=True)) == ["a1", "a2"]


@pytest.mark.parametrize("tag", [None, ""])
def test_untagged_oldest_returns_only_untagged_tasks_in_the_window(
    world: World, tag: str | None
) -> None:
    # The stub's observed sequence (§4.4): u1, a1(A), u2, a2(A), fut(A, future)
    now = world.clock.now_usec()
    world.add(
        pull(name="u1", eta_usec=now - 5),
        pull(name="a1", tag="A", eta_usec=now - 4),
        pull(name="u2", eta_usec=now - 3),
        pull(name="a2", tag="A", eta_usec=now - 2),
        pull(name="fut", tag="A", countdown_seconds=100),
    )
    lease = world.service.lease
    assert names(lease(PULL, 30, 2, group_by_tag=True, tag=tag)) == ["u1"]
    assert names(lease(PULL, 30, 2, group_by_tag=True, tag=tag)) == ["a1", "a2"]
    assert names(lease(PULL, 30, 2, group_by_tag=True, tag=tag)) == ["u2"]
    assert lease(PULL, 30, 2, group_by_tag=True, tag=tag) == []


def test_lease_by_tag_on_an_empty_queue_is_empty(world: World) -> None:
    assert world.service.lease(PULL, 30, 10, group_by_tag=True) == []


# -- retry limit ----------------------------------------------------------------------------------


def test_queue_retry_limit_allows_exactly_that_many_leases(world: World) -> None:
    # Given a queue with task_retry_limit 2
    world.add(pull(name="t"), queue=LIMITED)
    world.tick()
    assert world.service.lease(LIMITED, 1, 1)[0].retry_count == 1
    world.clock.advance(2)
    assert world.service.lease(LIMITED, 1, 1)[0].retry_count == 2
    world.clock.advance(2)
    # When a third lease is attempted, Then the task is deleted and tombstoned instead
    assert world.service.lease(LIMITED, 1, 1) == []
    assert world.service.stats([LIMITED])[0].tasks == 0
    assert world.service.add(LIMITED, [pull(name="t")])[0].code is ErrorCode.TOMBSTONED_TASK


def test_tasks_over_the_limit_count_against_max_tasks(world: World) -> None:
    world.add(pull(name="a"), queue=LIMITED)
    for _ in range(2):
        world.tick()
        world.service.lease(LIMITED, 0, 1)
    world.add(pull(name="b"), queue=LIMITED)
    world.tick()
    assert world.service.lease(LIMITED, 30, 1) == []  # "a" was selected and dropped
    assert names(world.service.lease(LIMITED, 30, 1)) == ["b"]


def test_task_retry_parameters_override_the_queue(world: World) -> None:
    world.add(pull(name="zero", retry_parameters=RetryParameters(task_retry_limit=0)))
    world.add(pull(name="free", retry_parameters=RetryParameters()), queue=LIMITED)
    world.tick()
    assert world.service.lease(PULL, 30, 10) == []
    for _ in range(4):
        assert names(world.service.lease(LIMITED, 0, 1)) == ["free"]
        world.clock.advance(0.000001)


def test_retry_limit_with_age_limit_never_deletes_like_the_stub(world: World) -> None:
    params = RetryParameters(task_retry_limit=1, task_age_limit_sec=86400)
    world.add(pull(name="t", retry_parameters=params))
    for expected in (1, 2, 3):
        world.tick()
        assert world.service.lease(PULL, 0, 1)[0].retry_count == expected


# -- pause ----------------------------------------------------------------------------------------


def test_paused_queue_refuses_leases_until_resumed(world: World) -> None:
    world.add(pull(name="t"))
    world.tick()
    world.service.pause(PULL)
    with pytest.raises(TaskQueueError) as err:
        world.service.lease(PULL, 30, 1)
    assert err.value.code is ErrorCode.QUEUE_PAUSED
    assert world.service.add(PULL, [pull()])[0].code is ErrorCode.OK
    assert world.service.stats([PULL])[0].paused
    world.service.resume(PULL)
    assert names(world.service.lease(PULL, 30, 1)) == ["t"]


@pytest.mark.parametrize(
    "lease",
    [
        pytest.param({}, id="oldest"),
        pytest.param({"group_by_tag": True}, id="oldest-tag"),
        pytest.param({"group_by_tag": True, "tag": "a"}, id="tag"),
    ],
)
def test_a_paused_queue_refuses_every_kind_of_lease_with_or_without_ready_tasks(
    world: World, lease: dict[str, Any]
) -> None:
    # Given a paused queue, empty
    world.service.pause(PULL)
    for step in ("empty", "with a ready task"):
        # When a lease is asked for, Then the pause is the answer
        with pytest.raises(TaskQueueError) as err:
            world.service.lease(PULL, 30, 10, **lease)
        assert err.value.code is ErrorCode.QUEUE_PAUSED, step
        if step == "empty":  # And the same once it holds a ready task tagged "a"
            world.add(pull(name="t", tag="a"))
            world.tick()
    # And the task was not leased
    world.service.resume(PULL)
    [task] = world.service.lease(PULL, 30, 10, **lease)
    assert (task.name, task.retry_count) == ("t", 1)
