"""Core: modify_lease (§4.6), delete and tombstones (§4.7), purge (§4.8), test helpers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.model import LeasedTask
from tests.core_support import PULL, World, pull


def leased(world: World, name: str = "t", lease: float = 30) -> LeasedTask:
    world.add(pull(name=name))
    world.tick()
    [task] = world.service.lease(PULL, lease, 1)
    return task


def error_of(call: Callable[..., object], *args: object) -> ErrorCode:
    with pytest.raises(TaskQueueError) as err:
        call(*args)
    return err.value.code


def test_modify_with_the_current_token_extends_without_counting_a_retry(world: World) -> None:
    task = leased(world)
    world.tick(5)
    new_eta = world.service.modify_lease(PULL, "t", task.eta_usec, 60)
    assert new_eta == world.clock.now_usec() + 60_000_000
    assert world.service.get_task(PULL, "t").retry_count == 1
    # The new ETA is the new token; it can be used again.
    assert world.service.modify_lease(PULL, "t", new_eta, 10) > 0


def test_a_stale_token_is_task_lease_expired(world: World) -> None:
    task = leased(world)
    code = error_of(world.service.modify_lease, PULL, "t", task.eta_usec + 1, 10)
    assert code is ErrorCode.TASK_LEASE_EXPIRED


def test_an_expired_lease_cannot_be_modified(world: World) -> None:
    task = leased(world, lease=10)
    world.tick(11)
    code = error_of(world.service.modify_lease, PULL, "t", task.eta_usec, 10)
    assert code is ErrorCode.TASK_LEASE_EXPIRED


def test_a_lease_can_be_modified_until_its_last_microsecond(world: World) -> None:
    task = leased(world, lease=10)
    world.clock.set(task.eta_usec - 1)
    assert world.service.modify_lease(PULL, "t", task.eta_usec, 5) == task.eta_usec + 4_999_999


def test_a_lease_that_ends_exactly_now_is_expired_because_the_task_is_leasable(
    world: World,
) -> None:
    task = leased(world, lease=10)
    world.clock.set(task.eta_usec)
    assert error_of(world.service.modify_lease, PULL, "t", task.eta_usec, 5) is (
        ErrorCode.TASK_LEASE_EXPIRED
    )
    [again] = world.service.lease(PULL, 30, 1)
    assert (again.name, again.retry_count) == ("t", 2)


def test_zero_releases_the_task_for_a_lease_at_the_same_instant(world: World) -> None:
    task = leased(world)
    world.service.modify_lease(PULL, "t", task.eta_usec, 0)
    [again] = world.service.lease(PULL, 30, 1)
    assert (again.name, again.retry_count) == ("t", 2)


def test_another_workers_lease_invalidates_the_first_token(world: World) -> None:
    first = leased(world, lease=10)
    world.tick(11)
    second = world.service.lease(PULL, 30, 1)[0]
    assert error_of(world.service.modify_lease, PULL, "t", first.eta_usec, 10) is (
        ErrorCode.TASK_LEASE_EXPIRED
    )
    assert world.service.modify_lease(PULL, "t", second.eta_usec, 10) > second.eta_usec - 30_000_000


def test_modify_of_deleted_and_unknown_tasks(world: World) -> None:
    task = leased(world)
    world.service.delete(PULL, ["t"])
    assert error_of(world.service.modify_lease, PULL, "t", task.eta_usec, 1) is (
        ErrorCode.TOMBSTONED_TASK
    )
    assert error_of(world.service.modify_lease, PULL, "never", 1, 1) is ErrorCode.UNKNOWN_TASK


def test_modify_works_on_a_never_leased_future_task_like_the_stub(world: World) -> None:
    [result] = world.service.add(PULL, [pull(name="f", countdown_seconds=100)])
    assert result.eta_usec is not None
    assert world.service.modify_lease(PULL, "f", result.eta_usec, 5) > 0


def test_modify_checks_queue_mode_pause_and_lease_bounds(world: World) -> None:
    task = leased(world)
    modify = world.service.modify_lease
    assert error_of(modify, "default", "t", task.eta_usec, 1) is ErrorCode.INVALID_QUEUE_MODE
    assert error_of(modify, "nope", "t", task.eta_usec, 1) is ErrorCode.UNKNOWN_QUEUE
    assert error_of(modify, PULL, "t", task.eta_usec, -1) is ErrorCode.INVALID_REQUEST
    assert error_of(modify, PULL, "t", task.eta_usec, 604801) is ErrorCode.INVALID_REQUEST
    world.service.pause(PULL)
    assert error_of(modify, PULL, "t", task.eta_usec, 1) is ErrorCode.QUEUE_PAUSED


# -- delete -----------------------------------------------------------------------------------


def test_delete_reports_per_task_codes_and_needs_no_lease(world: World) -> None:
    world.add(pull(name="a"), pull(name="b"))
    world.tick()
    world.service.lease(PULL, 30, 1)  # "a" is leased by someone else
    codes = world.service.delete(PULL, ["a", "b", "a", "never"])
    assert codes == [
        ErrorCode.OK,
        ErrorCode.OK,
        ErrorCode.TOMBSTONED_TASK,
        ErrorCode.UNKNOWN_TASK,
    ]


def test_deleted_names_stay_tombstoned(world: World) -> None:
    world.add(pull(name="a"))
    world.service.delete(PULL, ["a"])
    assert world.service.add(PULL, [pull(name="a")])[0].code is ErrorCode.TOMBSTONED_TASK
    assert error_of(world.service.get_task, PULL, "a") is ErrorCode.TOMBSTONED_TASK


def test_tombstones_are_per_queue(world: World) -> None:
    world.add(pull(name="a"))
    world.service.delete(PULL, ["a"])
    assert world.service.add("limited", [pull(name="a")])[0].code is ErrorCode.OK


def test_delete_on_an_unknown_queue_is_unknown_queue(world: World) -> None:
    assert error_of(world.service.delete, "nope", ["a"]) is ErrorCode.UNKNOWN_QUEUE


def test_purge_deletes_everything_and_keeps_tombstones(world: World) -> None:
    world.add(pull(name="a"), pull(name="b", countdown_seconds=50))
    assert world.service.purge(PULL) == 2
    stats = world.service.stats([PULL])[0]
    assert (stats.tasks, stats.oldest_eta_usec) == (0, None)
    assert world.service.add(PULL, [pull(name="b")])[0].code is ErrorCode.TOMBSTONED_TASK
    assert error_of(world.service.purge, "nope") is ErrorCode.UNKNOWN_QUEUE


# -- testbed helpers and reset -------------------------------------------------------------------


def test_flush_queue_clears_tasks_and_tombstones(world: World) -> None:
    world.add(pull(name="a"), pull(name="b"))
    world.service.delete(PULL, ["a"])
    world.service.flush_queue(PULL)
    assert world.service.stats([PULL])[0].tasks == 0
    assert world.service.add(PULL, [pull(name="a"), pull(name="b")])[1].code is ErrorCode.OK


def test_forget_task_deletes_without_a_tombstone(world: World) -> None:
    world.add(pull(name="a"))
    assert world.service.forget_task(PULL, "a") is True
    assert world.service.forget_task(PULL, "a") is False
    assert world.service.add(PULL, [pull(name="a")])[0].code is ErrorCode.OK


def test_reset_drops_all_data_and_restarts_auto_names(world: World) -> None:
    world.add(pull(), pull(name="gone"))
    world.service.delete(PULL, ["gone"])
    world.service.pause(PULL)
    world.service.reset()
    assert world.service.stats([PULL])[0].tasks == 0
    assert not world.service.stats([PULL])[0].paused
    assert world.add(pull(), pull(name="gone")) == ["task1", "gone"]
