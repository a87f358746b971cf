"""The RPCs of a backend that calls a :class:`~emulator.core.service.QueueService` in this
process: the embedded emulator and the Cloud Tasks backend share them.

Calls run inline in the caller's thread; errors are the service's own ``TaskQueueError``,
except a call the service failed with a deadline, which raises
``apiproxy_errors.DeadlineExceededError`` as the SDK does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from emulator.core import paging
from emulator.domain.errors import CallDeadlineExceeded, ErrorCode
from emulator.domain.faults import FaultCall
from emulator.domain.model import AddRequest, AddResult, LeasedTask, QueueStats, StoredTask
from emulator.wiring import Runtime
from shims.backends.protocol import QueueView, deadline_exceeded


@contextmanager
def sdk_deadline(call: FaultCall) -> Iterator[None]:
    """Raise a :class:`CallDeadlineExceeded` of the service as the SDK's deadline error."""
    try:
        yield
    except CallDeadlineExceeded as late:
        raise deadline_exceeded(call.rpc_name, late.message) from None


class ServiceBackend:
    """The :class:`~shims.backends.protocol.Backend` RPCs, ``queues``, ``tasks`` and
    ``now_usec`` over ``runtime.service``; a subclass adds the rest of the test control."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._service = runtime.service

    @property
    def runtime(self) -> Runtime:
        """The runtime this backend drives."""
        return self._runtime

    def add(
        self, queue: str, requests: Sequence[AddRequest], *, deadline: float
    ) -> list[AddResult]:
        with sdk_deadline(FaultCall.ADD):
            return self._service.add(queue, requests)

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
        with sdk_deadline(FaultCall.LEASE):
            return self._service.lease(
                queue, lease_seconds, max_tasks, group_by_tag=group_by_tag, tag=tag
            )

    def modify_lease(
        self, queue: str, task_name: str, eta_usec: int, lease_seconds: float, *, deadline: float
    ) -> int:
        with sdk_deadline(FaultCall.MODIFY_LEASE):
            return self._service.modify_lease(queue, task_name, eta_usec, lease_seconds)

    def delete(self, queue: str, names: Sequence[str], *, deadline: float) -> list[ErrorCode]:
        with sdk_deadline(FaultCall.DELETE):
            return self._service.delete(queue, names)

    def purge(self, queue: str, *, deadline: float) -> None:
        with sdk_deadline(FaultCall.PURGE):
            self._service.purge(queue)

    def stats(self, queues: Sequence[str], *, deadline: float) -> list[QueueStats]:
        with sdk_deadline(FaultCall.STATS):
            return self._service.stats(queues)

    def close(self) -> None:
        self._runtime.close()

    def now_usec(self) -> int:
        return self._service.now_usec()

    def queues(self) -> list[QueueView]:
        configs = sorted(self._service.config().queues.values(), key=lambda q: q.name)
        with sdk_deadline(FaultCall.STATS):  # statistics faults apply, as over HTTP
            stats = self._service.stats([q.name for q in configs])
        return [QueueView.of(c, s) for c, s in zip(configs, stats, strict=True)]

    def tasks(self, queue: str) -> list[StoredTask]:
        return paging.all_tasks(self._service, queue)
