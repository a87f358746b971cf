"""Core: statistics (§4.10) and the side-effect-free peek listing."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from emulator.core import paging
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.model import AddRequest, PeekFilter, TaskPage, TaskState
from emulator.domain.queue_config import QueueMode
from tests.core_support import PULL, PUSH, World, make_world, pull, traced_sql

SEC = 1_000_000


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
    assert (stats.ready, stats.delayed) == (None, None)


def test_stats_split_the_tasks_into_ready_leased_and_delayed(world: World) -> None:
    # Given two ready tasks, one of them leased, and two with a countdown
    now = world.clock.now_usec()
    world.add(pull(eta_usec=now - 1), pull(eta_usec=now), pull(countdown_seconds=10))
    world.add(pull(countdown_seconds=20))
    world.service.lease(PULL, 5, 1)
    # When the statistics are read
    stats = world.service.stats([PULL])[0]
    # Then the leased task counts as in flight, not ready; the counted states add up
    assert (stats.ready, stats.in_flight, stats.delayed, stats.tasks) == (1, 1, 2, 4)


def test_ready_and_delayed_counts_follow_the_clock_at_the_boundaries(world: World) -> None:
    # Given a task due in 10 s and a lease of 5 s on a ready task
    world.add(pull(countdown_seconds=10), pull())
    world.service.lease(PULL, 5, 1)
    # When the clock reaches the lease's end, then the countdown's end
    world.tick(5)
    at_lease_end = world.service.stats([PULL])[0]
    world.tick(5)
    at_countdown_end = world.service.stats([PULL])[0]
    # Then each task is ready exactly at its ETA (eta <= now), the leased one again too
    assert (at_lease_end.ready, at_lease_end.in_flight, at_lease_end.delayed) == (1, 0, 1)
    assert (at_countdown_end.ready, at_countdown_end.delayed) == (2, 0)


def test_a_released_task_with_a_future_eta_counts_as_leased_not_delayed(world: World) -> None:
    # A task leased once keeps retry_count > 0: its future ETA is a lease, never a delay
    world.add(pull(name="t"))
    [task] = world.service.lease(PULL, 60, 1)
    world.service.modify_lease(PULL, "t", task.eta_usec, 30)
    stats = world.service.stats([PULL])[0]
    assert (stats.ready, stats.in_flight, stats.delayed) == (0, 1, 0)


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


def _lease_log_rows(world: World) -> int:
    with world.store.transaction() as tx:
        return tx.leases_since(PULL, 0)


def _prunes(statements: list[str]) -> int:
    return sum(1 for s in statements if s.startswith("DELETE FROM lease_log"))


def test_lease_records_are_pruned_at_most_once_a_minute_and_never_counted_late(
    world: World,
) -> None:
    # Given leases at t0 and t0 + 20 s, and one at t0 + 3610 s (which prunes the first)
    world.add(*(pull() for _ in range(10)))
    world.tick()
    world.service.lease(PULL, 60, 1)
    world.tick(20)
    world.service.lease(PULL, 60, 1)
    world.tick(3590)
    with traced_sql(world.store) as first:
        world.service.lease(PULL, 60, 1)
    # When another lease comes 20 s later, when the t0 + 20 s record is out of the hour
    world.tick(20)
    with traced_sql(world.store) as within_a_minute:
        world.service.lease(PULL, 60, 1)
    stats = world.service.stats([PULL])[0]
    # Then it does not prune: that record lingers, and the statistics do not count it
    assert (_prunes(first), _prunes(within_a_minute)) == (1, 0)
    assert _lease_log_rows(world) == 3
    assert (stats.leased_last_minute, stats.leased_last_hour) == (2, 2)
    # And a lease a minute after the last prune prunes it
    world.tick(50)
    with traced_sql(world.store) as a_minute_later:
        world.service.lease(PULL, 60, 1)
    assert _prunes(a_minute_later) == 1 and _lease_log_rows(world) == 3
    # And a clock set back prunes at once
    world.clock.set(world.clock.now_usec() - 120_000_000)
    with traced_sql(world.store) as set_back:
        world.service.lease(PULL, 60, 1)
    assert _prunes(set_back) == 1


def test_push_queue_stats_report_the_enforced_rate(world: World) -> None:
    assert world.service.stats(["default"])[0].enforced_rate == 5.0


def test_push_queue_stats_count_ready_and_delayed_tasks(world: World) -> None:
    push = AddRequest(mode=QueueMode.PUSH, url="/work")
    world.add(push, replace(push, countdown_seconds=30), queue=PUSH)
    stats = world.service.stats([PUSH])[0]
    assert (stats.ready, stats.in_flight, stats.delayed) == (1, 0, 1)


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


# -- paging under filters: keyset over (eta, name), whatever the filter --------------------------

STATE_SETS = st.sets(st.sampled_from(list(TaskState))).map(frozenset)


@settings(max_examples=60, deadline=None)
@given(
    specs=st.lists(
        st.tuples(st.integers(-3, 3), st.booleans(), st.sampled_from([None, "A", "B"])),
        max_size=25,
    ),
    states=STATE_SETS,
    tag=st.sampled_from([None, "", "A"]),
    limit=st.integers(1, 4),
)
@example(specs=[(1, False, None)] * 5, states=frozenset({TaskState.DELAYED}), tag=None, limit=2)
@example(specs=[(2, True, "A")] * 4, states=frozenset({TaskState.LEASED}), tag="A", limit=1)
def test_paging_any_filter_lists_exactly_the_filtered_tasks_once_in_order(
    specs: list[tuple[int, bool, str | None]],
    states: frozenset[TaskState],
    tag: str | None,
    limit: int,
) -> None:
    # Given tasks due from 3 s ago to 3 s ahead, some leased, some tagged
    world = make_world()
    now = world.clock.now_usec()
    world.clock.set(now - 10 * SEC)
    for i, (offset, leased, task_tag) in enumerate(specs):
        if leased:  # the only ready task; a lease taken 10 s ago ends at now + offset
            world.add(pull(name=f"t{i:02d}", tag=task_tag, eta_usec=now - 10 * SEC))
            world.service.lease(PULL, offset + 10, 1)
    world.clock.set(now)
    for i, (offset, leased, task_tag) in enumerate(specs):
        if not leased:
            world.add(pull(name=f"t{i:02d}", tag=task_tag, eta_usec=now + offset * SEC))
    # When every page of a filtered listing is fetched
    where = PeekFilter(states=states, tag=tag, limit=limit)
    pages = paging.iterate_tasks(
        lambda token: world.service.peek(PULL, replace(where, page_token=token))
    )
    listed = [(t.eta_usec, t.name) for t in itertools.islice(pages, len(specs) + 1)]
    # Then they are the tasks matching the filter, each once, in (eta, name) order
    everything = world.service.peek(PULL, PeekFilter(limit=1000)).tasks
    expected = [
        (t.eta_usec, t.name)
        for t in everything
        if (not states or t.state(now) in states) and (tag is None or (t.tag or "") == tag)
    ]
    assert listed == expected == sorted(expected)


def test_a_token_from_the_ready_part_still_pages_a_future_only_filter(world: World) -> None:
    # Given ready tasks and delayed ones, and a token taken inside the ready part
    world.add(*(pull(name=f"r{i}") for i in range(3)))
    world.add(*(pull(name=f"d{i}", countdown_seconds=i + 1) for i in range(3)))
    first = world.service.peek(PULL, PeekFilter(limit=1))
    # When that token continues a listing of delayed tasks
    page = world.service.peek(
        PULL,
        PeekFilter(
            states=frozenset({TaskState.DELAYED}), limit=2, page_token=first.next_page_token
        ),
    )
    # Then it starts at the first delayed task
    assert [t.name for t in page.tasks] == ["d0", "d1"]
