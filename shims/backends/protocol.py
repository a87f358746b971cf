"""What a backend does: the protocol ``shims.taskqueue`` calls, and the test-control extras.

Two implementations: :class:`shims.backends.embedded.EmbeddedBackend` drives a
:class:`~emulator.core.pull_queue.LocalQueueService` in this process (no server, no HTTP) and
:class:`shims.backends.remote.RemoteBackend` talks to an emulator's JSON API over HTTP. Both
speak the emulator's domain vocabulary (:mod:`emulator.domain.model`) and raise
:class:`~emulator.domain.errors.TaskQueueError` for errors the service reports, so the module
behaves identically on either. Remote transport failures raise ``TaskQueueError(TRANSIENT_ERROR)``
(connection refused or lost) or ``apiproxy_errors.DeadlineExceededError`` (no answer within
the deadline). A call the emulator failed with a deadline (an injected ``DEADLINE_EXCEEDED``
fault) raises ``apiproxy_errors.DeadlineExceededError`` on both (:func:`deadline_exceeded`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from emulator.domain.errors import ErrorCode
from emulator.domain.faults import FaultReport, FaultRule
from emulator.domain.model import AddRequest, AddResult, LeasedTask, QueueStats, StoredTask
from emulator.domain.queue_config import QueueConfig, RetryParameters
from shims import apiproxy_errors


class ControlUnavailableError(RuntimeError):
    """The emulator refuses test control (a server started without --enable-test-control)."""


def deadline_exceeded(call_name: str, detail: str) -> apiproxy_errors.DeadlineExceededError:
    """The exception of a call ``taskqueue.<call_name>`` that ran out of time, worded as the
    SDK's transport words it, with the emulator's ``detail``."""
    return apiproxy_errors.DeadlineExceededError(
        f"The API call taskqueue.{call_name}() took too long to respond and was cancelled. "
        f"-- {detail}"
    )


@dataclass(frozen=True)
class QueueView:
    """One configured queue with its statistics, as the test helpers show it."""

    name: str
    mode: str
    rate: str | None
    bucket_size: int | None
    acl_user_emails: tuple[str, ...] | None
    retry_parameters: RetryParameters | None
    stats: QueueStats

    @classmethod
    def of(cls, config: QueueConfig, stats: QueueStats) -> QueueView:
        """The view of a queue's configuration and statistics (``acl_user_emails`` is None
        for a queue without ``acl``)."""
        emails = tuple(a.user_email for a in config.acl if a.user_email) if config.acl else None
        return cls(
            name=config.name,
            mode=config.mode.label,
            rate=config.rate,
            bucket_size=config.bucket_size,
            acl_user_emails=emails,
            retry_parameters=config.retry_parameters,
            stats=stats,
        )


class Backend(Protocol):
    """What ``shims.taskqueue`` needs: the pull-queue RPCs, each with a deadline in seconds.

    Errors the service reports raise ``TaskQueueError``; see the module docstring.
    """

    @property
    def description(self) -> str:
        """Where the tasks live, for messages (``embedded`` or ``http://host:port``)."""
        ...

    def add(
        self, queue: str, requests: Sequence[AddRequest], *, deadline: float
    ) -> list[AddResult]:
        """``QueueService.add``: one result per request; OK results carry the stored ETA."""
        ...

    def lease(
        self,
        queue: str,
        lease_seconds: float,
        max_tasks: int,
        *,
        group_by_tag: bool,
        tag: str | None,
        deadline: float,
    ) -> list[LeasedTask]:
        """``QueueService.lease``."""
        ...

    def modify_lease(
        self, queue: str, task_name: str, eta_usec: int, lease_seconds: float, *, deadline: float
    ) -> int:
        """``QueueService.modify_lease``: the new ETA (the new lease token)."""
        ...

    def delete(self, queue: str, names: Sequence[str], *, deadline: float) -> list[ErrorCode]:
        """``QueueService.delete``: OK, UNKNOWN_TASK or TOMBSTONED_TASK per name."""
        ...

    def purge(self, queue: str, *, deadline: float) -> None:
        """``QueueService.purge``."""
        ...

    def stats(self, queues: Sequence[str], *, deadline: float) -> list[QueueStats]:
        """``QueueService.stats``, in request order (unknown queues: ``exists=False``)."""
        ...

    def close(self) -> None:
        """Release connections or the in-process store."""
        ...


class ControlledBackend(Backend, Protocol):
    """A backend whose clock and contents tests can control (``shims.testing``)."""

    def now_usec(self) -> int:
        """The emulator's current time."""
        ...

    def set_clock(self, now_usec: int) -> None:
        """Freeze the emulator's clock at ``now_usec``."""
        ...

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward (frozen or not)."""
        ...

    def use_system_clock(self) -> None:
        """Return the emulator to real time."""
        ...

    def client_clock(self) -> Callable[[], int] | None:
        """A function telling the emulator's time without asking it (None: the wall clock);
        valid after the last clock change made through this backend."""
        ...

    def reset(self) -> None:
        """Drop every task, tombstone, lease record, pause and the auto-name counter."""
        ...

    def queues(self) -> list[QueueView]:
        """Every configured queue (``default`` included), sorted by name."""
        ...

    def tasks(self, queue: str) -> list[StoredTask]:
        """Every task of ``queue`` in (eta, name) order; UNKNOWN_QUEUE if not configured."""
        ...

    def flush_queue(self, queue: str) -> None:
        """Drop the queue's tasks and tombstones (testbed ``FlushQueue``)."""
        ...

    def forget_task(self, queue: str, name: str) -> bool:
        """Delete one task without a tombstone (testbed ``DeleteTask``)."""
        ...

    def fail_next(self, rule: FaultRule) -> None:
        """Make the next ``rule.count`` matching calls fail (UNKNOWN_QUEUE for a queue that is
        not configured)."""
        ...

    def fault_report(self) -> FaultReport:
        """The faults pending and injected, and the random mode."""
        ...

    def clear_faults(self) -> None:
        """Drop the pending faults and the injected counts."""
        ...
