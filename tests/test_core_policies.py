"""The opt-in production behaviours as ``QueueService`` policies around the core, on a fake
clock: the lease rate limit, fault injection, the visibility delay, and how wiring composes
them from :class:`ProductionOptions`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

import pytest

from emulator.core.faults import FaultInjectingService, FaultPlan, arm_fault
from emulator.core.rate_limit import LeaseRateLimiter, RateLimitedService
from emulator.core.visibility import VisibilityDelayService
from emulator.domain.errors import CallDeadlineExceeded, ErrorCode, TaskQueueError
from emulator.domain.faults import FaultCall, FaultRate, FaultRule, InjectedCount
from emulator.domain.model import AddRequest, PeekFilter
from emulator.domain.production import ProductionOptions
from emulator.domain.queue_config import QueueMode
from emulator.wiring import compose
from tests.core_support import PULL, PUSH, World, make_world, pull

SEC = 1_000_000
OTHER = "limited"  # a second pull queue of tests/core_support.py


def error_of(call: object, *args: object, **kwargs: object) -> TaskQueueError:
    with pytest.raises(TaskQueueError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


# -- the lease rate limit ---------------------------------------------------------------------


@pytest.fixture
def limited(world: World) -> RateLimitedService:
    """The core behind a limit of 3 lease calls per queue per second."""
    return RateLimitedService(world.service, world.clock, 3)


def test_calls_beyond_the_limit_in_one_second_return_no_tasks(
    world: World, limited: RateLimitedService
) -> None:
    # Given ten ready tasks and the clock in the middle of a second
    world.add(*[pull() for _ in range(10)])
    world.clock.advance(0.5)

    # When five lease calls of one task each are made in that second
    results = [limited.lease(PULL, 60, 1) for _ in range(5)]

    # Then the first three lease a task each and the other two return none, leaving the
    # tasks untouched in the store
    assert [len(r) for r in results] == [1, 1, 1, 0, 0]
    assert [t.retry_count for t in world.service.peek(PULL, _all()).tasks].count(1) == 3


def test_the_window_is_the_second_of_the_clock(world: World, limited: RateLimitedService) -> None:
    world.add(*[pull() for _ in range(10)])
    world.clock.set(world.clock.now_usec() // SEC * SEC + SEC - 1)  # the last µs of a second
    assert [len(limited.lease(PULL, 60, 1)) for _ in range(4)] == [1, 1, 1, 0]

    world.clock.advance(0.000001)  # the next second begins

    assert [len(limited.lease(PULL, 60, 1)) for _ in range(4)] == [1, 1, 1, 0]


def test_each_queue_has_its_own_limit_and_lease_by_tag_counts_too(
    world: World, limited: RateLimitedService
) -> None:
    world.add(*[pull(tag="a") for _ in range(5)])
    world.add(*[pull() for _ in range(5)], queue=OTHER)

    by_tag = [len(limited.lease(PULL, 60, 1, group_by_tag=True, tag="a")) for _ in range(4)]
    plain = [len(limited.lease(OTHER, 60, 1)) for _ in range(4)]

    assert by_tag == plain == [1, 1, 1, 0]


def test_refused_calls_are_counted_in_the_statistics_for_a_minute(
    world: World, limited: RateLimitedService
) -> None:
    for _ in range(5):
        limited.lease(PULL, 60, 1)  # 2 refused
    world.clock.advance(30)
    for _ in range(4):
        limited.lease(PULL, 60, 1)  # 1 refused

    [stats, other, unknown] = limited.stats([PULL, OTHER, "nope"])
    assert stats.rate_limited_leases_last_minute == 3
    assert other.rate_limited_leases_last_minute == 0
    assert unknown.exists is False and unknown.rate_limited_leases_last_minute is None

    world.clock.advance(30)  # the first two are 60 windows old
    assert limited.stats([PULL])[0].rate_limited_leases_last_minute == 1
    world.clock.advance(30)
    assert limited.stats([PULL])[0].rate_limited_leases_last_minute == 0


def test_a_bad_lease_beyond_the_limit_still_gets_its_error(
    world: World, limited: RateLimitedService
) -> None:
    for _ in range(3):
        limited.lease(PULL, 60, 1)

    assert error_of(limited.lease, PULL, -1, 1).code is ErrorCode.INVALID_REQUEST
    assert error_of(limited.lease, PULL, 60, 0).code is ErrorCode.INVALID_REQUEST
    assert error_of(limited.lease, PULL, 60, 1, tag="a").code is ErrorCode.INVALID_REQUEST
    for _ in range(3):
        with pytest.raises(TaskQueueError):
            limited.lease(PUSH, 60, 1)
    assert error_of(limited.lease, PUSH, 60, 1).code is ErrorCode.INVALID_QUEUE_MODE
    for _ in range(3):
        with pytest.raises(TaskQueueError):
            limited.lease("nope", 60, 1)
    assert error_of(limited.lease, "nope", 60, 1).code is ErrorCode.UNKNOWN_QUEUE
    assert limited.stats([PULL])[0].rate_limited_leases_last_minute == 0


def test_reset_forgets_the_counts(world: World, limited: RateLimitedService) -> None:
    for _ in range(5):
        limited.lease(PULL, 60, 1)

    limited.reset()

    assert limited.stats([PULL])[0].rate_limited_leases_last_minute == 0
    world.add(pull())
    assert len(limited.lease(PULL, 60, 1)) == 1  # a fresh window


def test_the_warning_names_the_queue_and_is_logged_once_per_ten_seconds(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = LeaseRateLimiter(1)
    now = world.clock.now_usec()
    with caplog.at_level(logging.WARNING, logger="emulator.rate_limit"):
        for second in range(25):
            at = now + second * SEC
            limiter.admit(PULL, at)
            for _ in range(2):
                assert limiter.admit(PULL, at) is False
                limiter.refuse(PULL, at)

    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3  # at 0 s, 10 s and 20 s
    assert all(f"queue {PULL!r}" in m and "--lease-rate-limit 1" in m for m in messages)
    assert messages[0].startswith("lease rate limit: 1 lease call(s)")
    assert messages[1].startswith("lease rate limit: 20 lease call(s)")  # 1..10 s: 2 per second


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LeaseRateLimiter(0)


# -- fault injection ---------------------------------------------------------------------------


@pytest.fixture
def faulty(world: World) -> FaultInjectingService:
    return FaultInjectingService(world.service, FaultPlan())


def test_an_armed_fault_fails_the_next_calls_and_changes_nothing(
    world: World, faulty: FaultInjectingService
) -> None:
    faulty.plan.arm(FaultRule(FaultCall.ADD, "TRANSIENT_ERROR", count=2))

    for _ in range(2):
        error = error_of(faulty.add, PULL, [pull(name="a")])
        assert error.code is ErrorCode.TRANSIENT_ERROR
        assert "injected fault: add on queue 'pull-q' fails with TRANSIENT_ERROR" in error.message
    assert world.service.stats([PULL])[0].tasks == 0  # nothing was stored
    assert faulty.add(PULL, [pull(name="a")])[0].code is ErrorCode.OK  # the third call runs
    assert faulty.plan.report().pending == ()


@pytest.mark.parametrize("call", list(FaultCall))
def test_every_call_can_be_made_to_fail_with_a_deadline(
    world: World, faulty: FaultInjectingService, call: FaultCall
) -> None:
    world.add(pull(name="t"))
    [leased] = world.service.lease(PULL, 60, 1)
    before = world.service.peek(PULL, _all()).tasks
    calls: dict[FaultCall, Callable[[], object]] = {
        FaultCall.ADD: lambda: faulty.add(PULL, [pull(name="u")]),
        FaultCall.LEASE: lambda: faulty.lease(PULL, 60, 1, group_by_tag=True),
        FaultCall.MODIFY_LEASE: lambda: faulty.modify_lease(PULL, "t", leased.eta_usec, 0),
        FaultCall.DELETE: lambda: faulty.delete(PULL, ["t"]),
        FaultCall.PURGE: lambda: faulty.purge(PULL),
        FaultCall.STATS: lambda: faulty.stats([PULL]),
    }
    faulty.plan.arm(FaultRule(call, "DEADLINE_EXCEEDED"))

    with pytest.raises(CallDeadlineExceeded) as caught:
        calls[call]()

    assert caught.value.code is ErrorCode.TRANSIENT_ERROR  # for faces without a deadline
    assert world.service.peek(PULL, _all()).tasks == before
    assert faulty.plan.report().injected == (InjectedCount(call, "DEADLINE_EXCEEDED", 1),)
    calls[call]()  # the fault was used up


def test_a_fault_on_one_queue_leaves_the_others_alone(
    world: World, faulty: FaultInjectingService
) -> None:
    world.add(pull(name="t"), queue=OTHER)
    faulty.plan.arm(FaultRule(FaultCall.LEASE, "QUEUE_PAUSED", queue=PULL))

    assert [t.name for t in faulty.lease(OTHER, 60, 1)] == ["t"]
    assert faulty.stats([OTHER])[0].tasks == 1
    assert error_of(faulty.lease, PULL, 60, 1).code is ErrorCode.QUEUE_PAUSED
    faulty.plan.arm(FaultRule(FaultCall.STATS, "INTERNAL_ERROR", queue=PULL))
    assert error_of(faulty.stats, [OTHER, PULL]).code is ErrorCode.INTERNAL_ERROR


def test_faults_are_used_in_the_order_they_were_armed(faulty: FaultInjectingService) -> None:
    faulty.plan.arm(FaultRule(FaultCall.LEASE, "TRANSIENT_ERROR"))
    faulty.plan.arm(FaultRule(FaultCall.LEASE, "DEADLINE_EXCEEDED", count=2))
    faulty.plan.arm(FaultRule(FaultCall.DELETE, "INTERNAL_ERROR"))

    assert [p.count for p in faulty.plan.report().pending] == [1, 2, 1]
    assert error_of(faulty.lease, PULL, 60, 1).code is ErrorCode.TRANSIENT_ERROR
    assert isinstance(error_of(faulty.lease, PULL, 60, 1), CallDeadlineExceeded)
    assert faulty.plan.report().pending == (
        FaultRule(FaultCall.LEASE, "DEADLINE_EXCEEDED", count=1),
        FaultRule(FaultCall.DELETE, "INTERNAL_ERROR"),
    )
    assert "1 more to come" not in error_of(faulty.lease, PULL, 60, 1).message
    assert faulty.lease(PULL, 60, 1) == []
    assert faulty.plan.report().injected == (
        InjectedCount(FaultCall.LEASE, "DEADLINE_EXCEEDED", 2),
        InjectedCount(FaultCall.LEASE, "TRANSIENT_ERROR", 1),
    )


def test_clear_and_reset_drop_pending_faults_and_counts(
    world: World, faulty: FaultInjectingService
) -> None:
    faulty.plan.arm(FaultRule(FaultCall.LEASE, "TRANSIENT_ERROR", count=3))
    error_of(faulty.lease, PULL, 60, 1)
    faulty.plan.clear()
    assert faulty.plan.report().pending == ()
    assert faulty.plan.report().injected == ()

    faulty.plan.arm(FaultRule(FaultCall.LEASE, "TRANSIENT_ERROR"))
    world.add(pull())
    faulty.reset()  # also the store's
    assert faulty.plan.report().pending == ()
    assert faulty.stats([PULL])[0].tasks == 0


def test_arming_a_fault_for_an_unknown_queue_is_an_error(world: World) -> None:
    plan = FaultPlan()
    rule = FaultRule(FaultCall.LEASE, "TRANSIENT_ERROR", queue="nope")

    assert error_of(arm_fault, world.service, plan, rule).code is ErrorCode.UNKNOWN_QUEUE
    bad_name = replace(rule, queue="a_b")
    assert error_of(arm_fault, world.service, plan, bad_name).code is ErrorCode.INVALID_QUEUE_NAME
    assert plan.report().pending == ()
    arm_fault(world.service, plan, replace(rule, queue=PULL))
    assert plan.report().pending == (replace(rule, queue=PULL),)


def _random_outcomes(seed: int, calls: int) -> list[str]:
    world = make_world()
    rates = [
        FaultRate(FaultCall.LEASE, "TRANSIENT_ERROR", 0.2),
        FaultRate(FaultCall.LEASE, "DEADLINE_EXCEEDED", 0.1),
    ]
    service = FaultInjectingService(world.service, FaultPlan(rates, seed))
    outcomes = []
    for _ in range(calls):
        try:
            service.lease(PULL, 60, 1)
            outcomes.append("ok")
        except CallDeadlineExceeded:
            outcomes.append("deadline")
        except TaskQueueError as err:
            outcomes.append(err.code.name)
    assert service.stats([PULL])[0].tasks == 0  # statistics have no rate: never fail
    return outcomes


def test_random_faults_follow_their_rates_and_replay_with_the_seed() -> None:
    first = _random_outcomes(7, 2000)

    assert first == _random_outcomes(7, 2000)
    assert first != _random_outcomes(8, 2000)
    assert 0.17 < first.count("TRANSIENT_ERROR") / 2000 < 0.23
    assert 0.08 < first.count("deadline") / 2000 < 0.12


def test_reset_restarts_the_random_sequence() -> None:
    world = make_world()
    plan = FaultPlan([FaultRate(FaultCall.PURGE, "TRANSIENT_ERROR", 0.5)], seed=3)
    service = FaultInjectingService(world.service, plan)

    def run() -> list[bool]:
        outcome = []
        for _ in range(50):
            try:
                service.purge(PULL)
                outcome.append(True)
            except TaskQueueError:
                outcome.append(False)
        return outcome

    first = run()
    service.reset()
    assert run() == first
    assert plan.report().seed == 3
    assert plan.report().rates == (FaultRate(FaultCall.PURGE, "TRANSIENT_ERROR", 0.5),)


def test_random_faults_need_a_seed() -> None:
    with pytest.raises(ValueError, match="seed"):
        FaultPlan([FaultRate(FaultCall.LEASE, "TRANSIENT_ERROR", 0.5)])


# -- the visibility delay ------------------------------------------------------------------------


@pytest.fixture
def delayed(world: World) -> VisibilityDelayService:
    return VisibilityDelayService(world.service, world.clock, 2)


def test_a_new_task_is_leasable_only_after_the_delay(
    world: World, delayed: VisibilityDelayService
) -> None:
    now = world.clock.now_usec()
    [result] = delayed.add(PULL, [pull(name="t")])

    assert result.eta_usec == now + 2 * SEC
    world.clock.advance(1.999999)
    assert world.service.lease(PULL, 60, 1) == []
    world.clock.advance(0.000001)
    assert [t.name for t in world.service.lease(PULL, 60, 1)] == ["t"]


def test_earlier_etas_and_countdowns_move_to_the_delay_later_ones_stay(
    world: World, delayed: VisibilityDelayService
) -> None:
    now = world.clock.now_usec()
    requests = [
        pull(name="past", eta_usec=now - 10 * SEC),
        pull(name="soon", eta_usec=now + SEC),
        pull(name="at", eta_usec=now + 2 * SEC),
        pull(name="late", eta_usec=now + 5 * SEC),
        pull(name="short", countdown_seconds=1.5),
        pull(name="negative", countdown_seconds=-3),
        pull(name="long", countdown_seconds=3),
        pull(name="plain"),
    ]

    etas = {r.name: r.eta_usec for r in delayed.add(PULL, requests)}

    delay = now + 2 * SEC
    assert etas == {
        "past": delay,
        "soon": delay,
        "at": delay,
        "late": now + 5 * SEC,
        "short": delay,
        "negative": delay,
        "long": now + 3 * SEC,
        "plain": delay,
    }


def test_push_tasks_and_bad_etas_are_left_alone(
    world: World, delayed: VisibilityDelayService
) -> None:
    now = world.clock.now_usec()
    push = AddRequest(b"x", name="p", mode=QueueMode.PUSH, method="POST", url="/w")
    as_queue = AddRequest(b"x", name="q", mode=None, method="POST", url="/w")

    etas = [r.eta_usec for r in delayed.add(PUSH, [push, as_queue])]
    [bad] = delayed.add(PULL, [pull(name="neg", eta_usec=-1)])

    assert etas == [now, now]
    assert bad.code is ErrorCode.INVALID_ETA
    assert error_of(delayed.add, "nope", [pull()]).code is ErrorCode.UNKNOWN_QUEUE


def test_a_delay_must_be_positive(world: World) -> None:
    with pytest.raises(ValueError, match="positive"):
        VisibilityDelayService(world.service, world.clock, 0)


# -- composition -------------------------------------------------------------------------------


def test_compose_puts_faults_outside_the_rate_limit_outside_the_delay() -> None:
    world = make_world()
    options = ProductionOptions(lease_rate_limit=1, add_visibility_delay_seconds=1)
    service, plan = compose(world.service, world.clock, options)
    world.add(pull(name="t"))  # straight into the core: ready now

    plan.arm(FaultRule(FaultCall.LEASE, "TRANSIENT_ERROR"))
    assert error_of(service.lease, PULL, 60, 1).code is ErrorCode.TRANSIENT_ERROR
    assert [t.name for t in service.lease(PULL, 60, 1)] == ["t"]  # the fault was not counted
    assert service.lease(PULL, 60, 1) == []  # the second call of the second
    assert service.stats([PULL])[0].rate_limited_leases_last_minute == 1
    [added] = service.add(PULL, [pull(name="u")])
    assert added.eta_usec == world.clock.now_usec() + SEC


def test_compose_without_options_only_adds_idle_fault_injection() -> None:
    world = make_world()
    service, plan = compose(world.service, world.clock, ProductionOptions())

    assert isinstance(service, FaultInjectingService)
    assert service.inner is world.service
    world.add(*[pull() for _ in range(20)])
    assert sum(len(service.lease(PULL, 60, 1)) for _ in range(20)) == 20
    assert service.stats([PULL])[0].rate_limited_leases_last_minute is None
    assert plan.report().seed is None


def _all() -> PeekFilter:
    return PeekFilter(limit=1000)
