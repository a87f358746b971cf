"""The one error table of the Cloud Tasks faces, used by both transports.

Every failure ends as a gRPC status code and a message: a domain error through
:data:`GRPC_STATUS` (one row per ``ErrorCode``), a face's own refusal (bad input, an RPC the
emulator does not serve) as a :class:`CloudTasksError`. gRPC aborts with the code; REST
answers :data:`HTTP_STATUS` with Google's body ``{"error": {"code": 404, "message": ...,
"status": "NOT_FOUND"}}``, which google-api-core raises as the matching exception class.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import grpc

from emulator.domain.errors import CallDeadlineExceeded, ErrorCode, TaskQueueError

_log = logging.getLogger("emulator.cloud_tasks")
_S = grpc.StatusCode

#: Each domain error's gRPC status. A stale or expired lease token (TASK_LEASE_EXPIRED) is
#: FAILED_PRECONDITION: the task exists, the caller no longer holds it (Google does not
#: document its code). A name used by a deleted task is NOT_FOUND when read or leased and
#: ALREADY_EXISTS when created again (CreateTask raises that itself, see methods.py).
GRPC_STATUS: Final[Mapping[ErrorCode, grpc.StatusCode]] = MappingProxyType(
    {
        ErrorCode.OK: _S.OK,
        ErrorCode.UNKNOWN_QUEUE: _S.NOT_FOUND,
        ErrorCode.TRANSIENT_ERROR: _S.UNAVAILABLE,
        ErrorCode.INTERNAL_ERROR: _S.INTERNAL,
        ErrorCode.TASK_TOO_LARGE: _S.INVALID_ARGUMENT,
        ErrorCode.INVALID_TASK_NAME: _S.INVALID_ARGUMENT,
        ErrorCode.INVALID_QUEUE_NAME: _S.INVALID_ARGUMENT,
        ErrorCode.INVALID_URL: _S.INVALID_ARGUMENT,
        ErrorCode.INVALID_QUEUE_RATE: _S.INVALID_ARGUMENT,
        ErrorCode.PERMISSION_DENIED: _S.PERMISSION_DENIED,
        ErrorCode.TASK_ALREADY_EXISTS: _S.ALREADY_EXISTS,
        ErrorCode.TOMBSTONED_TASK: _S.NOT_FOUND,
        ErrorCode.INVALID_ETA: _S.INVALID_ARGUMENT,
        ErrorCode.INVALID_REQUEST: _S.INVALID_ARGUMENT,
        ErrorCode.UNKNOWN_TASK: _S.NOT_FOUND,
        ErrorCode.TOMBSTONED_QUEUE: _S.NOT_FOUND,
        ErrorCode.DUPLICATE_TASK_NAME: _S.ALREADY_EXISTS,
        ErrorCode.SKIPPED: _S.ABORTED,
        ErrorCode.TOO_MANY_TASKS: _S.INVALID_ARGUMENT,
        ErrorCode.INVALID_PAYLOAD: _S.INVALID_ARGUMENT,
        ErrorCode.INVALID_RETRY_PARAMETERS: _S.INVALID_ARGUMENT,
        ErrorCode.INVALID_QUEUE_MODE: _S.FAILED_PRECONDITION,
        ErrorCode.ACL_LOOKUP_ERROR: _S.PERMISSION_DENIED,
        ErrorCode.TRANSACTIONAL_REQUEST_TOO_LARGE: _S.INVALID_ARGUMENT,
        ErrorCode.INCORRECT_CREATOR_NAME: _S.INVALID_ARGUMENT,
        ErrorCode.TASK_LEASE_EXPIRED: _S.FAILED_PRECONDITION,
        ErrorCode.QUEUE_PAUSED: _S.FAILED_PRECONDITION,
        ErrorCode.INVALID_TAG: _S.INVALID_ARGUMENT,
        ErrorCode.INVALID_LOGGING_CONFIG: _S.INVALID_ARGUMENT,
        ErrorCode.INVALID_DISPATCH_DEADLINE: _S.INVALID_ARGUMENT,
        ErrorCode.DATASTORE_ERROR: _S.INTERNAL,
    }
)

#: The HTTP status of each gRPC code, as Google's REST front end answers (google/rpc/code.proto).
HTTP_STATUS: Final[Mapping[grpc.StatusCode, int]] = MappingProxyType(
    {
        _S.OK: 200,
        _S.CANCELLED: 499,
        _S.UNKNOWN: 500,
        _S.INVALID_ARGUMENT: 400,
        _S.DEADLINE_EXCEEDED: 504,
        _S.NOT_FOUND: 404,
        _S.ALREADY_EXISTS: 409,
        _S.PERMISSION_DENIED: 403,
        _S.UNAUTHENTICATED: 401,
        _S.RESOURCE_EXHAUSTED: 429,
        _S.FAILED_PRECONDITION: 400,
        _S.ABORTED: 409,
        _S.OUT_OF_RANGE: 400,
        _S.UNIMPLEMENTED: 501,
        _S.INTERNAL: 500,
        _S.UNAVAILABLE: 503,
        _S.DATA_LOSS: 500,
    }
)


#: How Cloud Tasks names the App Engine error behind a status in its messages; Google's own
#: SDK (appengine-python-standard 3.1, ``cloudtask.py``) reads it back to raise the legacy
#: exception (TombstonedTaskError rather than TaskAlreadyExistsError, ...).
EXECUTOR_ERROR: Final = "apphosting::ExecutorServiceError::{}"


class CloudTasksError(Exception):
    """A refusal of the Cloud Tasks faces themselves, with its gRPC status, and the legacy
    error it stands for, if any (named in the message as Cloud Tasks does)."""

    def __init__(
        self, status: grpc.StatusCode, message: str, legacy: ErrorCode | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.legacy = legacy


def _with_legacy(message: str, code: ErrorCode | None) -> str:
    return message if code is None else f"{message} ({EXECUTOR_ERROR.format(code.name)})"


def invalid(field: str, problem: str) -> CloudTasksError:
    """INVALID_ARGUMENT about the request field ``field`` (``task.schedule_time``)."""
    return CloudTasksError(_S.INVALID_ARGUMENT, f"{field}: {problem}")


def unimplemented(method: str, why: str) -> CloudTasksError:
    """UNIMPLEMENTED for an RPC of Cloud Tasks that the emulator does not serve."""
    return CloudTasksError(_S.UNIMPLEMENTED, f"{method} is not served by the emulator: {why}")


def status_of(exc: Exception) -> tuple[grpc.StatusCode, str]:
    """The status and message of any exception a method raised; a domain error's message ends
    with its :data:`EXECUTOR_ERROR` name. Anything else than a domain error or a
    :class:`CloudTasksError` is a bug: INTERNAL, logged with its traceback."""
    if isinstance(exc, CloudTasksError):
        return exc.status, _with_legacy(exc.message, exc.legacy)
    if isinstance(exc, CallDeadlineExceeded):  # an injected deadline (docs/TESTING.md)
        return _S.DEADLINE_EXCEEDED, exc.message
    if isinstance(exc, TaskQueueError):
        status = GRPC_STATUS.get(exc.code, _S.UNKNOWN)
        return status, _with_legacy(exc.message or exc.code.name, exc.code)
    _log.error("internal error in a Cloud Tasks method", exc_info=exc)
    return _S.INTERNAL, f"internal error: {type(exc).__name__}"


def rest_error(
    status: grpc.StatusCode, message: str, http: int | None = None
) -> tuple[int, dict[str, object]]:
    """Google's REST error: the HTTP status (``http``, else the table's for ``status``) and
    the body for ``status`` and ``message``."""
    http = http or HTTP_STATUS.get(status, 500)
    return http, {"error": {"code": http, "message": message, "status": status.name}}
