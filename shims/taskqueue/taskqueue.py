"""Drop-in ``google.appengine.api.taskqueue.taskqueue``: the Task Queue API for pull queues.

Every public name of Google's module (``appengine-python-standard`` 3.1.0; Apache-2.0,
Copyright 2007 Google LLC) with the same signatures, defaults, client-side validation,
messages and exceptions; the work is done by the task-queue emulator, embedded in this
process or reached over HTTP at ``TASKQUEUE_EMULATOR_HOST`` (see :mod:`shims.backends`).
Deliberate differences are listed in ``docs/COMPATIBILITY.md``.
"""

from __future__ import annotations

from typing import Any

from shims.taskqueue._constants import (
    _DEFAULT_QUEUE,
    _DEFAULT_QUEUE_PATH,
    _MAX_COUNTDOWN_SECONDS,
    _QUEUE_NAME_PATTERN,
    _QUEUE_NAME_RE,
    _TASK_NAME_PATTERN,
    _TASK_NAME_RE,
    _UNKNOWN_APP_VERSION,
    _UTC,
    DEFAULT_APP_VERSION,
    MAX_DISPATCH_DEADLINE,
    MAX_LEASE_SECONDS,
    MAX_PULL_TASK_SIZE_BYTES,
    MAX_PUSH_TASK_SIZE_BYTES,
    MAX_QUEUE_NAME_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TASK_NAME_LENGTH,
    MAX_TASK_SIZE_BYTES,
    MAX_TASKS_PER_ADD,
    MAX_TASKS_PER_LEASE,
    MAX_TRANSACTIONAL_REQUEST_SIZE_BYTES,
    MAX_URL_LENGTH,
    MIN_DISPATCH_DEADLINE,
    _UTCTimeZone,
)
from shims.taskqueue._errors import (
    _ERROR_MAPPING,
    BadTaskStateError,
    BadTransactionState,
    BadTransactionStateError,
    DatastoreError,
    DuplicateTaskNameError,
    Error,
    InternalError,
    InvalidDeadlineError,
    InvalidDispatchDeadlineError,
    InvalidEtaError,
    InvalidLeaseTimeError,
    InvalidMaxTasksError,
    InvalidQueueError,
    InvalidQueueModeError,
    InvalidQueueNameError,
    InvalidTagError,
    InvalidTaskError,
    InvalidTaskNameError,
    InvalidTaskRetryOptionsError,
    InvalidUrlError,
    PermissionDeniedError,
    QueuePausedError,
    TaskAlreadyExistsError,
    TaskLeaseExpiredError,
    TaskTooLargeError,
    TombstonedTaskError,
    TooManyTasksError,
    TransactionalRequestTooLargeError,
    TransientError,
    UnknownQueueError,
    _RelativeUrlError,
)
from shims.taskqueue._errors import _TranslateError as _TranslateError
from shims.taskqueue._queue import Queue
from shims.taskqueue._retry import TaskRetryOptions
from shims.taskqueue._rpc import UserRPC as UserRPC
from shims.taskqueue._rpc import _ValidateDeadline, create_rpc
from shims.taskqueue._stats import QueueStatistics
from shims.taskqueue._task import Task

__all__ = [
    "DEFAULT_APP_VERSION",
    "MAX_DISPATCH_DEADLINE",
    "MAX_LEASE_SECONDS",
    "MAX_PULL_TASK_SIZE_BYTES",
    "MAX_PUSH_TASK_SIZE_BYTES",
    "MAX_QUEUE_NAME_LENGTH",
    "MAX_TAG_LENGTH",
    "MAX_TASKS_PER_ADD",
    "MAX_TASKS_PER_LEASE",
    "MAX_TASK_NAME_LENGTH",
    "MAX_TASK_SIZE_BYTES",
    "MAX_TRANSACTIONAL_REQUEST_SIZE_BYTES",
    "MAX_URL_LENGTH",
    "MIN_DISPATCH_DEADLINE",
    "BadTaskStateError",
    "BadTransactionState",
    "BadTransactionStateError",
    "DatastoreError",
    "DuplicateTaskNameError",
    "Error",
    "InternalError",
    "InvalidDeadlineError",
    "InvalidDispatchDeadlineError",
    "InvalidEtaError",
    "InvalidLeaseTimeError",
    "InvalidMaxTasksError",
    "InvalidQueueError",
    "InvalidQueueModeError",
    "InvalidQueueNameError",
    "InvalidTagError",
    "InvalidTaskError",
    "InvalidTaskNameError",
    "InvalidTaskRetryOptionsError",
    "InvalidUrlError",
    "PermissionDeniedError",
    "Queue",
    "QueuePausedError",
    "QueueStatistics",
    "Task",
    "TaskAlreadyExistsError",
    "TaskLeaseExpiredError",
    "TaskRetryOptions",
    "TaskTooLargeError",
    "TombstonedTaskError",
    "TooManyTasksError",
    "TransactionalRequestTooLargeError",
    "TransientError",
    "UnknownQueueError",
    "add",
    "create_rpc",
]

# Private names of Google's module that some code and tests reach for.
_PRIVATE = (
    _DEFAULT_QUEUE,
    _DEFAULT_QUEUE_PATH,
    _ERROR_MAPPING,
    _MAX_COUNTDOWN_SECONDS,
    _QUEUE_NAME_PATTERN,
    _QUEUE_NAME_RE,
    _RelativeUrlError,
    _TASK_NAME_PATTERN,
    _TASK_NAME_RE,
    _TranslateError,
    _UNKNOWN_APP_VERSION,
    _UTC,
    _UTCTimeZone,
    _ValidateDeadline,
    UserRPC,
)


def add(*args: Any, **kwargs: Any) -> Task:
    """Create a task and add it to a queue: ``add(payload, queue_name='default', **task_kwargs)``.

    ``transactional`` and ``queue_name`` are taken from ``kwargs``; everything else goes to
    :class:`Task`. Returns the added task.
    """
    transactional = kwargs.pop("transactional", False)
    queue_name = kwargs.pop("queue_name", _DEFAULT_QUEUE)
    task: Task = Task(*args, **kwargs).add(queue_name=queue_name, transactional=transactional)
    return task


def _publish_here() -> None:
    """Report this module as the home of the public classes (tracebacks, pickling)."""
    for value in list(globals().values()):
        if isinstance(value, type) and value.__module__.startswith("shims.taskqueue._"):
            value.__module__ = __name__


_publish_here()
