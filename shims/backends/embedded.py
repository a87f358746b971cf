"""The embedded backend: the emulator's core in this process (no server, no HTTP).

Wraps a :class:`~emulator.wiring.Runtime` (``LocalQueueService`` over SQLite, with a
controllable clock, inside the production behaviours it was built with). Calls run inline in
the caller's thread; deadlines never expire because nothing can hang. Errors are the
service's own :class:`~emulator.domain.errors.TaskQueueError`, except a call the service
failed with a deadline (an injected ``DEADLINE_EXCEEDED``), which raises
``apiproxy_errors.DeadlineExceededError`` as the SDK does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from emulator.core import paging
from emulator.core.faults import arm_fault
from emulator.domain.errors import CallDeadlineExceeded, ErrorCode
from emulator.domain.faults import FaultCall, FaultReport, FaultRule
from emulator.domain.model import (
    AddRequest,
    AddResult,
    LeasedTask,
    QueueStats,
    StoredTask,
)
from emulator.domain.production import ProductionOptions
from emulator.wiring import Runtime, build_runtime
from shims.backends.protocol import QueueView, deadline_exceeded


@contextmanager
def _sdk_deadline(call: FaultCall) -> Iterator[None]:
    """Raise a :class:`CallDeadlineExceeded` of the service as the SDK's deadline error."""
    try:
        yield
    except CallDeadlineExceeded as late:
        raise deadline_exceeded(call.rpc_name, late.message) from None


class EmbeddedBackend:
    """A :class:`shims.backends.protocol.ControlledBackend` over an in-process runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._service = runtime.service

    @classmethod
    def build(
        cls, queue_yaml: str | None, storage: str, production: ProductionOptions | None = None
    ) -> EmbeddedBackend:
        """Load ``queue_yaml`` (None: only ``default``) and open ``storage``; the emulator
        has the ``production`` behaviours (default: none).

        Raises:
            emulator.config.ConfigError: the queue.yaml cannot be used.
            emulator.store.sqlite.StoreError: the storage cannot be opened.
        """
        return cls(build_runtime(queue_yaml, storage, production=production))

    @property
    def runtime(self) -> Runtime:
        """The runtime this backend drives."""
        return self._runtime

    @property
    def description(self) -> str:
        return "embedded"

    # -- the RPCs ------------------------------------------------------------------------------

    def add(
        self, queue: str, requests: Sequence[AddRequest], *, deadline: float
    ) -> list[AddResult]:
        with _sdk_deadline(FaultCall.ADD):
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
        with _sdk_deadline(FaultCall.LEASE):
            return self._service.lease(
                queue, lease_seconds, max_tasks, group_by_tag=group_by_tag, tag=tag
            )

    def modify_lease(
        self, queue: str, task_name: str, eta_usec: int, lease_seconds: float, *, deadline: float
    ) -> int:
        with _sdk_deadline(FaultCall.MODIFY_LEASE):
            return self._service.modify_lease(queue, task_name, eta_usec, lease_seconds)

    def delete(self, queue: str, names: Sequence[str], *, deadline: float) -> list[ErrorCode]:
        with _sdk_deadline(FaultCall.DELETE):
            return self._service.delete(queue, names)

    def purge(self, queue: str, *, deadline: float) -> None:
        with _sdk_deadline(FaultCall.PURGE):
            self._service.purge(queue)

    def stats(self, queues: Sequence[str], *, deadline: float) -> list[QueueStats]:
        with _sdk_deadline(FaultCall.STATS):
            return self._service.stats(queues)

    def close(self) -> None:
        self._runtime.close()

    # -- test control --------------------------------------------------------------------------

    def now_usec(self) -> int:
        return self._service.now_usec()

    def set_clock(self, now_usec: int) -> None:
        self._runtime.clock.freeze(now_usec)

    def advance_clock(self, seconds: float) -> None:
        self._runtime.clock.advance(seconds)

    def use_system_clock(self) -> None:
        self._runtime.clock.unfreeze()

    def client_clock(self) -> Callable[[], int] | None:
        return self._runtime.clock.now_usec

    def reset(self) -> None:
        self._service.reset()

    def queues(self) -> list[QueueView]:
        configs = sorted(self._service.config().queues.values(), key=lambda q: q.name)
        with _sdk_deadline(FaultCall.STATS):  # statistics faults apply, as over HTTP
            stats = self._service.stats([q.name for q in configs])
        return [QueueView.of(c, s) for c, s in zip(configs, stats, strict=True)]

    def tasks(self, queue: str) -> list[StoredTask]:
        return paging.all_tasks(self._service, queue)

    def flush_queue(self, queue: str) -> None:
        self._service.flush_queue(queue)

    def forget_task(self, queue: str, name: str) -> bool:
        return self._service.forget_task(queue, name)

    def fail_next(self, rule: FaultRule) -> None:
        arm_fault(self._service, self._runtime.faults, rule)

    def fault_report(self) -> FaultReport:
        return self._runtime.faults.report()

    def clear_faults(self) -> None:
        self._runtime.faults.clear()
