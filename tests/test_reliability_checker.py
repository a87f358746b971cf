"""The exclusivity checker (bench/reliability/checker.py) on hand-made histories: it passes
good ones and catches each kind of bad one."""

from __future__ import annotations

import pytest

from bench.reliability import checker
from bench.reliability.events import ADDED, DELETED, EXTENDED, LEASED, RELEASED, Event

SEC = 1_000_000


def added(task: str = "t", at: int = 0) -> Event:
    return Event(ADDED, task, "producer", at, eta_usec=at)


def leased(worker: str, start: int, seconds: int = 10, task: str = "t") -> Event:
    return Event(LEASED, task, worker, start, eta_usec=start + seconds * SEC)


def extended(worker: str, now: int, prev: int, seconds: int = 10, task: str = "t") -> Event:
    return Event(EXTENDED, task, worker, now, eta_usec=now + seconds * SEC, prev_eta_usec=prev)


def released(worker: str, now: int, prev: int, task: str = "t") -> Event:
    return Event(RELEASED, task, worker, now, eta_usec=now, prev_eta_usec=prev)


def deleted(worker: str, at: int, task: str = "t") -> Event:
    return Event(DELETED, task, worker, at)


def rules(events: list[Event]) -> set[str]:
    return {v.rule for v in checker.check(events).violations}


def test_a_clean_history_of_leases_extensions_releases_and_expiries_passes() -> None:
    # Given a task leased by w1 (extended, released), by w2 (expired), by w3 (deleted)
    events = [
        added(),
        leased("w1", 1 * SEC),
        extended("w1", 5 * SEC, prev=11 * SEC),
        released("w1", 8 * SEC, prev=15 * SEC),
        leased("w2", 8 * SEC),  # exactly at the release: half-open intervals
        leased("w3", 18 * SEC),  # w2's lease expired at 18 s
        deleted("w3", 19 * SEC),
    ]
    # When checked / Then no violation
    report = checker.check(events)
    assert report.ok, report.violations
    assert report.tasks == 1
    assert report.counts == {ADDED: 1, LEASED: 3, EXTENDED: 1, RELEASED: 1, DELETED: 1}


def test_the_order_of_the_workers_files_does_not_matter() -> None:
    w1 = [leased("w1", 1 * SEC), released("w1", 2 * SEC, prev=11 * SEC)]
    w2 = [leased("w2", 3 * SEC), deleted("w2", 4 * SEC)]
    assert checker.check([*w2, *w1, added()]).ok


def test_overlapping_leases_are_caught() -> None:
    # w2 is handed the task while w1's lease (until 11 s) still runs
    events = [added(), leased("w1", 1 * SEC), leased("w2", 5 * SEC), deleted("w2", 6 * SEC)]
    assert checker.OVERLAP in rules(events)


def test_an_extension_that_outlives_the_next_lease_is_an_overlap() -> None:
    events = [
        added(),
        leased("w1", 1 * SEC),
        extended("w1", 10 * SEC, prev=11 * SEC),  # now until 20 s
        leased("w2", 15 * SEC),
        deleted("w2", 16 * SEC),
    ]
    assert checker.OVERLAP in rules(events)


def test_a_double_delete_is_caught() -> None:
    events = [added(), leased("w1", 1 * SEC), deleted("w1", 2 * SEC), deleted("w2", 3 * SEC)]
    found = checker.check(events).violations
    assert [v.rule for v in found] == [checker.DOUBLE_DELETE, checker.ORDER]
    assert "w1, w2" in found[0].detail
    assert "ALDD" in found[1].detail


def test_a_lost_task_is_caught() -> None:
    events = [added(), leased("w1", 1 * SEC), added("u"), deleted("w1", 2 * SEC, task="u")]
    found = checker.check(events).violations
    assert [(v.task, v.rule) for v in found] == [("t", checker.LOST), ("t", checker.ORDER)]


def test_a_lease_after_the_delete_is_caught() -> None:
    events = [added(), deleted("w1", 1 * SEC), leased("w2", 2 * SEC)]
    assert rules(events) == {checker.ORDER}


def test_an_extension_with_a_token_the_worker_did_not_hold_is_caught() -> None:
    events = [
        added(),
        leased("w1", 1 * SEC),
        extended("w2", 2 * SEC, prev=11 * SEC),  # w1's token, used by w2
        deleted("w1", 3 * SEC),
    ]
    assert checker.STALE_TOKEN in rules(events)


@pytest.mark.parametrize(
    ("events", "rule"),
    [
        ([leased("w1", 1 * SEC), deleted("w1", 2 * SEC)], checker.PHANTOM),
        ([added(), added(), deleted("w1", 2 * SEC)], checker.DOUBLE_ADD),
    ],
)
def test_events_of_unknown_or_twice_added_tasks_are_caught(events: list[Event], rule: str) -> None:
    assert rule in rules(events)


def test_events_survive_their_json_lines() -> None:
    event = extended("w1", 5 * SEC, prev=11 * SEC)
    assert Event.from_json(event.to_json()) == event
    with pytest.raises(ValueError, match="not an event"):
        Event.from_json('{"kind": "EATEN"}')


def test_the_summary_counts_events_and_violations() -> None:
    report = checker.check([added(), deleted("w1", 1), deleted("w2", 2)])
    assert report.summary() == "1 tasks; added 1, deleted 2; violations: DOUBLE_DELETE 1, ORDER 1"
