"""``QueueService``: the one interface every face talks to and every backend implements.

Implementations: :class:`emulator.core.pull_queue.LocalQueueService` (core semantics + a store)
and, later, a Cloud Tasks forwarding service. Whole-operation failures raise
:class:`emulator.domain.errors.TaskQueueError`; per-task outcomes of batches come back as codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from emulator.domain.errors import ErrorCode
from emulator.domain.model import (
    AddRequest,
    AddResult,
    LeasedTask,
    PeekFilter,
    QueueStats,
    StoredTask,
    TaskPage,
)
from emulator.domain.queue_config import QueueConfig, QueuesConfig


class QueueService(Protocol):
    """Pull-queue operations with App Engine's semantics (legacy-taskqueue-api.md §4)."""

    def add(self, queue_name: str, requests: Sequence[AddRequest]) -> list[AddResult]:
        """Add a batch of tasks to one queue; one result per request, in order.

        Atomic validation first: if any request is invalid (ETA, size, name, tag) nothing is
        stored and the others are SKIPPED. Then each task is stored independently: a taken
        name gives TASK_ALREADY_EXISTS, a deleted one TOMBSTONED_TASK, the rest are added.

        Raises:
            TaskQueueError: UNKNOWN_QUEUE, INVALID_QUEUE_MODE, INVALID_REQUEST (empty or
                oversized batch) for the whole batch.
        """
        ...

    def lease(
        self,
        queue_name: str,
        lease_seconds: float,
        max_tasks: int,
        *,
        group_by_tag: bool = False,
        tag: str | None = None,
    ) -> list[LeasedTask]:
        """Lease up to ``max_tasks`` ready tasks (``eta <= now``) in (eta, name) order.

        Each leased task gets ``eta = now + lease`` and ``retry_count + 1``: the lease is held
        for [now, now + lease), and the task is ready again at ``now + lease``. With
        ``group_by_tag`` the tasks share one tag: ``tag``, or the oldest ready task's.

        Raises:
            TaskQueueError: UNKNOWN_QUEUE, INVALID_QUEUE_MODE, QUEUE_PAUSED, INVALID_REQUEST.
        """
        ...

    def modify_lease(
        self, queue_name: str, task_name: str, eta_usec: int, lease_seconds: float
    ) -> int:
        """Extend (or with 0, release) the lease whose token is ``eta_usec``; return the new ETA.

        Only a lease that has not ended (``now < eta_usec``) can be changed, so no caller can
        change a lease at an instant when another caller may lease the task.

        Raises:
            TaskQueueError: UNKNOWN_QUEUE, INVALID_QUEUE_MODE, QUEUE_PAUSED, INVALID_REQUEST,
                TOMBSTONED_TASK, UNKNOWN_TASK, TASK_LEASE_EXPIRED.
        """
        ...

    def change_lease(
        self, queue_name: str, task_name: str, eta_usec: int, lease_seconds: float
    ) -> StoredTask:
        """:meth:`modify_lease`, returning the whole task as it stands after the change.

        One transaction: the task returned is the one whose lease was changed (Cloud Tasks'
        RenewLease and CancelLease answer with it). Same checks, order and errors.
        """
        ...

    def acknowledge(self, queue_name: str, task_name: str, eta_usec: int) -> None:
        """Delete (and tombstone) a task the caller holds: only if ``eta_usec`` is its current
        lease token and the lease has not ended (``now < eta_usec``), as for a lease change.

        Cloud Tasks' AcknowledgeTask. Unlike :meth:`delete` it checks ownership; unlike a
        lease change it also works on a paused queue (finishing work is not leasing).

        Raises:
            TaskQueueError: UNKNOWN_QUEUE, INVALID_QUEUE_MODE, TOMBSTONED_TASK, UNKNOWN_TASK,
                TASK_LEASE_EXPIRED (a stale or expired token; the task stays).
        """
        ...

    def delete(self, queue_name: str, task_names: Sequence[str]) -> list[ErrorCode]:
        """Delete tasks by name (no lease check); per name OK, UNKNOWN_TASK or TOMBSTONED_TASK.

        Raises:
            TaskQueueError: UNKNOWN_QUEUE, INVALID_REQUEST.
        """
        ...

    def purge(self, queue_name: str) -> int:
        """Delete every task of the queue, keeping their names tombstoned; return the count.

        Raises:
            TaskQueueError: UNKNOWN_QUEUE.
        """
        ...

    def pause(self, queue_name: str) -> None:
        """Pause the queue: leases and lease changes fail with QUEUE_PAUSED until resumed."""
        ...

    def resume(self, queue_name: str) -> None:
        """Resume a paused queue (a no-op on a running one)."""
        ...

    def stats(self, queue_names: Sequence[str]) -> list[QueueStats]:
        """Statistics per name, in order; an unconfigured name gives zeros (``exists=False``)."""
        ...

    def queue(self, queue_name: str) -> QueueConfig:
        """The configuration of one queue.

        Raises:
            TaskQueueError: INVALID_QUEUE_NAME, UNKNOWN_QUEUE.
        """
        ...

    def now_usec(self) -> int:
        """The service's current time (clients compute ETAs and countdowns against it)."""
        ...

    def config(self) -> QueuesConfig:
        """The configuration in force (reloaded if the file changed)."""
        ...

    def peek(self, queue_name: str, where: PeekFilter) -> TaskPage:
        """List tasks without side effects. Raises TaskQueueError UNKNOWN_QUEUE, INVALID_REQUEST."""
        ...

    def get_task(self, queue_name: str, task_name: str) -> StoredTask:
        """One task, without side effects.

        Raises:
            TaskQueueError: UNKNOWN_QUEUE, TOMBSTONED_TASK, UNKNOWN_TASK.
        """
        ...

    def flush_queue(self, queue_name: str) -> None:
        """Testbed's ``FlushQueue``: drop the queue's tasks **and** its tombstones."""
        ...

    def forget_task(self, queue_name: str, task_name: str) -> bool:
        """Testbed's ``DeleteTask``: delete a task without tombstoning; True if it existed."""
        ...

    def reset(self) -> None:
        """Drop every task, tombstone, lease record, pause and the auto-name counter."""
        ...
