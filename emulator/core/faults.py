"""Fault injection: make calls fail before the service runs, for back-off tests and soak runs.

:class:`FaultPlan` holds what to inject (rules armed by ``fail_next`` and the random mode's
rates); :class:`FaultInjectingService` consults it before each call it covers (add, lease and
lease by tag, modify lease and change lease, delete and acknowledge, purge, statistics) and
raises the fault instead of
calling the service it wraps. A failed call therefore changes nothing: no task is stored,
leased or deleted, and the rate limit does not count it. Every other call is forwarded.

The random mode draws one number per call from a :class:`random.Random` seeded with the
plan's seed, so a run with the same seed and the same sequence of calls fails the same
calls; :meth:`FaultPlan.reset` restarts that sequence.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from emulator.core.forwarding import ForwardingService
from emulator.core.service import QueueService
from emulator.domain.errors import (
    DEADLINE_EXCEEDED,
    CallDeadlineExceeded,
    ErrorCode,
    TaskQueueError,
)
from emulator.domain.faults import (
    FaultCall,
    FaultRate,
    FaultReport,
    FaultRule,
    InjectedCount,
)
from emulator.domain.model import AddRequest, AddResult, LeasedTask, QueueStats, StoredTask

_log = logging.getLogger("emulator.faults")


@dataclass(frozen=True)
class FaultDecision:
    """A fault chosen for one call: its error and where it came from (for the message)."""

    error: str
    source: str


class FaultPlan:
    """The faults to inject. Thread-safe.

    For each call, :meth:`take` uses the oldest pending rule that matches it (one of its
    ``count`` is used up; the rule is dropped at zero); if none does, the call's rates are
    tried with one random draw. Injected faults are counted until :meth:`clear` or
    :meth:`reset`.
    """

    def __init__(self, rates: Sequence[FaultRate] = (), seed: int | None = None) -> None:
        """``seed`` is required with ``rates`` (wiring chooses one when none is given).

        Raises:
            ValueError: rates without a seed.
        """
        if rates and seed is None:
            raise ValueError("random faults need a seed")
        self._rates = tuple(rates)
        self._seed = seed
        self._random = random.Random(seed)
        self._pending: list[FaultRule] = []
        self._injected: Counter[tuple[FaultCall, str]] = Counter()
        self._lock = threading.Lock()

    def arm(self, rule: FaultRule) -> None:
        """Make the next ``rule.count`` matching calls fail (after rules armed earlier)."""
        with self._lock:
            self._pending.append(rule)

    def clear(self) -> None:
        """Drop the pending rules and the injected counts (the random mode stays on)."""
        with self._lock:
            self._pending.clear()
            self._injected.clear()

    def reset(self) -> None:
        """:meth:`clear`, and restart the random sequence from the seed."""
        with self._lock:
            self._pending.clear()
            self._injected.clear()
            self._random.seed(self._seed)

    def report(self) -> FaultReport:
        """What is pending, what was injected, and the random mode."""
        with self._lock:
            injected = tuple(
                InjectedCount(call, error, count)
                for (call, error), count in sorted(
                    self._injected.items(), key=lambda item: (item[0][0].value, item[0][1])
                )
            )
            return FaultReport(tuple(self._pending), injected, self._rates, self._seed)

    def take(self, call: FaultCall, queues: tuple[str, ...]) -> FaultDecision | None:
        """The fault for one call ``call`` on ``queues``, or None to let it run."""
        if not self._pending and not self._rates:  # the common case: nothing to inject
            return None
        with self._lock:
            decision = self._pending_decision(call, queues) or self._random_decision(call)
            if decision is not None:
                self._injected[(call, decision.error)] += 1
            return decision

    def _pending_decision(self, call: FaultCall, queues: tuple[str, ...]) -> FaultDecision | None:
        for index, rule in enumerate(self._pending):
            if rule.matches(call, queues):
                if rule.count > 1:
                    self._pending[index] = replace(rule, count=rule.count - 1)
                else:
                    del self._pending[index]
                left = rule.count - 1
                return FaultDecision(
                    rule.error, f"fail_next, {left} more to come" if left else "fail_next"
                )
        return None

    def _random_decision(self, call: FaultCall) -> FaultDecision | None:
        rates = [r for r in self._rates if r.call is call]
        if not rates:
            return None
        draw, threshold = self._random.random(), 0.0
        for rate in rates:
            threshold += rate.rate
            if draw < threshold:
                return FaultDecision(rate.error, f"--inject-faults {rate}")
        return None


def injected_error(
    call: FaultCall, queues: Sequence[str], decision: FaultDecision
) -> TaskQueueError:
    """The exception a call fails with: :class:`CallDeadlineExceeded` for a deadline, else a
    :class:`TaskQueueError` with the code; the message says it was injected, and by what."""
    where = f" on queue {queues[0]!r}" if len(queues) == 1 else ""
    message = f"injected fault: {call.value}{where} fails with {decision.error} ({decision.source})"
    if decision.error == DEADLINE_EXCEEDED:
        return CallDeadlineExceeded(message)
    return TaskQueueError(ErrorCode[decision.error], message)


def arm_fault(service: QueueService, plan: FaultPlan, rule: FaultRule) -> None:
    """Arm ``rule`` in ``plan`` once its queue (if it names one) is known to ``service``.

    Raises:
        TaskQueueError: INVALID_QUEUE_NAME or UNKNOWN_QUEUE for ``rule.queue``.
    """
    if rule.queue is not None:
        service.queue(rule.queue)
    plan.arm(rule)


class FaultInjectingService(ForwardingService):
    """``inner`` with the faults of ``plan`` injected before the calls they cover.

    Raises, instead of the call: the injected :class:`TaskQueueError` (a
    :class:`CallDeadlineExceeded` for DEADLINE_EXCEEDED). :meth:`reset` resets the plan too.
    """

    def __init__(self, inner: QueueService, plan: FaultPlan) -> None:
        super().__init__(inner)
        self._plan = plan

    @property
    def plan(self) -> FaultPlan:
        """The faults this service injects."""
        return self._plan

    def _check(self, call: FaultCall, queues: tuple[str, ...]) -> None:
        decision = self._plan.take(call, queues)
        if decision is not None:
            error = injected_error(call, queues, decision)
            _log.info("%s", error.message)
            raise error

    def add(self, queue_name: str, requests: Sequence[AddRequest]) -> list[AddResult]:
        self._check(FaultCall.ADD, (queue_name,))
        return super().add(queue_name, requests)

    def lease(
        self,
        queue_name: str,
        lease_seconds: float,
        max_tasks: int,
        *,
        group_by_tag: bool = False,
        tag: str | None = None,
    ) -> list[LeasedTask]:
        self._check(FaultCall.LEASE, (queue_name,))
        return super().lease(
            queue_name, lease_seconds, max_tasks, group_by_tag=group_by_tag, tag=tag
        )

    def modify_lease(
        self, queue_name: str, task_name: str, eta_usec: int, lease_seconds: float
    ) -> int:
        self._check(FaultCall.MODIFY_LEASE, (queue_name,))
        return super().modify_lease(queue_name, task_name, eta_usec, lease_seconds)

    def change_lease(
        self, queue_name: str, task_name: str, eta_usec: int, lease_seconds: float
    ) -> StoredTask:
        self._check(FaultCall.MODIFY_LEASE, (queue_name,))  # Cloud Tasks' Renew/CancelLease
        return super().change_lease(queue_name, task_name, eta_usec, lease_seconds)

    def acknowledge(self, queue_name: str, task_name: str, eta_usec: int) -> None:
        self._check(FaultCall.DELETE, (queue_name,))  # Cloud Tasks' AcknowledgeTask
        super().acknowledge(queue_name, task_name, eta_usec)

    def delete(self, queue_name: str, task_names: Sequence[str]) -> list[ErrorCode]:
        self._check(FaultCall.DELETE, (queue_name,))
        return super().delete(queue_name, task_names)

    def purge(self, queue_name: str) -> int:
        self._check(FaultCall.PURGE, (queue_name,))
        return super().purge(queue_name)

    def stats(self, queue_names: Sequence[str]) -> list[QueueStats]:
        self._check(FaultCall.STATS, tuple(queue_names))
        return super().stats(queue_names)

    def reset(self) -> None:
        self._plan.reset()
        super().reset()
