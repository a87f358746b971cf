"""The one error vocabulary: ``TaskQueueServiceError`` codes and the domain exception.

Every failure the core reports is a :class:`TaskQueueError` carrying an :class:`ErrorCode`
whose names and numbers are those of App Engine's ``TaskQueueServiceError.ErrorCode``. Each
face (JSON, ``/rpc_http``, the shim) translates codes once, through its own table.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.IntEnum):
    """``TaskQueueServiceError.ErrorCode`` with the wire numbers of the SDK's proto."""

    OK = 0
    UNKNOWN_QUEUE = 1
    TRANSIENT_ERROR = 2
    INTERNAL_ERROR = 3
    TASK_TOO_LARGE = 4
    INVALID_TASK_NAME = 5
    INVALID_QUEUE_NAME = 6
    INVALID_URL = 7
    INVALID_QUEUE_RATE = 8
    PERMISSION_DENIED = 9
    TASK_ALREADY_EXISTS = 10
    TOMBSTONED_TASK = 11
    INVALID_ETA = 12
    INVALID_REQUEST = 13
    UNKNOWN_TASK = 14
    TOMBSTONED_QUEUE = 15
    DUPLICATE_TASK_NAME = 16
    SKIPPED = 17
    TOO_MANY_TASKS = 18
    INVALID_PAYLOAD = 19
    INVALID_RETRY_PARAMETERS = 20
    INVALID_QUEUE_MODE = 21
    ACL_LOOKUP_ERROR = 22
    TRANSACTIONAL_REQUEST_TOO_LARGE = 23
    INCORRECT_CREATOR_NAME = 24
    TASK_LEASE_EXPIRED = 25
    QUEUE_PAUSED = 26
    INVALID_TAG = 27
    INVALID_LOGGING_CONFIG = 28
    INVALID_DISPATCH_DEADLINE = 29
    DATASTORE_ERROR = 10000


class TaskQueueError(Exception):
    """A domain error: an :class:`ErrorCode` plus a message for humans.

    Raised by the core and by service implementations for whole-operation failures.
    Per-task outcomes of batch operations (add, delete) are returned as codes instead.
    """

    def __init__(self, code: ErrorCode, message: str = "") -> None:
        super().__init__(message or code.name)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"TaskQueueError({self.code.name}, {self.message!r})"


#: The code name faces use for :class:`CallDeadlineExceeded` where they need one (the JSON
#: API's error body). It is no ``TaskQueueServiceError`` code: a deadline is an RPC failure.
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"


class CallDeadlineExceeded(TaskQueueError):
    """The call ran out of time (the SDK raises ``apiproxy_errors.DeadlineExceededError``);
    nothing was changed.

    A deadline is an RPC failure, not a ``TaskQueueServiceError`` code. Its :attr:`code` is
    TRANSIENT_ERROR, which is what a face without a deadline error of its own reports; faces
    that have one check for this class before :class:`TaskQueueError`: the JSON API answers
    504 ``DEADLINE_EXCEEDED``, ``/rpc_http`` an ``rpc_error`` DEADLINE_EXCEEDED, the embedded
    shim raises ``apiproxy_errors.DeadlineExceededError``.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(ErrorCode.TRANSIENT_ERROR, message or "the call ran out of time")

    def __repr__(self) -> str:
        return f"CallDeadlineExceeded({self.message!r})"


class StorageUnavailable(TaskQueueError):
    """The store could not run an operation: its disk is full, its file system turned
    read-only, an I/O error, another process held the write lock too long, ...

    Raised by a store at its boundary (``emulator.store.sqlite``) in place of the storage
    library's own exception. The operation's transaction was rolled back: nothing of it was
    written. Its :attr:`code` is TRANSIENT_ERROR (the shim raises ``TransientError``): the
    same call may succeed once the cause is gone, without a restart.

    Attributes:
        location: the store (a file path or ``:memory:``).
        cause: the reason in words (``"the disk is full"``, ...).
    """

    def __init__(self, location: str, cause: str, detail: str = "") -> None:
        message = f"task storage {location} is unavailable: {cause}"
        if detail:
            message += f" ({detail})"
        super().__init__(ErrorCode.TRANSIENT_ERROR, message + "; nothing was changed")
        self.location = location
        self.cause = cause

    def __repr__(self) -> str:
        return f"StorageUnavailable({self.location!r}, {self.cause!r})"
