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

from typing import Any

from emulator.domain.errors import ErrorCode, TaskQueueError
from shims import backends
from shims import clock as client_clock
from shims.backends.protocol import ControlledBackend, ControlUnavailableError
from shims.taskqueue._task import Task
from shims.testing import views

__all__ = [
    "ControlUnavailableError",
    "DeleteTask",
    "FlushQueue",
    "GetQueues",
    "GetTasks",
    "TaskQueueStub",
    "advance_clock",
    "backend",
    "get_filtered_tasks",
    "now_usec",
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
