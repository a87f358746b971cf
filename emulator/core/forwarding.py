"""``ForwardingService``: a :class:`QueueService` that hands every call to another one.

The base of the policies that wrap the service (:mod:`emulator.core.faults`,
:mod:`emulator.core.rate_limit`, :mod:`emulator.core.visibility`): a policy overrides the
calls it changes and inherits the others unchanged, so every face sees one ``QueueService``.
"""

from __future__ import annotations

from collections.abc import Sequence

from emulator.core.service import QueueService
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


class ForwardingService:
    """Every :class:`QueueService` call, forwarded to ``inner`` as it is."""

    def __init__(self, inner: QueueService) -> None:
        self._inner = inner

    @property
    def inner(self) -> QueueService:
        """The service this one forwards to."""
        return self._inner

    def add(self, queue_name: str, requests: Sequence[AddRequest]) -> list[AddResult]:
        return self._inner.add(queue_name, requests)

    def lease(
        self,
        queue_name: str,
        lease_seconds: float,
        max_tasks: int,
        *,
        group_by_tag: bool = False,
        tag: str | None = None,
    ) -> list[LeasedTask]:
        return self._inner.lease(
            queue_name, lease_seconds, max_tasks, group_by_tag=group_by_tag, tag=tag
        )

    def modify_lease(
        self, queue_name: str, task_name: str, eta_usec: int, lease_seconds: float
    ) -> int:
        return self._inner.modify_lease(queue_name, task_name, eta_usec, lease_seconds)

    def change_lease(
        self, queue_name: str, task_name: str, eta_usec: int, lease_seconds: float
    ) -> StoredTask:
        return self._inner.change_lease(queue_name, task_name, eta_usec, lease_seconds)

    def acknowledge(self, queue_name: str, task_name: str, eta_usec: int) -> None:
        self._inner.acknowledge(queue_name, task_name, eta_usec)

    def delete(self, queue_name: str, task_names: Sequence[str]) -> list[ErrorCode]:
        return self._inner.delete(queue_name, task_names)

    def purge(self, queue_name: str) -> int:
        return self._inner.purge(queue_name)

    def pause(self, queue_name: str) -> None:
        self._inner.pause(queue_name)

    def resume(self, queue_name: str) -> None:
        self._inner.resume(queue_name)

    def stats(self, queue_names: Sequence[str]) -> list[QueueStats]:
        return self._inner.stats(queue_names)

    def queue(self, queue_name: str) -> QueueConfig:
        return self._inner.queue(queue_name)

    def now_usec(self) -> int:
        return self._inner.now_usec()

    def config(self) -> QueuesConfig:
        return self._inner.config()

    def peek(self, queue_name: str, where: PeekFilter) -> TaskPage:
        return self._inner.peek(queue_name, where)

    def get_task(self, queue_name: str, task_name: str) -> StoredTask:
        return self._inner.get_task(queue_name, task_name)

    def flush_queue(self, queue_name: str) -> None:
        self._inner.flush_queue(queue_name)

    def forget_task(self, queue_name: str, task_name: str) -> bool:
        return self._inner.forget_task(queue_name, task_name)

    def reset(self) -> None:
        self._inner.reset()
