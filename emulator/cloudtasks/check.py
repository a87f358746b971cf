"""``check-cloud-tasks``: does Cloud Tasks have the queues a queue.yaml describes?

For every queue of the file (not the built-in ``default`` when the file does not list it):
it exists; it is a pull or a push queue as ``mode`` says; its retry settings (the retry limit
as ``max_attempts`` = limit + 1, ``task_age_limit`` as ``max_retry_duration``, the backoffs
and doublings the file sets) and, for push queues, its rate settings (``rate``,
``bucket_size``, ``max_concurrent_requests``) are the file's. For each pull queue it then
probes that the pull methods are allowed: a LeaseTasks of at most one task for one second,
whose task (if any) is given back at once with CancelLease. Real projects may have lost
v2beta2's pull methods; the probe reports PERMISSION_DENIED or UNIMPLEMENTED as a finding.

Reads only, except the probe's lease (undone by CancelLease).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from google.cloud import tasks_v2beta2
from google.protobuf import duration_pb2

from emulator.cloudtasks import mapping
from emulator.cloudtasks.clients import CloudTasksClients
from emulator.cloudtasks.errors import CALLS, is_google_error, translate
from emulator.cloudtasks.target import CloudTasksTarget
from emulator.domain.errors import ErrorCode
from emulator.domain.queue_config import QueueConfig, QueueMode, QueuesConfig

OK: Final = "ok"
MISMATCH: Final = "MISMATCH"
HEADERS: Final = ("queue", "check", "queue.yaml", "cloud tasks", "result")
_UNLIMITED: Final = "unlimited"
_UNSET: Final = "(not set)"


@dataclass(frozen=True)
class Finding:
    """One comparison: what the queue.yaml says, what Cloud Tasks has, whether they agree."""

    queue: str
    check: str
    expected: str
    actual: str
    ok: bool

    def row(self) -> tuple[str, str, str, str, str]:
        """The table row of this finding."""
        return (self.queue, self.check, self.expected, self.actual, OK if self.ok else MISMATCH)


def _finding(queue: str, check: str, expected: str, actual: str) -> Finding:
    return Finding(queue, check, expected, actual, expected == actual)


def _seconds(value: Any) -> str:
    """A proto-plus Duration (a ``timedelta``) as ``"60s"``."""
    total = value.total_seconds()
    return f"{total:g}s"


def _attempts(retry: Any) -> str:
    if retry.unlimited_attempts or retry.max_attempts in (-1, 0):
        return _UNLIMITED
    return str(retry.max_attempts)


def _retry_findings(config: QueueConfig, retry: Any) -> Iterable[Finding]:
    params = config.retry_parameters
    attempts = mapping.max_attempts(params)
    name = config.name
    yield _finding(
        name,
        "max_attempts (task_retry_limit + 1)",
        _UNLIMITED if attempts is None else str(attempts),
        _attempts(retry),
    )
    if params is None:
        return
    wanted: list[tuple[str, float | None, str]] = [
        ("max_retry_duration (task_age_limit)", params.task_age_limit_sec, "max_retry_duration"),
        ("min_backoff (min_backoff_seconds)", params.min_backoff_seconds, "min_backoff"),
        ("max_backoff (max_backoff_seconds)", params.max_backoff_seconds, "max_backoff"),
    ]
    for check, seconds, field in wanted:
        if seconds is not None:
            actual = _seconds(getattr(retry, field)) if field in retry else _UNSET
            yield _finding(name, check, f"{seconds:g}s", actual)
    if params.max_doublings is not None:
        yield _finding(name, "max_doublings", str(params.max_doublings), str(retry.max_doublings))


def _rate_findings(config: QueueConfig, limits: Any) -> Iterable[Finding]:
    """A push queue's rate settings (a pull queue's are output only in Cloud Tasks)."""
    name = config.name
    if config.rate_per_second is not None:
        actual = float(limits.max_tasks_dispatched_per_second)
        same = math.isclose(actual, config.rate_per_second, rel_tol=1e-6)
        yield Finding(
            name,
            f"max_tasks_dispatched_per_second (rate {config.rate})",
            f"{config.rate_per_second:g}",
            f"{actual:g}",
            same,
        )
    if config.bucket_size is not None:
        yield _finding(
            name,
            "max_burst_size (bucket_size)",
            str(config.bucket_size),
            str(limits.max_burst_size),
        )
    if config.max_concurrent_requests is not None:
        yield _finding(
            name,
            "max_concurrent_tasks (max_concurrent_requests)",
            str(config.max_concurrent_requests),
            str(limits.max_concurrent_tasks),
        )


class Checker:
    """Compares one queue.yaml with the queues of ``target`` through ``clients``."""

    def __init__(self, clients: CloudTasksClients, target: CloudTasksTarget) -> None:
        self._clients = clients
        self._target = target
        self._options = {"timeout": target.timeout_seconds, "retry": None}

    def _failure(self, rpc: str, queue: str, exc: Exception) -> str:
        error = translate(exc, CALLS[rpc], self._target, queue)
        return f"{error.code.name}: {error.message}"

    def _guard(self, rpc: str, queue: str, call: Callable[[], Any]) -> tuple[Any, str | None]:
        """``call()``'s answer, or None and the failure's words (a Google error only)."""
        try:
            return call(), None
        except Exception as exc:
            if not is_google_error(exc):
                raise
            return None, self._failure(rpc, queue, exc)

    def check(self, config: QueuesConfig) -> list[Finding]:
        """Every finding for the listed queues of ``config``, queue by queue (sorted)."""
        findings: list[Finding] = []
        for queue in sorted(config.queues.values(), key=lambda q: q.name):
            if queue.line is not None:  # a queue the file lists (not the built-in default)
                findings.extend(self.check_queue(queue))
        return findings

    def check_queue(self, config: QueueConfig) -> list[Finding]:
        """The findings of one queue: exists, mode, retry, rates, and the pull probe."""
        path = self._target.queue_path(config.name)
        message, failure = self._guard(
            "GetQueue",
            config.name,
            lambda: self._clients.pull.get_queue(name=path, **self._options),
        )
        if failure is not None:
            missing = failure.startswith(ErrorCode.UNKNOWN_QUEUE.name)
            actual = "missing" if missing else failure
            return [Finding(config.name, "exists", "yes", actual, False)]
        pull = mapping.is_pull(message)
        findings = [
            _finding(config.name, "exists", "yes", "yes"),
            _finding(config.name, "mode", config.mode.label, "pull" if pull else "push"),
            *_retry_findings(config, message.retry_config),
        ]
        if config.mode is QueueMode.PUSH:
            findings.extend(_rate_findings(config, message.rate_limits))
        elif pull:
            findings.append(self.probe(config.name))
        return findings

    def _give_back(self, task: Any) -> Callable[[], Any]:
        """The CancelLease of a task the probe leased."""

        def cancel() -> Any:
            return self._clients.pull.cancel_lease(
                name=task.name, schedule_time=task.schedule_time, **self._options
            )

        return cancel

    def probe(self, queue: str) -> Finding:
        """Lease at most one task for one second and give it back: are pull methods allowed?"""
        request = tasks_v2beta2.LeaseTasksRequest(
            parent=self._target.queue_path(queue),
            max_tasks=1,
            lease_duration=duration_pb2.Duration(seconds=1),
        )
        check = "pull methods (LeaseTasks)"
        response, failure = self._guard(
            "LeaseTasks",
            queue,
            lambda: self._clients.pull.lease_tasks(request=request, **self._options),
        )
        if failure is not None:
            return Finding(queue, check, "allowed", f"refused: {failure}", False)
        for task in response.tasks:
            _, undone = self._guard("CancelLease", queue, self._give_back(task))
            if undone is not None:
                return Finding(queue, check, "allowed", f"lease not given back: {undone}", False)
        return Finding(queue, check, "allowed", "allowed", True)


def table(findings: Iterable[Finding], *, width: int = 100) -> str:
    """The findings as a plain-text table (cells longer than ``width`` are cut)."""
    rows = [HEADERS, *(f.row() for f in findings)]
    cut = [tuple(c if len(c) <= width else c[: width - 3] + "..." for c in row) for row in rows]
    widths = [max(len(row[i]) for row in cut) for i in range(len(HEADERS))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cut
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary(findings: list[Finding], target: CloudTasksTarget) -> str:
    """One line: how many checks, how many mismatches, against what."""
    bad = [f for f in findings if not f.ok]
    if not findings:
        return f"the queue.yaml lists no queue to check against {target.description}"
    if not bad:
        return f"{len(findings)} checks, all match {target.description}"
    queues = ", ".join(sorted({f.queue for f in bad}))
    return (
        f"{len(findings)} checks, {len(bad)} mismatches (queues: {queues}) against "
        f"{target.description}"
    )
