"""The exception tree of ``google.appengine.api.taskqueue`` and the one code → class table.

The classes and :data:`_ERROR_MAPPING` follow Google's ``appengine-python-standard``
``taskqueue.py`` (Apache-2.0, Copyright 2007 Google LLC); see legacy-taskqueue-api.md §2.
"""

from __future__ import annotations

from typing import Final

from emulator.domain.errors import ErrorCode


class Error(Exception):
    """Base class for exceptions in this module."""


class UnknownQueueError(Error):
    """The queue specified is unknown."""


class TransientError(Error):
    """A transient error occurred while accessing the queue. Try again later."""


class InternalError(Error):
    """An internal error occurred while accessing this queue."""


class InvalidTaskError(Error):
    """The parameters, headers, or method of the task is invalid."""


class InvalidTaskNameError(InvalidTaskError):
    """The name of the task is invalid."""


class TaskTooLargeError(InvalidTaskError):
    """The task is too large with its headers and payload."""


class TaskAlreadyExistsError(InvalidTaskError):
    """The task already exists. It has not yet run."""


class TombstonedTaskError(InvalidTaskError):
    """The task has been tombstoned: a task with the same name existed in the queue."""


class InvalidUrlError(InvalidTaskError):
    """The relative URL used for the task is invalid."""


class InvalidEtaError(InvalidTaskError):
    """The task's ETA is invalid."""


class BadTaskStateError(Error):
    """The task is in the wrong state for the requested operation."""


class InvalidQueueError(Error):
    """The queue's configuration is invalid."""


class InvalidQueueNameError(InvalidQueueError):
    """The name of the queue is invalid."""


class _RelativeUrlError(Error):
    """The relative URL supplied is invalid."""


class PermissionDeniedError(Error):
    """The requested operation is not allowed for this app."""


class DuplicateTaskNameError(Error):
    """Two tasks in one batch have the same name."""


class TooManyTasksError(Error):
    """Too many tasks were present in a single function call."""


class DatastoreError(Error):
    """There was a datastore error while accessing the queue."""


class BadTransactionStateError(Error):
    """The state of the current transaction does not permit this operation."""


class InvalidTaskRetryOptionsError(Error):
    """The task retry configuration is invalid."""


class InvalidLeaseTimeError(Error):
    """The lease time period is invalid."""


class InvalidMaxTasksError(Error):
    """The requested maximum number of tasks in `lease_tasks` is invalid."""


class InvalidDeadlineError(Error):
    """The requested deadline in `lease_tasks` is invalid."""


class InvalidQueueModeError(Error):
    """Invokes a pull queue operation on a push queue or vice versa."""


class TransactionalRequestTooLargeError(TaskTooLargeError):
    """The total size of this transaction (including tasks) was too large."""


class TaskLeaseExpiredError(Error):
    """The task lease could not be renewed because it had already expired."""


class QueuePausedError(Error):
    """The queue is paused and cannot process modify task lease requests."""


class InvalidTagError(Error):
    """The specified tag is invalid."""


class InvalidDispatchDeadlineError(Error):
    """The requested dispatch deadline for a `push task` is invalid."""


BadTransactionState = BadTransactionStateError

#: The one table from a ``TaskQueueServiceError`` code to the exception it raises. Codes not
#: listed (INVALID_PAYLOAD, INVALID_RETRY_PARAMETERS, ...) raise a plain :class:`Error`.
_ERROR_MAPPING: Final[dict[int, type[Error]]] = {
    ErrorCode.UNKNOWN_QUEUE: UnknownQueueError,
    ErrorCode.TRANSIENT_ERROR: TransientError,
    ErrorCode.INTERNAL_ERROR: InternalError,
    ErrorCode.TASK_TOO_LARGE: TaskTooLargeError,
    ErrorCode.INVALID_TASK_NAME: InvalidTaskNameError,
    ErrorCode.INVALID_QUEUE_NAME: InvalidQueueNameError,
    ErrorCode.INVALID_URL: InvalidUrlError,
    ErrorCode.INVALID_QUEUE_RATE: InvalidQueueError,
    ErrorCode.PERMISSION_DENIED: PermissionDeniedError,
    ErrorCode.TASK_ALREADY_EXISTS: TaskAlreadyExistsError,
    ErrorCode.TOMBSTONED_TASK: TombstonedTaskError,
    ErrorCode.INVALID_ETA: InvalidEtaError,
    ErrorCode.INVALID_REQUEST: Error,
    ErrorCode.UNKNOWN_TASK: Error,
    ErrorCode.TOMBSTONED_QUEUE: Error,
    ErrorCode.DUPLICATE_TASK_NAME: DuplicateTaskNameError,
    ErrorCode.INVALID_QUEUE_MODE: InvalidQueueModeError,
    ErrorCode.TOO_MANY_TASKS: TooManyTasksError,
    ErrorCode.TRANSACTIONAL_REQUEST_TOO_LARGE: TransactionalRequestTooLargeError,
    ErrorCode.TASK_LEASE_EXPIRED: TaskLeaseExpiredError,
    ErrorCode.QUEUE_PAUSED: QueuePausedError,
    ErrorCode.INVALID_TAG: InvalidTagError,
}


def _TranslateError(error: int, detail: str = "") -> Error:
    """The exception for a ``TaskQueueServiceError`` code (not raised, returned).

    Codes from ``DATASTORE_ERROR`` up give a :class:`DatastoreError` (the SDK builds a
    subclass of the matching datastore exception too; the emulator has no datastore).
    """
    if error >= ErrorCode.DATASTORE_ERROR:
        return DatastoreError(
            f"taskqueue.DatastoreError caused by: datastore error "
            f"{error - ErrorCode.DATASTORE_ERROR} {detail}"
        )
    exception_class = _ERROR_MAPPING.get(error)
    if exception_class is not None:
        return exception_class(detail)
    return Error(f"Application error {error}: {detail}")
