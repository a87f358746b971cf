"""The console's one error table: what each service error means to a person, and its status.

A failed page (an unknown queue, a deleted task, a bad page token) renders the error page
with the table's status; a failed action (a lease that changed, a paused queue) goes back to
the page it came from with the same words as a flash message. Never a traceback, never a 500
for anything a user can cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from emulator.domain.errors import ErrorCode, TaskQueueError


@dataclass(frozen=True)
class ErrorView:
    """How an error code is shown: the HTTP status of its error page and a short title."""

    status: int
    title: str


#: Every code a service may raise → status and title.
ERRORS: Final[dict[ErrorCode, ErrorView]] = {
    ErrorCode.UNKNOWN_QUEUE: ErrorView(404, "No such queue"),
    ErrorCode.TRANSIENT_ERROR: ErrorView(503, "The backend is busy; try again"),
    ErrorCode.INTERNAL_ERROR: ErrorView(500, "The backend failed"),
    ErrorCode.TASK_TOO_LARGE: ErrorView(413, "Task too large"),
    ErrorCode.INVALID_TASK_NAME: ErrorView(400, "Invalid task name"),
    ErrorCode.INVALID_QUEUE_NAME: ErrorView(400, "Invalid queue name"),
    ErrorCode.INVALID_URL: ErrorView(400, "Invalid URL"),
    ErrorCode.INVALID_QUEUE_RATE: ErrorView(400, "Invalid queue rate"),
    ErrorCode.PERMISSION_DENIED: ErrorView(403, "Permission denied"),
    ErrorCode.TASK_ALREADY_EXISTS: ErrorView(409, "A task with this name exists"),
    ErrorCode.TOMBSTONED_TASK: ErrorView(410, "The task has been deleted"),
    ErrorCode.INVALID_ETA: ErrorView(400, "Invalid ETA"),
    ErrorCode.INVALID_REQUEST: ErrorView(400, "Invalid request"),
    ErrorCode.UNKNOWN_TASK: ErrorView(404, "No such task"),
    ErrorCode.TOMBSTONED_QUEUE: ErrorView(410, "The queue has been deleted"),
    ErrorCode.DUPLICATE_TASK_NAME: ErrorView(400, "Duplicate task name"),
    ErrorCode.SKIPPED: ErrorView(400, "Skipped"),
    ErrorCode.TOO_MANY_TASKS: ErrorView(400, "Too many tasks"),
    ErrorCode.INVALID_PAYLOAD: ErrorView(400, "Invalid payload"),
    ErrorCode.INVALID_RETRY_PARAMETERS: ErrorView(400, "Invalid retry parameters"),
    ErrorCode.INVALID_QUEUE_MODE: ErrorView(400, "Not possible on this type of queue"),
    ErrorCode.ACL_LOOKUP_ERROR: ErrorView(403, "ACL lookup failed"),
    ErrorCode.TRANSACTIONAL_REQUEST_TOO_LARGE: ErrorView(413, "Request too large"),
    ErrorCode.INCORRECT_CREATOR_NAME: ErrorView(400, "Incorrect creator name"),
    ErrorCode.TASK_LEASE_EXPIRED: ErrorView(409, "The lease has changed or ended"),
    ErrorCode.QUEUE_PAUSED: ErrorView(409, "The queue is paused"),
    ErrorCode.INVALID_TAG: ErrorView(400, "Invalid tag"),
    ErrorCode.INVALID_LOGGING_CONFIG: ErrorView(400, "Invalid logging configuration"),
    ErrorCode.INVALID_DISPATCH_DEADLINE: ErrorView(400, "Invalid dispatch deadline"),
    ErrorCode.DATASTORE_ERROR: ErrorView(503, "Datastore error"),
}
_UNKNOWN = ErrorView(500, "Unexpected error")


def view_of(code: ErrorCode) -> ErrorView:
    """The table's entry for ``code``."""
    return ERRORS.get(code, _UNKNOWN)


def describe(code: ErrorCode, message: str = "") -> str:
    """``Title: message (CODE)``, the words shown for an error."""
    title = view_of(code).title
    return f"{title}: {message} ({code.name})" if message else f"{title} ({code.name})"


def describe_error(error: TaskQueueError) -> str:
    """:func:`describe` for a raised error."""
    return describe(error.code, error.message)
