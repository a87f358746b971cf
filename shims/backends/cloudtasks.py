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

from collections.abc import Callable

from emulator.cloudtasks.target import CloudTasksTarget
from emulator.domain.clock import ControllableClock
from emulator.domain.faults import FaultReport, FaultRule
from emulator.wiring import Runtime, build_forwarding_runtime
from shims.backends.protocol import ControlUnavailableError
from shims.backends.service import ServiceBackend


class CloudTasksBackend(ServiceBackend):
    """A :class:`shims.backends.protocol.ControlledBackend` forwarding to Cloud Tasks."""

    def __init__(self, runtime: Runtime) -> None:
        if runtime.forwarding is None:
            raise ValueError("the runtime does not forward to Cloud Tasks")
        super().__init__(runtime)
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
    def description(self) -> str:
        return self._target.description

    # -- test control: reading works (ServiceBackend), controlling does not ----------------------

    def _refuse(self, what: str) -> ControlUnavailableError:
        return ControlUnavailableError(
            f"{what} is not available with the Cloud Tasks backend ({self.description}): "
            "Cloud Tasks' clock and contents cannot be controlled; use the embedded backend "
            "or an emulator started with --enable-test-control for such tests"
        )

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
