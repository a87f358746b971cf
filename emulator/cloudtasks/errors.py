"""The one table from Cloud Tasks' failures to the domain's errors.

Every call the forwarding service makes is a :class:`Call` (its RPC, the IAM permission it
needs, whether it is about a queue or a task). A failure becomes a ``TaskQueueError`` through
:data:`ERROR_CODES`: one row per gRPC status, with the domain code for a queue call and for a
task call. The message always names the RPC, the resource and where the call went.

Cloud Tasks names the App Engine error behind a status in its messages
(``apphosting::ExecutorServiceError::TOMBSTONED_TASK``; the emulator's faces do the same), and
says "existed too recently" for a name still tombstoned; when a message does, that code wins
over the table's (as Google's own SDK reads them back), so a tombstone is TOMBSTONED_TASK.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import grpc
from google.api_core import exceptions as google_exceptions
from google.auth import exceptions as auth_exceptions

from emulator.cloudtasks.target import CloudTasksTarget
from emulator.domain.errors import CallDeadlineExceeded, ErrorCode, TaskQueueError

_S = grpc.StatusCode
_E = ErrorCode


class Subject(enum.Enum):
    """What a call is about: NOT_FOUND means the queue, or the task."""

    QUEUE = "queue"
    TASK = "task"


@dataclass(frozen=True)
class Call:
    """One Cloud Tasks RPC as the forwarding service makes it."""

    rpc: str
    permission: str
    subject: Subject


#: Every call the service makes, by RPC name (the permissions of Cloud Tasks' IAM roles).
CALLS: Final[Mapping[str, Call]] = MappingProxyType(
    {
        c.rpc: c
        for c in (
            Call("CreateTask", "cloudtasks.tasks.create", Subject.QUEUE),
            Call("LeaseTasks", "cloudtasks.tasks.lease", Subject.QUEUE),
            Call("RenewLease", "cloudtasks.tasks.renewLease", Subject.TASK),
            Call("CancelLease", "cloudtasks.tasks.cancelLease", Subject.TASK),
            Call("AcknowledgeTask", "cloudtasks.tasks.acknowledge", Subject.TASK),
            Call("DeleteTask", "cloudtasks.tasks.delete", Subject.TASK),
            Call("GetTask", "cloudtasks.tasks.fullView", Subject.TASK),
            Call("ListTasks", "cloudtasks.tasks.fullView", Subject.QUEUE),
            Call("GetQueue", "cloudtasks.queues.get", Subject.QUEUE),
            Call("PurgeQueue", "cloudtasks.queues.purge", Subject.QUEUE),
            Call("PauseQueue", "cloudtasks.queues.pause", Subject.QUEUE),
            Call("ResumeQueue", "cloudtasks.queues.resume", Subject.QUEUE),
        )
    }
)

#: Each gRPC status as (the code for a queue call, the code for a task call). FAILED_PRECONDITION
#: on a queue call is a paused (or disabled) queue; on a task call a lease token that is not
#: the task's current one. CANCELLED and ABORTED are worth a retry like UNAVAILABLE.
ERROR_CODES: Final[Mapping[grpc.StatusCode, tuple[ErrorCode, ErrorCode]]] = MappingProxyType(
    {
        _S.NOT_FOUND: (_E.UNKNOWN_QUEUE, _E.UNKNOWN_TASK),
        _S.ALREADY_EXISTS: (_E.TASK_ALREADY_EXISTS, _E.TASK_ALREADY_EXISTS),
        _S.FAILED_PRECONDITION: (_E.QUEUE_PAUSED, _E.TASK_LEASE_EXPIRED),
        _S.RESOURCE_EXHAUSTED: (_E.TRANSIENT_ERROR, _E.TRANSIENT_ERROR),
        _S.UNAVAILABLE: (_E.TRANSIENT_ERROR, _E.TRANSIENT_ERROR),
        _S.CANCELLED: (_E.TRANSIENT_ERROR, _E.TRANSIENT_ERROR),
        _S.ABORTED: (_E.TRANSIENT_ERROR, _E.TRANSIENT_ERROR),
        _S.PERMISSION_DENIED: (_E.PERMISSION_DENIED, _E.PERMISSION_DENIED),
        _S.UNAUTHENTICATED: (_E.PERMISSION_DENIED, _E.PERMISSION_DENIED),
        _S.INVALID_ARGUMENT: (_E.INVALID_REQUEST, _E.INVALID_REQUEST),
        _S.OUT_OF_RANGE: (_E.INVALID_REQUEST, _E.INVALID_REQUEST),
        _S.UNIMPLEMENTED: (_E.INVALID_REQUEST, _E.INVALID_REQUEST),
        _S.INTERNAL: (_E.INTERNAL_ERROR, _E.INTERNAL_ERROR),
        _S.UNKNOWN: (_E.INTERNAL_ERROR, _E.INTERNAL_ERROR),
        _S.DATA_LOSS: (_E.INTERNAL_ERROR, _E.INTERNAL_ERROR),
    }
)

_LEGACY_RE = re.compile(r"apphosting::ExecutorServiceError::([A-Z_]+)")
#: Cloud Tasks' words for a name whose tombstone has not expired.
_TOMBSTONE_WORDS: Final = "existed too recently"
_PAUSE_WORDS: Final = ("paused", "disabled")


def legacy_code(message: str) -> ErrorCode | None:
    """The App Engine error a Cloud Tasks message names, if any."""
    match = _LEGACY_RE.search(message)
    if match is not None and match[1] in ErrorCode.__members__:
        return ErrorCode[match[1]]
    if _TOMBSTONE_WORDS in message:
        return ErrorCode.TOMBSTONED_TASK
    return None


def domain_code(status: grpc.StatusCode, call: Call, message: str) -> ErrorCode:
    """The domain code of a failed ``call``: the legacy error its message names, else the
    table's row for ``status`` (a paused queue named on a task call is QUEUE_PAUSED)."""
    named = legacy_code(message)
    if named is not None:
        return named
    queue_code, task_code = ERROR_CODES.get(status, (_E.INTERNAL_ERROR, _E.INTERNAL_ERROR))
    if status is _S.FAILED_PRECONDITION and any(w in message.lower() for w in _PAUSE_WORDS):
        return _E.QUEUE_PAUSED
    return queue_code if call.subject is Subject.QUEUE else task_code


def _resource(target: CloudTasksTarget, queue: str, task: str | None) -> str:
    return target.queue_path(queue) if task is None else target.task_path(queue, task)


def translate(
    exc: Exception, call: Call, target: CloudTasksTarget, queue: str, task: str | None = None
) -> TaskQueueError:
    """The domain error for ``exc``, raised by ``call`` on ``queue`` (and ``task``).

    DEADLINE_EXCEEDED is a :class:`CallDeadlineExceeded`; a refused permission names the
    project, the queue and the permission; credentials that cannot be found or refreshed are
    PERMISSION_DENIED too. Anything that is no Google error is re-raised by the caller.
    """
    where = f"{call.rpc} {_resource(target, queue, task)} at {target.endpoint or 'Cloud Tasks'}"
    if isinstance(exc, auth_exceptions.GoogleAuthError):
        return TaskQueueError(
            _E.PERMISSION_DENIED,
            f"{where}: no usable credentials for project {target.project!r} ({exc}); run "
            "'gcloud auth application-default login' or set GOOGLE_APPLICATION_CREDENTIALS",
        )
    if isinstance(exc, google_exceptions.RetryError):
        return TaskQueueError(_E.TRANSIENT_ERROR, f"{where}: {exc}")
    if not isinstance(exc, google_exceptions.GoogleAPICallError):
        raise TypeError(f"not a Google API error: {exc!r}")
    status = exc.grpc_status_code or _S.UNKNOWN
    message = str(exc.message)
    if status is _S.DEADLINE_EXCEEDED:
        return CallDeadlineExceeded(f"{where}: no answer in time ({message})")
    code = domain_code(status, call, message)
    if code is _E.PERMISSION_DENIED:
        return TaskQueueError(
            code,
            f"{where}: {status.name}: permission {call.permission} is missing for project "
            f"{target.project!r} on queue {queue!r} ({message})",
        )
    if status is _S.UNAVAILABLE:
        return TaskQueueError(
            code, f"{where}: {target.endpoint or 'Cloud Tasks'} is unavailable ({message})"
        )
    return TaskQueueError(code, f"{where}: {status.name}: {message}")


def is_google_error(exc: BaseException) -> bool:
    """Whether :func:`translate` handles ``exc``."""
    return isinstance(
        exc,
        google_exceptions.GoogleAPICallError
        | google_exceptions.RetryError
        | auth_exceptions.GoogleAuthError,
    )
