"""The Cloud Tasks backend: legacy code straight against Cloud Tasks, no emulator server.

Wraps a :class:`~emulator.cloudtasks.service.CloudTasksQueueService` (in this process, as
:mod:`~shims.backends.embedded` wraps the local service) built by
:func:`emulator.wiring.build_forwarding_runtime`: the queue.yaml gives the queues, Cloud
Tasks holds the tasks. Errors are the service's ``TaskQueueError``; a call that runs out of
time raises ``apiproxy_errors.DeadlineExceededError`` as the SDK does. Each Cloud Tasks call
is bounded by the target's timeout (20 s by default), not by the SDK call's ``deadline``
(one legacy call may be several Cloud Tasks calls: a batch add is one CreateTask per task).

Test control: the clock, the contents (reset, flush, forget) and fault injection belong to
Cloud Tasks, which cannot be controlled; those methods raise
:class:`~shims.backends.protocol.ControlUnavailableError` saying so. Reading (``now_usec``,
``queues``, ``tasks``) works.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from emulator.cloudtasks.target import CloudTasksTarget
from emulator.core import paging
from emulator.domain.clock import ControllableClock
from emulator.domain.errors import CallDeadlineExceeded, ErrorCode
from emulator.domain.faults import FaultCall, FaultReport, FaultRule
from emulator.domain.model import AddRequest, AddResult, LeasedTask, QueueStats, StoredTask
from emulator.wiring import Runtime, build_forwarding_runtime
from shims.backends.protocol import ControlUnavailableError, QueueView, deadline_exceeded


@contextmanager
def _sdk_deadline(call: FaultCall) -> Iterator[None]:
    try:
        yield
    except CallDeadlineExceeded as late:
        raise deadline_exceeded(call.rpc_name, late.message) from None


class CloudTasksBackend:
    """A :class:`shims.backends.protocol.ControlledBackend` forwarding to Cloud Tasks."""

    def __init__(self, runtime: Runtime) -> None:
        if runtime.forwarding is None:
            raise ValueError("the runtime does not forward to Cloud Tasks")
        self._runtime = runtime
        self._service = runtime.service
        self._target: CloudTasksTarget = runtime.forwarding

    @classmethod
    def build(
        cls,
        queue_yaml: str | None,
        target: CloudTasksTarget,
        clock: ControllableClock | None = None,
    ) -> CloudTasksBackend:
        """Load ``queue_yaml`` and connect to ``target`` (``clock``: what "now" reads for
        countdowns; default the system's).

        Raises:
            emulator.config.ConfigError: the queue.yaml cannot be used.
            TaskQueueError: PERMISSION_DENIED: no endpoint and no credentials.
        """
        return cls(build_forwarding_runtime(queue_yaml, target, clock=clock))

    @property
    def runtime(self) -> Runtime:
        """The runtime this backend drives."""
        return self._runtime

    @property
    def description(self) -> str:
        return self._target.description

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

    # -- test control: reading works, controlling does not -------------------------------------

    def _refuse(self, what: str) -> ControlUnavailableError:
        return ControlUnavailableError(
            f"{what} is not available with the Cloud Tasks backend ({self.description}): "
            "Cloud Tasks' clock and contents cannot be controlled; use the embedded backend "
            "or an emulator started with --enable-test-control for such tests"
        )

    def now_usec(self) -> int:
        return self._service.now_usec()

    def set_clock(self, now_usec: int) -> None:
        raise self._refuse("setting the clock")

    def advance_clock(self, seconds: float) -> None:
        raise self._refuse("advancing the clock")

    def use_system_clock(self) -> None:
        raise self._refuse("choosing the clock")

    def client_clock(self) -> Callable[[], int] | None:
        return self._service.now_usec

    def reset(self) -> None:
        raise self._refuse("reset")

    def queues(self) -> list[QueueView]:
        configs = sorted(self._service.config().queues.values(), key=lambda q: q.name)
        stats = self._service.stats([q.name for q in configs])
        return [QueueView.of(c, s) for c, s in zip(configs, stats, strict=True)]

    def tasks(self, queue: str) -> list[StoredTask]:
        return paging.all_tasks(self._service, queue)

    def flush_queue(self, queue: str) -> None:
        raise self._refuse("flush_queue")

    def forget_task(self, queue: str, name: str) -> bool:
        raise self._refuse("forget_task")

    def fail_next(self, rule: FaultRule) -> None:
        raise self._refuse("fail_next")

    def fault_report(self) -> FaultReport:
        raise self._refuse("fault_report")

    def clear_faults(self) -> None:
        raise self._refuse("clear_faults")
