"""The exclusivity checker: events (:mod:`bench.reliability.events`) → violations.

For every task, the events must read, in the order of their ``at_usec`` (ties: ADDED,
RELEASED, LEASED, EXTENDED, DELETED)::

    ADDED (LEASED (EXTENDED)* (RELEASED)?)* DELETED

and besides:

* ``LOST``: added, never deleted; ``PHANTOM``: events of a task never added;
* ``DOUBLE_ADD`` / ``DOUBLE_DELETE``: added or deleted more than once;
* ``STALE_TOKEN``: an extension or release whose old token is not the current token of a
  lease the same worker holds (the server accepted a token it should have refused);
* ``OVERLAP``: a lease starting before an earlier lease of the task ended. A lease is the
  chain LEASED → EXTENDED* → RELEASED? of one worker; it runs from the server's instant of
  the lease to its last token (the expiry, or the instant of the release), both set by the
  server's clock, never a worker's;
* ``ORDER``: the sequence above does not match (e.g. leased after it was deleted).

:func:`check` is pure: the same events give the same report, whatever their file order
across workers (each worker's own events must be in the order it saw them).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from bench.reliability.events import ADDED, DELETED, EXTENDED, LEASED, RELEASED, Event

LOST = "LOST"
PHANTOM = "PHANTOM"
DOUBLE_ADD = "DOUBLE_ADD"
DOUBLE_DELETE = "DOUBLE_DELETE"
STALE_TOKEN = "STALE_TOKEN"
OVERLAP = "OVERLAP"
ORDER = "ORDER"

_LETTER = {ADDED: "A", LEASED: "L", EXTENDED: "E", RELEASED: "R", DELETED: "D"}
_TIE_RANK = {ADDED: 0, RELEASED: 1, LEASED: 2, EXTENDED: 3, DELETED: 4}
_HISTORY = re.compile(r"A(LE*R?)*D")


@dataclass(frozen=True)
class Violation:
    """One broken rule: which task, which rule (the module's names), and how."""

    task: str
    rule: str
    detail: str


@dataclass
class Lease:
    """One worker's lease of one task: ``[start_usec, end_usec)`` on the server's clock."""

    worker: str
    start_usec: int
    end_usec: int


@dataclass
class Report:
    """What :func:`check` found: counts of events by kind, leases, and the violations."""

    tasks: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        """One line: tasks, events by kind, violations by rule."""
        counts = ", ".join(f"{k.lower()} {v}" for k, v in sorted(self.counts.items()))
        by_rule: dict[str, int] = defaultdict(int)
        for v in self.violations:
            by_rule[v.rule] += 1
        broken = ", ".join(f"{k} {v}" for k, v in sorted(by_rule.items())) or "none"
        return f"{self.tasks} tasks; {counts}; violations: {broken}"


def check(events: Iterable[Event]) -> Report:
    """Check every task's history (see the module's rules); never raises on bad histories."""
    by_task: dict[str, list[Event]] = defaultdict(list)
    report = Report()
    for event in events:
        by_task[event.task].append(event)
        report.counts[event.kind] = report.counts.get(event.kind, 0) + 1
    report.tasks = len(by_task)
    for task, history in sorted(by_task.items()):
        report.violations.extend(check_task(task, history))
    return report


def check_task(task: str, history: list[Event]) -> list[Violation]:
    """The violations of one task's events (each worker's events in the order it saw them)."""
    found = _count_rules(task, history)
    leases, stale = _leases(task, history)
    found.extend(stale)
    found.extend(_overlaps(task, leases))
    ordered = sorted(history, key=lambda e: (e.at_usec, _TIE_RANK[e.kind]))
    letters = "".join(_LETTER[e.kind] for e in ordered)
    if not _HISTORY.fullmatch(letters):
        found.append(Violation(task, ORDER, f"history {letters} is not A(LE*R?)*D"))
    return found


def _count_rules(task: str, history: list[Event]) -> list[Violation]:
    adds = sum(e.kind == ADDED for e in history)
    deletes = [e for e in history if e.kind == DELETED]
    found: list[Violation] = []
    if adds == 0:
        found.append(Violation(task, PHANTOM, "events of a task that was never added"))
    elif adds > 1:
        found.append(Violation(task, DOUBLE_ADD, f"added {adds} times"))
    if not deletes and adds:
        found.append(Violation(task, LOST, "added but never deleted"))
    elif len(deletes) > 1:
        workers = ", ".join(e.worker for e in deletes)
        found.append(Violation(task, DOUBLE_DELETE, f"deleted {len(deletes)} times ({workers})"))
    return found


def _leases(task: str, history: list[Event]) -> tuple[list[Lease], list[Violation]]:
    """Chain each worker's LEASED → EXTENDED* → RELEASED? by token."""
    leases: list[Lease] = []
    held: dict[tuple[str, int], Lease] = {}  # (worker, current token) → lease
    stale: list[Violation] = []
    for event in history:
        if event.kind == LEASED and event.eta_usec is not None:
            lease = Lease(event.worker, event.at_usec, event.eta_usec)
            leases.append(lease)
            held[(event.worker, event.eta_usec)] = lease
        elif event.kind in (EXTENDED, RELEASED) and event.eta_usec is not None:
            found = held.pop((event.worker, event.prev_eta_usec or 0), None)
            if found is None:
                detail = f"{event.kind} by {event.worker} with token {event.prev_eta_usec}"
                stale.append(Violation(task, STALE_TOKEN, detail + ", which it did not hold"))
                continue
            found.end_usec = event.eta_usec
            if event.kind == EXTENDED:
                held[(event.worker, event.eta_usec)] = found
    return leases, stale


def _overlaps(task: str, leases: list[Lease]) -> list[Violation]:
    found: list[Violation] = []
    latest: Lease | None = None
    for lease in sorted(leases, key=lambda x: (x.start_usec, x.end_usec)):
        if latest is not None and lease.start_usec < latest.end_usec:
            found.append(
                Violation(
                    task,
                    OVERLAP,
                    f"{lease.worker}'s lease from {lease.start_usec} began before "
                    f"{latest.worker}'s lease ended at {latest.end_usec}",
                )
            )
        if latest is None or lease.end_usec > latest.end_usec:
            latest = lease
    return found
