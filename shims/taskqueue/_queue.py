"""``Queue``: add, lease, modify leases, delete, purge and statistics on one queue.

Client-side checks, their order and messages, and the result semantics (BulkAdd's
``was_enqueued`` per task with one exception raised after all tasks are processed; Delete
ignoring UNKNOWN_TASK and TOMBSTONED_TASK) follow ``taskqueue.Queue`` of Google's
``appengine-python-standard`` (Apache-2.0, Copyright 2007 Google LLC); see
legacy-taskqueue-api.md §1.6, §2.2, §4.

Differences: an auto-named task always gets its chosen name back (Google's stub often loses
it); every added task's ETA is the one the emulator stored; ``transactional=True`` raises
``BadTransactionStateError`` because the emulator has no datastore transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from emulator.domain.errors import ErrorCode
from emulator.domain.model import AddRequest, AddResult, LeasedTask
from shims.taskqueue import _constants as c
from shims.taskqueue._calls import make_async_call, make_sync_call
from shims.taskqueue._errors import (
    BadTaskStateError,
    BadTransactionStateError,
    DuplicateTaskNameError,
    Error,
    InvalidLeaseTimeError,
    InvalidMaxTasksError,
    InvalidQueueNameError,
    InvalidTaskError,
    TaskAlreadyExistsError,
    TombstonedTaskError,
    TooManyTasksError,
    _TranslateError,
)
from shims.taskqueue._requests import add_request, text
from shims.taskqueue._rpc import UserRPC, _ValidateDeadline, check_translated, create_rpc
from shims.taskqueue._task import Task

if TYPE_CHECKING:
    from shims.taskqueue._stats import QueueStatistics

_IGNORED_DELETE_CODES = (ErrorCode.UNKNOWN_TASK, ErrorCode.TOMBSTONED_TASK)


def _as_list(task_or_tasks: Any) -> tuple[list[Any], bool]:
    """``(tasks, multiple)``: an iterable gives a list, anything else a one-element list."""
    try:
        return list(iter(task_or_tasks)), True
    except TypeError:
        return [task_or_tasks], False


class Queue:
    """Represents a queue (see Google's ``taskqueue.Queue``)."""

    def __init__(self, name: str = c._DEFAULT_QUEUE) -> None:
        """Initializer.

        Raises:
          InvalidQueueNameError: ``name`` does not match ``^[a-zA-Z0-9-]{1,100}$``.
        """
        if not c._QUEUE_NAME_RE.match(name):
            raise InvalidQueueNameError(
                f'Queue name does not match pattern "{c._QUEUE_NAME_PATTERN}"; found {name}'
            )
        self.__name = name
        self.__url = f"{c._DEFAULT_QUEUE_PATH}/{name}"
        self._app: str | None = None

    @property
    def name(self) -> str:
        """Returns the name of this queue."""
        return self.__name

    # -- purge and delete ----------------------------------------------------------------------

    def purge(self) -> None:
        """Removes all of the tasks in this queue (their names stay tombstoned)."""
        make_sync_call(lambda backend, deadline: backend.purge(self.__name, deadline=deadline))

    def delete_tasks_by_name_async(self, task_name: Any, rpc: UserRPC | None = None) -> UserRPC:
        """Asynchronously deletes a task (a str) or tasks (an iterable of str) by name."""
        if isinstance(task_name, str):
            return self.delete_tasks_async(Task(name=task_name), rpc)
        return self.delete_tasks_async([Task(name=name) for name in task_name], rpc)

    def delete_tasks_by_name(self, task_name: Any) -> Any:
        """Deletes tasks by name; returns a Task (for a str) or a list of Tasks."""
        return self.delete_tasks_by_name_async(task_name).get_result()

    def delete_tasks_async(self, task: Any, rpc: UserRPC | None = None) -> UserRPC:
        """Asynchronously deletes a task or list of tasks in this queue.

        Raises:
          BadTaskStateError: a task has no name or was already deleted.
          DuplicateTaskNameError: a name is repeated in the request.
        """
        tasks, multiple = _as_list(task)
        return self.__delete_tasks(tasks, multiple, rpc)

    def delete_tasks(self, task: Any) -> Any:
        """Deletes a task or list of tasks; each gets ``was_deleted`` (False if unknown)."""
        return self.delete_tasks_async(task).get_result()

    def __delete_tasks(self, tasks: list[Task], multiple: bool, rpc: UserRPC | None) -> UserRPC:
        names: list[str] = []
        seen: set[str] = set()
        for task in tasks:
            name = task.name
            if not name:
                raise BadTaskStateError("A task name must be specified for a task")
            if task.was_deleted:
                raise BadTaskStateError(f"The task {name} has already been deleted")
            if name in seen:
                raise DuplicateTaskNameError(
                    f"The task name {name!r} is used more than once in the request"
                )
            seen.add(name)
            names.append(text(name))

        def result_hook(rpc: UserRPC) -> Any:
            codes: list[ErrorCode] = check_translated(rpc)
            assert len(codes) == len(tasks), f"expected {len(tasks)} results, got {len(codes)}"
            exception: Error | None = None
            for each, code in zip(tasks, codes, strict=True):
                if code is ErrorCode.OK or code in _IGNORED_DELETE_CODES:
                    each._mark_deleted(code is ErrorCode.OK)
                elif exception is None:
                    exception = _TranslateError(code)
            if exception is not None:
                raise exception
            return tasks if multiple else tasks[0]

        return make_async_call(
            "Delete",
            lambda backend, deadline: (
                backend.delete(self.__name, names, deadline=deadline) if names else []
            ),
            result_hook,
            rpc,
        )

    # -- lease -----------------------------------------------------------------------------------

    @staticmethod
    def _ValidateLeaseSeconds(lease_seconds: Any) -> float:
        if not isinstance(lease_seconds, float | int):
            raise TypeError("lease_seconds must be a float or an integer")
        seconds = float(lease_seconds)
        if seconds < 0.0:
            raise InvalidLeaseTimeError("lease_seconds must not be negative")
        if seconds > c.MAX_LEASE_SECONDS:
            raise InvalidLeaseTimeError(
                f"Lease time must not be greater than {c.MAX_LEASE_SECONDS} seconds"
            )
        return seconds

    @staticmethod
    def _ValidateMaxTasks(max_tasks: Any) -> None:
        if not isinstance(max_tasks, int):
            raise TypeError("max_tasks must be an integer")
        if max_tasks <= 0:
            raise InvalidMaxTasksError("Negative or zero tasks requested")
        if max_tasks > c.MAX_TASKS_PER_LEASE:
            raise InvalidMaxTasksError(f"Only {c.MAX_TASKS_PER_LEASE} tasks can be leased at once")

    def __lease(
        self,
        lease_seconds: Any,
        max_tasks: Any,
        group_by_tag: bool,
        tag: Any,
        rpc: UserRPC | None,
    ) -> UserRPC:
        seconds = self._ValidateLeaseSeconds(lease_seconds)
        self._ValidateMaxTasks(max_tasks)
        wanted_tag = None if tag is None else text(tag)
        queue_name = self.__name

        def result_hook(rpc: UserRPC) -> list[Task]:
            leased: list[LeasedTask] = check_translated(rpc)
            return Task._from_leased(queue_name, leased)

        return make_async_call(
            "QueryAndOwnTasks",
            lambda backend, deadline: backend.lease(
                queue_name,
                seconds,
                max_tasks,
                group_by_tag=group_by_tag,
                tag=wanted_tag,
                deadline=deadline,
            ),
            result_hook,
            rpc,
        )

    def lease_tasks_async(
        self, lease_seconds: Any, max_tasks: Any, rpc: UserRPC | None = None
    ) -> UserRPC:
        """Asynchronously leases up to ``max_tasks`` tasks for ``lease_seconds``.

        Raises:
          TypeError, InvalidLeaseTimeError, InvalidMaxTasksError: invalid arguments.
        """
        return self.__lease(lease_seconds, max_tasks, False, None, rpc)

    def lease_tasks(self, lease_seconds: Any, max_tasks: Any, deadline: Any = 10) -> list[Task]:
        """Leases up to ``max_tasks`` ready tasks, oldest ETA first.

        Raises:
          InvalidQueueModeError: this is not a pull queue.
          Error-subclass on application errors.
        """
        _ValidateDeadline(deadline)
        rpc = create_rpc(deadline)
        self.lease_tasks_async(lease_seconds, max_tasks, rpc)
        result: list[Task] = rpc.get_result()
        return result

    def lease_tasks_by_tag_async(
        self, lease_seconds: Any, max_tasks: Any, tag: Any = None, rpc: UserRPC | None = None
    ) -> UserRPC:
        """Asynchronously leases tasks sharing ``tag`` (None: the oldest task's tag)."""
        return self.__lease(lease_seconds, max_tasks, True, tag, rpc)

    def lease_tasks_by_tag(
        self, lease_seconds: Any, max_tasks: Any, tag: Any = None, deadline: Any = 10
    ) -> list[Task]:
        """Leases tasks with the same tag (``tag``, or the oldest ready task's if None/'')."""
        _ValidateDeadline(deadline)
        rpc = create_rpc(deadline)
        self.lease_tasks_by_tag_async(lease_seconds, max_tasks, tag, rpc)
        result: list[Task] = rpc.get_result()
        return result

    def modify_task_lease(self, task: Task, lease_seconds: Any) -> None:
        """Extends (or with 0, releases) the lease held by ``task``; updates ``task.eta``.

        Raises:
          TypeError, InvalidLeaseTimeError: invalid ``lease_seconds``.
          TaskLeaseExpiredError: the lease expired or was taken by someone else.
          Error-subclass on application errors.
        """
        seconds = self._ValidateLeaseSeconds(lease_seconds)
        name, token = text(task.name), task._eta_usec
        new_eta: int = make_sync_call(
            lambda backend, deadline: backend.modify_lease(
                self.__name, name, token, seconds, deadline=deadline
            )
        )
        task._set_eta_usec(new_eta)

    # -- add -------------------------------------------------------------------------------------

    def add_async(self, task: Any, transactional: bool = False, rpc: UserRPC | None = None) -> Any:
        """Asynchronously adds a task or list of tasks into this queue.

        Raises:
          BadTaskStateError: a task was already added.
          BadTransactionStateError: ``transactional`` is True.
          DuplicateTaskNameError: a name is repeated in the request.
          InvalidTaskError: push and pull tasks are mixed.
          TooManyTasksError: more than ``MAX_TASKS_PER_ADD`` tasks.
        """
        tasks, multiple = _as_list(task)
        pull = [t.method == "PULL" for t in tasks]
        if any(pull) and not all(pull):
            raise InvalidTaskError("You cannot add both push and pull tasks in a single call.")
        if len(tasks) > c.MAX_TASKS_PER_ADD:
            raise TooManyTasksError(
                f"No more than {c.MAX_TASKS_PER_ADD} tasks can be added in a single call"
            )
        return self.__add_tasks(tasks, transactional, multiple, rpc)

    def add(self, task: Any, transactional: bool = False) -> Any:
        """Adds a task or list of tasks; returns what was given.

        If some tasks of a batch fail, the others are still added: check ``was_enqueued``.
        The first error that is not TaskAlreadyExists/Tombstoned (else the last of those) is
        raised after every task has been processed.
        """
        if task:
            return self.add_async(task, transactional).get_result()
        return []

    def __add_tasks(
        self, tasks: list[Task], transactional: bool, multiple: bool, rpc: UserRPC | None
    ) -> UserRPC:
        names: set[str] = set()
        requests: list[AddRequest] = []
        for task in tasks:
            if task.name:
                if task.name in names:
                    raise DuplicateTaskNameError(
                        f"The task name {task.name!r} is used more than once in the request"
                    )
                names.add(task.name)
            if task.was_enqueued:
                raise BadTaskStateError("The task has already been enqueued.")
            requests.append(self.__add_request(task, transactional))

        def result_hook(rpc: UserRPC) -> Any:
            results: list[AddResult] = check_translated(rpc)
            assert len(results) == len(tasks), f"expected {len(tasks)} results, got {len(results)}"
            self.__apply_add_results(tasks, results)
            return tasks if multiple else tasks[0]

        return make_async_call(
            "BulkAdd",
            lambda backend, deadline: backend.add(self.__name, requests, deadline=deadline),
            result_hook,
            rpc,
        )

    def __apply_add_results(self, tasks: Sequence[Task], results: Sequence[AddResult]) -> None:
        exception: Error | None = None
        for task, result in zip(tasks, results, strict=True):
            if result.code is ErrorCode.OK:
                task._mark_added(self.__name, result.name, result.eta_usec)
            elif result.code is ErrorCode.SKIPPED:
                continue
            elif exception is None or isinstance(
                exception, TaskAlreadyExistsError | TombstonedTaskError
            ):
                exception = _TranslateError(result.code, result.message)
        if exception is not None:
            raise exception

    def __add_request(self, task: Task, transactional: bool) -> AddRequest:
        if transactional:
            raise BadTransactionStateError(
                "Transactional adds are not allowed outside of transactions "
                "(the task queue emulator has no datastore transactions)"
            )
        return add_request(task, self.__url)

    # -- statistics --------------------------------------------------------------------------

    def fetch_statistics_async(self, rpc: UserRPC | None = None) -> UserRPC:
        """Asynchronously gets the current details about this queue."""
        from shims.taskqueue._stats import QueueStatistics

        return QueueStatistics.fetch_async(self, rpc)

    def fetch_statistics(self, deadline: Any = 10) -> QueueStatistics:
        """Gets the current details about this queue as a ``QueueStatistics``."""
        _ValidateDeadline(deadline)
        rpc = create_rpc(deadline)
        self.fetch_statistics_async(rpc)
        result: QueueStatistics = rpc.get_result()
        return result

    def __repr__(self) -> str:
        attrs = ["name", "_app"] if self._app else ["name"]
        properties = ", ".join(f"{attr}={getattr(self, attr)!r}" for attr in attrs)
        return f"Queue<{properties}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Queue):
            return NotImplemented
        return self.name == other.name and self._app == other._app

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Queue):
            return NotImplemented
        return self.name != other.name or self._app != other._app

    __hash__ = None  # type: ignore[assignment]
