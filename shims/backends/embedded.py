"""The embedded backend: the emulator's core in this process (no server, no HTTP).

Wraps a :class:`~emulator.wiring.Runtime` (``LocalQueueService`` over SQLite, with a
controllable clock, inside the production behaviours it was built with). Calls run inline in
the caller's thread; deadlines never expire because nothing can hang. Errors are the
service's own :class:`~emulator.domain.errors.TaskQueueError`, except a call the service
failed with a deadline (an injected ``DEADLINE_EXCEEDED``), which raises
``apiproxy_errors.DeadlineExceededError`` as the SDK does (the RPCs are
:class:`~shims.backends.service.ServiceBackend`'s).
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.core.faults import arm_fault
from emulator.domain.faults import FaultReport, FaultRule
from emulator.domain.production import ProductionOptions
from emulator.wiring import build_runtime
from shims.backends.service import ServiceBackend


class EmbeddedBackend(ServiceBackend):
    """A :class:`shims.backends.protocol.ControlledBackend` over an in-process runtime."""

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
    def description(self) -> str:
        return "embedded"

    # -- test control --------------------------------------------------------------------------

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
