"""Core: statistics (§4.10) and the side-effect-free peek listing."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.core import paging
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.model import PeekFilter, TaskPage, TaskState
from tests.core_support import PULL, World, pull


def test_stats_count_every_task_and_report_the_oldest_eta(world: World) -> None:
    now = world.clock.now_usec()
    world.add(pull(eta_usec=now - 5), pull(countdown_seconds=10))
    world.tick()
    world.service.lease(PULL, 1, 1)  # the oldest is now leased: its ETA is the lease expiry
    stats = world.service.stats([PULL])[0]
    assert stats.tasks == 2
    assert stats.oldest_eta_usec == world.clock.now_usec() + 1_000_000
    assert (stats.in_flight, stats.enforced_rate, stats.exists) == (1, None, True)


def test_stats_of_an_unconfigured_queue_are_zero_not_an_error(world: World) -> None:
    [stats] = world.service.stats(["nope"])
    assert (stats.tasks, stats.oldest_eta_usec, stats.exists) == (0, None, False)
    assert stats.leased_last_minute is None


def test_leased_counts_are_real_and_slide_with_the_clock(world: World) -> None:
    world.add(*(pull() for _ in range(5)))
    world.tick()
    world.service.lease(PULL, 3600, 2)
    world.tick(30)
    world.service.lease(PULL, 3600, 3)
    stats = world.service.stats([PULL])[0]
    assert (stats.leased_last_minute, stats.leased_last_hour) == (5, 5)
    world.tick(30)  # the first lease is now exactly 60 s old: out of the minute
    stats = world.service.stats([PULL])[0]
    assert (stats.leased_last_minute, stats.leased_last_hour) == (3, 5)
    world.tick(3600)
    stats = world.service.stats([PULL])[0]
    assert (stats.leased_last_minute, stats.leased_last_hour) == (0, 0)


def test_push_queue_stats_report_the_enforced_rate(world: World) -> None:
    assert world.service.stats(["default"])[0].enforced_rate == 5.0


def test_stats_keep_request_order(world: World) -> None:
    assert [s.queue for s in world.service.stats(["default", "nope", PULL])] == [
        "default",
        "nope",
        PULL,
    ]


def _peek(world: World, **kwargs: Any) -> list[str]:
    return [t.name for t in world.service.peek(PULL, PeekFilter(**kwargs)).tasks]


def test_peek_filters_by_state_and_tag_without_side_effects(world: World) -> None:
    now = world.clock.now_usec()
    world.add(
        pull(name="ready", tag="A", eta_usec=now - 3),
        pull(name="lease-me", eta_usec=now - 4),
        pull(name="delayed", tag="A", countdown_seconds=60),
    )
    world.service.lease(PULL, 30, 1)
    assert _peek(world) == ["ready", "lease-me", "delayed"]
    assert _peek(world, states=frozenset({TaskState.READY})) == ["ready"]
    assert _peek(world, states=frozenset({TaskState.LEASED})) == ["lease-me"]
    assert _peek(world, states=frozenset({TaskState.DELAYED})) == ["delayed"]
    assert _peek(world, tag="A") == ["ready", "delayed"]
    assert _peek(world, tag="") == ["lease-me"]
    assert world.service.get_task(PULL, "ready").retry_count == 0
    assert world.service.stats([PULL])[0].leased_last_minute == 1


def test_peek_pages_cover_every_task_once(world: World) -> None:
    world.add(*(pull(name=f"t{i:02d}") for i in range(25)))
    pages: list[int] = []

    def fetch(token: str | None) -> TaskPage:
        page = world.service.peek(PULL, PeekFilter(limit=10, page_token=token))
        pages.append(len(page.tasks))
        return page

    seen = [task.name for task in paging.iterate_tasks(fetch)]

    assert seen == sorted(f"t{i:02d}" for i in range(25))
    assert pages == [10, 10, 5]


@pytest.mark.parametrize(
    "where", [PeekFilter(limit=0), PeekFilter(limit=1001), PeekFilter(page_token="%%%")]
)
def test_bad_peek_requests_are_invalid_request(world: World, where: PeekFilter) -> None:
    with pytest.raises(TaskQueueError) as err:
        world.service.peek(PULL, where)
    assert err.value.code is ErrorCode.INVALID_REQUEST


def test_task_state_is_derived_from_eta_and_retry_count(world: World) -> None:
    world.add(pull(name="t"))
    task = world.service.get_task(PULL, "t")
    now = world.clock.now_usec()
    assert task.state(now - 1) is TaskState.DELAYED
    assert task.state(now) is TaskState.READY
