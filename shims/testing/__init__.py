"""Test helpers that work the same with the embedded and the remote backend.

Clock and state::

    from shims import testing
    testing.reset()                  # drop tasks, tombstones, auto-name counter
    testing.set_clock(1_767_225_600_000_000)   # freeze the emulator's clock (microseconds)
    testing.advance_clock(30)        # move it forward (seconds)
    testing.use_system_clock()       # back to real time

The shim's client side (``Task`` ETAs and the "ETA too far in the future" check) follows
the emulator's clock after these calls. With a remote emulator, clock and reset need a
server started with ``--enable-test-control`` (otherwise :class:`ControlUnavailableError`).

Faults and the rate limit, for back-off tests (docs/TESTING.md)::

    testing.fail_next("lease", "TransientError", count=2)     # the next 2 leases fail
    testing.fail_next("delete", "DeadlineExceededError", queue="pull-q")
    testing.pending_faults(); testing.injected_faults(); testing.clear_faults()
    testing.rate_limited_leases("pull-q")   # leases --lease-rate-limit answered with none

``reset()`` clears the faults too. With a remote emulator they need test control as well.

Testbed-style helpers, with the return shapes of ``TaskQueueServiceStub`` (see
:mod:`shims.testing.views`), as functions or as methods of :data:`stub`, so a test written as
``self.taskqueue_stub = self.testbed.get_stub('taskqueue')`` can use
``self.taskqueue_stub = shims.testing.stub`` instead:
``get_filtered_tasks(url=None, name=None, queue_names=None)``, ``GetTasks(queue_name)``,
``GetQueues()``, ``FlushQueue(queue_name)``, ``DeleteTask(queue_name, task_name)``.

Deliberate differences from testbed: ``eta_delta`` is relative to the emulator's clock; task
dicts carry no ``add_request_pb``; ``acl`` is a list of user emails (the stub returns a
protocol buffer); ``get_filtered_tasks`` does not size-check the Task objects it builds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.faults import FaultRule, fault_call, fault_count, fault_error
from shims import backends
from shims import clock as client_clock
from shims.backends.protocol import ControlledBackend, ControlUnavailableError
from shims.taskqueue._constants import DEFAULT_RPC_DEADLINE
from shims.taskqueue._task import Task
from shims.testing import views

#: ``HTTP_HOST`` as Google's testbed sets it (``testbed.DEFAULT_ENVIRONMENT``): the pytest
#: plugin and the bench give it to code under test that has none, as testbed does; without
#: it Google's SDK logs a warning for every ``Task`` it builds.
TESTBED_HTTP_HOST = "testbed.example.com"

__all__ = [
    "TESTBED_HTTP_HOST",
    "ControlUnavailableError",
    "DeleteTask",
    "FlushQueue",
    "GetQueues",
    "GetTasks",
    "TaskQueueStub",
    "advance_clock",
    "backend",
    "clear_faults",
    "fail_next",
    "get_filtered_tasks",
    "injected_faults",
    "now_usec",
    "pending_faults",
    "rate_limited_leases",
    "reset",
    "set_clock",
    "stub",
    "use_system_clock",
]


def backend() -> ControlledBackend:
    """The backend the shim talks to right now."""
    return backends.current()


# -- clock and state ---------------------------------------------------------------------------


def reset() -> None:
    """Drop every task, tombstone, lease record and pause, and restart auto-names at task1.

    The queue configuration and the clock are kept.
    """
    backend().reset()


def set_clock(now_usec: int) -> None:
    """Freeze the emulator's clock at ``now_usec`` (integer microseconds since the epoch)."""
    current = backend()
    current.set_clock(now_usec)
    client_clock.set_source(current.client_clock())


def advance_clock(seconds: float) -> None:
    """Move the emulator's clock forward by ``seconds`` (frozen or not)."""
    current = backend()
    current.advance_clock(seconds)
    client_clock.set_source(current.client_clock())


def use_system_clock() -> None:
    """Return the emulator (and the shim's client side) to real time."""
    backend().use_system_clock()
    client_clock.set_source(None)


def now_usec() -> int:
    """The emulator's current time in integer microseconds."""
    return backend().now_usec()


# -- faults and the rate limit (back-off tests) -------------------------------------------------


def fail_next(
    call: str, error: str | type[BaseException], count: int = 1, queue: str | None = None
) -> None:
    """Make the next ``count`` calls ``call`` (on ``queue``, or any queue) fail with ``error``.

    ``call``: ``add``, ``lease`` (``lease_tasks`` and ``lease_tasks_by_tag``),
    ``modify_lease``, ``delete``, ``purge`` or ``stats`` (``QueueStatistics.fetch`` and every
    other statistics read, e.g. ``GetQueues``). ``error``: ``TransientError``,
    ``DeadlineExceededError``, ``DEADLINE_EXCEEDED`` or any ``TaskQueueServiceError`` code name
    (``TRANSIENT_ERROR``, ``INTERNAL_ERROR``, ...), or one of the exception classes
    ``TransientError`` / ``DeadlineExceededError`` (the shim's or Google's). The call raises
    exactly what the SDK raises (``taskqueue.TransientError``,
    ``apiproxy_errors.DeadlineExceededError``, ...) and changes nothing; a fault on ``add``
    fails the whole batch. Faults are used in the order they were armed.

    Raises:
        ValueError: an unknown ``call`` or ``error``, or a ``count`` outside 1..1000000.
        shims.taskqueue.UnknownQueueError: ``queue`` is not configured (and
            ``InvalidQueueNameError`` for a name that cannot be one).
        ControlUnavailableError: a remote emulator without test control.
    """
    rule = FaultRule(fault_call(call), _error_name(error), fault_count(count), queue)
    with _as_sdk_errors():
        backend().fail_next(rule)


@contextlib.contextmanager
def _as_sdk_errors() -> Iterator[None]:
    """Raise the backend's :class:`TaskQueueError` as the SDK's exception for its code."""
    try:
        yield
    except TaskQueueError as exc:
        from shims.taskqueue._errors import _TranslateError

        raise _TranslateError(exc.code, exc.message) from None


def _error_name(error: str | type[BaseException]) -> str:
    """``error`` as an error name: a name as it is, a class by its name."""
    return fault_error(error.__name__ if isinstance(error, type) else error)


def pending_faults() -> list[FaultRule]:
    """The faults armed with :func:`fail_next` and not used up, in order (``count`` is how
    many calls each will still fail)."""
    return list(backend().fault_report().pending)


def injected_faults() -> dict[tuple[str, str], int]:
    """How many calls failed, by ``(call, error)`` (e.g. ``("lease", "TRANSIENT_ERROR")``),
    since the last :func:`reset` or :func:`clear_faults`; random ones included."""
    report = backend().fault_report()
    return {(i.call.value, i.error): i.count for i in report.injected}


def clear_faults() -> None:
    """Drop the pending faults and the injected counts (random faults stay on)."""
    backend().clear_faults()


def rate_limited_leases(queue_name: str) -> int:
    """Lease calls on ``queue_name`` that the lease rate limit answered with no tasks in the
    last minute (0 without a limit). Reads statistics, so a pending ``stats`` fault fires."""
    with _as_sdk_errors():
        [stats] = backend().stats([queue_name], deadline=DEFAULT_RPC_DEADLINE)
    return stats.rate_limited_leases_last_minute or 0


# -- testbed-compatible helpers ------------------------------------------------------------------


class TaskQueueStub:
    """The helper methods of testbed's ``TaskQueueServiceStub``, over the current backend."""

    def GetQueues(self) -> list[dict[str, Any]]:
        """Every queue (``default`` included) as a dict, sorted by name."""
        current = backend()
        now = current.now_usec()
        return [views.queue_dict(view, now) for view in current.queues()]

    def GetTasks(self, queue_name: str) -> list[dict[str, Any]]:
        """The queue's tasks in ETA order as dicts.

        Raises:
            KeyError: the queue is not configured.
        """
        current = backend()
        try:
            tasks = current.tasks(queue_name)
        except TaskQueueError as exc:
            if exc.code in (ErrorCode.UNKNOWN_QUEUE, ErrorCode.INVALID_QUEUE_NAME):
                raise KeyError(queue_name) from None
            raise
        now = current.now_usec()
        return [views.task_dict(task, now) for task in tasks]

    def get_filtered_tasks(
        self, url: str | None = None, name: str | None = None, queue_names: Any = None
    ) -> list[Task]:
        """Tasks (as ``Task`` objects, method ``'POST'`` for pull tasks, ETA in whole seconds)
        of every queue or of ``queue_names`` (a name or a list; unknown names are skipped),
        optionally only those with exactly this ``url`` or ``name``."""
        known = [queue["name"] for queue in self.GetQueues()]
        if isinstance(queue_names, str):
            queue_names = [queue_names]
        wanted = known if queue_names is None else [q for q in queue_names if q in known]
        return [
            views.task_object(task)
            for queue_name in wanted
            for task in self.GetTasks(queue_name)
            if (url is None or task["url"] == url) and (name is None or task["name"] == name)
        ]

    def FlushQueue(self, queue_name: str) -> None:
        """Remove all tasks of a queue and forget their names (no tombstones)."""
        self._ignoring_unknown_queue(lambda current: current.flush_queue(queue_name))

    def DeleteTask(self, queue_name: str, task_name: str) -> None:
        """Delete one task without leaving a tombstone."""
        self._ignoring_unknown_queue(lambda current: current.forget_task(queue_name, task_name))

    @staticmethod
    def _ignoring_unknown_queue(action: Any) -> None:
        try:
            action(backend())
        except TaskQueueError as exc:
            if exc.code not in (ErrorCode.UNKNOWN_QUEUE, ErrorCode.INVALID_QUEUE_NAME):
                raise


#: The helpers as one object (a stand-in for ``testbed.get_stub('taskqueue')``).
stub = TaskQueueStub()
get_filtered_tasks = stub.get_filtered_tasks
GetTasks = stub.GetTasks
GetQueues = stub.GetQueues
FlushQueue = stub.FlushQueue
DeleteTask = stub.DeleteTask
