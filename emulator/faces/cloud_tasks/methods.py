"""One function per Cloud Tasks RPC, over :class:`QueueService` only, for every version.

Each function takes the version's :class:`~.versions.Dialect`, the service and the parsed
request message (protobuf), and returns the response message. Both transports (gRPC and
REST) call them through :data:`METHODS`; they never see HTTP or gRPC. Errors are raised as
``TaskQueueError`` (the service's) or ``CloudTasksError`` (bad input, RPCs the emulator does
not serve) and translated by :mod:`.errors`.

What is served: CreateTask, GetTask, ListTasks, DeleteTask, RunTask (FAILED_PRECONDITION:
tasks are stored, never dispatched), GetQueue, ListQueues, PurgeQueue, PauseQueue and
ResumeQueue in every version; LeaseTasks, AcknowledgeTask, RenewLease and CancelLease in
v2beta2; BatchCreateTasks and BatchDeleteTasks (complete operations) in v2beta3 and v2, as
Google's own SDK forwards push tasks with them. :data:`UNSERVED` names the rest of Google's
RPCs, answered UNIMPLEMENTED with why.
"""

from __future__ import annotations

import base64
import binascii
import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, TypeVar

import grpc
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import DecodeError
from google.rpc import status_pb2

from emulator.core import validation
from emulator.core.service import QueueService
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import MAX_PEEK_PAGE_SIZE, MAX_TASKS_PER_ADD
from emulator.domain.model import AddRequest, AddResult, PeekFilter, StoredTask
from emulator.domain.queue_config import QueueMode
from emulator.faces.cloud_tasks import codec
from emulator.faces.cloud_tasks.errors import CloudTasksError, invalid, status_of
from emulator.faces.cloud_tasks.filters import lease_filter, queue_filter
from emulator.faces.cloud_tasks.names import (
    QueueName,
    TaskName,
    parse_location,
    parse_queue,
    parse_task,
)
from emulator.faces.cloud_tasks.versions import Dialect, Pb

#: Google's largest ListQueues page (also the size of a page when none is asked for).
MAX_QUEUES_PAGE_SIZE: Final = 9800
#: The most names one BatchDeleteTasks takes (BatchCreateTasks: MAX_TASKS_PER_ADD, 100).
MAX_TASKS_PER_BATCH_DELETE: Final = 1000
#: ``BatchCreateTasksMetadata.State`` / ``BatchDeleteTasksMetadata.State`` numbers.
_SUCCEEDED: Final = 2
_PARTIALLY_SUCCEEDED: Final = 5
Handler = Callable[[Dialect, QueueService, Pb], Pb]
T = TypeVar("T")


#: The response of the batch RPCs: a long-running operation, returned complete.
OPERATION: Final = "google.longrunning.Operation"


@dataclass(frozen=True)
class Method:
    """One RPC: its request and response message names and its handler."""

    name: str
    request: str
    #: A message of the version; None: ``google.protobuf.Empty``; or :data:`OPERATION`.
    response: str | None
    handler: Handler
    leases: bool = False  #: v2beta2 only
    batches: bool = False  #: v2beta3 and v2 only

    def response_type(self, d: Dialect) -> type[Pb]:
        """The protobuf class of the response."""
        if self.response is None:
            return empty_pb2.Empty
        if self.response == OPERATION:
            operation: type[Pb] = operations_pb2.Operation
            return operation
        return d.message(self.response)


# -- tasks -----------------------------------------------------------------------------------------


def create_task(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """CreateTask: one add; a taken or tombstoned name is ALREADY_EXISTS."""
    parent = parse_queue(request.parent, "parent")
    return _create(d, service, parent, request, service.now_usec())


def _create(d: Dialect, service: QueueService, parent: QueueName, request: Pb, now: int) -> Pb:
    if not request.HasField("task"):
        raise invalid("task", "is required")
    view = codec.view_of(request.response_view, "response_view")
    created = codec.add_request(d, request.task, parent, now)
    [result] = service.add(parent.queue, [created.request])
    if result.code is not ErrorCode.OK:
        raise _add_failure(result, created)
    return codec.task_message(d, parent, _added(parent.queue, created.request, result), view)


#: The request field each per-task problem of an add is about.
_ADD_PROBLEM_FIELDS: Final = {
    ErrorCode.INVALID_ETA: "task.schedule_time",
    ErrorCode.INVALID_TASK_NAME: "task.name",
    ErrorCode.INVALID_TAG: "task.pull_message.tag",
    ErrorCode.INVALID_DISPATCH_DEADLINE: "task.dispatch_deadline",
    ErrorCode.TASK_TOO_LARGE: "task",
}


def _add_failure(result: AddResult, created: codec.CreatedTask) -> Exception:
    if result.code in (ErrorCode.TASK_ALREADY_EXISTS, ErrorCode.TOMBSTONED_TASK):
        why = "exists" if result.code is ErrorCode.TASK_ALREADY_EXISTS else "was deleted"
        return CloudTasksError(
            grpc.StatusCode.ALREADY_EXISTS,
            f"task {result.name!r} {why}; a task name cannot be reused",
            result.code,
        )
    if result.code is ErrorCode.INVALID_URL:
        field = created.url_field
    else:
        field = _ADD_PROBLEM_FIELDS.get(result.code, "task")
    return TaskQueueError(result.code, f"{field}: {result.message}")


def _added(queue: str, request: AddRequest, result: AddResult) -> StoredTask:
    """The task CreateTask stored, from what was asked and what the add answered."""
    return StoredTask(
        queue=queue,
        name=result.name or "",
        eta_usec=result.eta_usec or 0,
        payload=request.payload,
        tag=request.tag or None,
        created_usec=result.created_usec or 0,
        mode=QueueMode.PULL if request.mode is None else request.mode,
        method=request.method,
        url=request.url,
        headers=request.headers,
        retry_parameters=request.retry_parameters,
        dispatch_deadline_usec=request.dispatch_deadline_usec,
        http_url=request.http_url,
    )


def get_task(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """GetTask: no side effects; a deleted task is NOT_FOUND."""
    name = parse_task(request.name, "name")
    view = codec.view_of(request.response_view, "response_view")
    task = service.get_task(name.parent.queue, name.task)
    return codec.task_message(d, name.parent, task, view)


def list_tasks(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """ListTasks: (schedule_time, name) order, pages of ``page_size`` (0: 1000)."""
    parent = parse_queue(request.parent, "parent")
    view = codec.view_of(request.response_view, "response_view")
    size = _page_size(request.page_size, MAX_PEEK_PAGE_SIZE)
    where = PeekFilter(limit=size, page_token=request.page_token or None)
    page = service.peek(parent.queue, where)
    return d.new(
        "ListTasksResponse",
        tasks=[codec.task_message(d, parent, task, view) for task in page.tasks],
        next_page_token=page.next_page_token or "",
    )


def delete_task(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """DeleteTask: no lease needed; the name stays tombstoned; unknown or deleted: NOT_FOUND."""
    name = parse_task(request.name, "name")
    [code] = service.delete(name.parent.queue, [name.task])
    if code is ErrorCode.UNKNOWN_TASK:
        raise TaskQueueError(code, f"task {name.task!r} does not exist")
    if code is not ErrorCode.OK:
        raise TaskQueueError(code, f"task {name.task!r} has been deleted")
    return empty_pb2.Empty()


def run_task(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """RunTask: FAILED_PRECONDITION (after NOT_FOUND for a task that does not exist)."""
    name = parse_task(request.name, "name")
    task = service.get_task(name.parent.queue, name.task)
    if task.mode is QueueMode.PULL:
        why = "RunTask cannot be called on a pull task; lease it with LeaseTasks"
    else:
        why = (
            "the emulator stores push tasks and never dispatches them; read them with "
            "GetTask or ListTasks and delete them when your test has run them"
        )
    raise CloudTasksError(grpc.StatusCode.FAILED_PRECONDITION, why)


# -- batches (v2beta3, v2) -------------------------------------------------------------------------


def batch_create_tasks(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """BatchCreateTasks: each request is created on its own (a refusal of one does not stop
    the others) and listed in the metadata's ``failed_requests`` by index; the operation is
    returned complete. An unknown queue fails the whole call."""
    parent = parse_queue(request.parent, "parent")
    service.queue(parent.queue)
    _check_batch_size("requests", len(request.requests), MAX_TASKS_PER_ADD)
    now = service.now_usec()
    tasks: list[Pb] = []
    failed: dict[int, status_pb2.Status] = {}
    for index, item in enumerate(request.requests):
        try:
            if item.parent and item.parent != request.parent:
                raise invalid(f"requests[{index}].parent", "must be the batch's parent")
            tasks.append(_create(d, service, parent, item, now))
        except (TaskQueueError, CloudTasksError) as exc:
            failed[index] = _status(exc)
    response = d.new("BatchCreateTasksResponse", tasks=tasks)
    return _operation(d, parent, "BatchCreateTasksMetadata", failed, now, response)


def batch_delete_tasks(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """BatchDeleteTasks: like DeleteTask for each name; unknown or deleted names (and names of
    another queue) are listed in ``failed_requests``; the operation is returned complete."""
    parent = parse_queue(request.parent, "parent")
    service.queue(parent.queue)
    _check_batch_size("names", len(request.names), MAX_TASKS_PER_BATCH_DELETE)
    failed: dict[int, status_pb2.Status] = {}
    wanted: dict[int, str] = {}
    for index, text in enumerate(request.names):
        try:
            name = parse_task(text, f"names[{index}]")
            if name.parent != parent:
                raise invalid(f"names[{index}]", f"{text!r} is not a task of {parent}")
            wanted[index] = name.task
        except CloudTasksError as exc:
            failed[index] = _status(exc)
    codes = service.delete(parent.queue, list(wanted.values())) if wanted else []
    for (index, task), code in zip(wanted.items(), codes, strict=True):
        if code is not ErrorCode.OK:
            why = "does not exist" if code is ErrorCode.UNKNOWN_TASK else "has been deleted"
            failed[index] = _status(TaskQueueError(code, f"task {task!r} {why}"))
    now = service.now_usec()
    return _operation(d, parent, "BatchDeleteTasksMetadata", failed, now, empty_pb2.Empty())


def _check_batch_size(field: str, size: int, largest: int) -> None:
    if not 1 <= size <= largest:
        raise invalid(field, f"must hold 1 to {largest} items, not {size}")


def _status(exc: Exception) -> status_pb2.Status:
    status, message = status_of(exc)
    return status_pb2.Status(code=status.value[0], message=message)


def _operation(
    d: Dialect,
    parent: QueueName,
    metadata_type: str,
    failed: dict[int, status_pb2.Status],
    now: int,
    response: Pb,
) -> Pb:
    """A complete long-running operation: ``done``, its metadata (SUCCEEDED, or
    PARTIALLY_SUCCEEDED with ``failed_requests``) and its response."""
    state = _PARTIALLY_SUCCEEDED if failed else _SUCCEEDED
    metadata = d.new(metadata_type, state=state)
    metadata.start_time.CopyFrom(codec.timestamp(now))
    metadata.end_time.CopyFrom(codec.timestamp(now))
    for index, status in failed.items():
        metadata.failed_requests[index].CopyFrom(status)
    location = f"projects/{parent.project}/locations/{parent.location}"
    operation = operations_pb2.Operation(name=f"{location}/operations/{uuid.uuid4().hex}")
    operation.done = True
    operation.metadata.Pack(metadata)
    operation.response.Pack(response)
    return operation


# -- leases (v2beta2) ------------------------------------------------------------------------------


def lease_tasks(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """LeaseTasks: each task's schedule_time becomes now + lease_duration (whole seconds)."""
    parent = parse_queue(request.parent, "parent")
    seconds = _lease_seconds(request)
    max_tasks = _checked("max_tasks", validation.check_max_tasks, request.max_tasks)
    view = codec.view_of(request.response_view, "response_view")
    wanted = lease_filter(request.filter)
    leased = service.lease(
        parent.queue, seconds, max_tasks, group_by_tag=wanted.group_by_tag, tag=wanted.tag
    )
    tasks = [codec.leased_as_stored(parent.queue, task) for task in leased]
    return d.new(
        "LeaseTasksResponse", tasks=[codec.task_message(d, parent, t, view) for t in tasks]
    )


def acknowledge_task(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """AcknowledgeTask: delete the task if ``schedule_time`` is its current lease token."""
    name = parse_task(request.name, "name")
    token = _lease_token(request)
    _holding(name, lambda: service.acknowledge(name.parent.queue, name.task, token))
    return empty_pb2.Empty()


def renew_lease(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """RenewLease: schedule_time := now + lease_duration; the answer carries the new token."""
    name = parse_task(request.name, "name")
    token = _lease_token(request)
    seconds = _lease_seconds(request)
    view = codec.view_of(request.response_view, "response_view")
    task = _holding(
        name, lambda: service.change_lease(name.parent.queue, name.task, token, seconds)
    )
    return codec.task_message(d, name.parent, task, view)


def cancel_lease(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """CancelLease: schedule_time := now, so the task can be leased at once."""
    name = parse_task(request.name, "name")
    token = _lease_token(request)
    view = codec.view_of(request.response_view, "response_view")
    task = _holding(name, lambda: service.change_lease(name.parent.queue, name.task, token, 0))
    return codec.task_message(d, name.parent, task, view)


def _lease_token(request: Pb) -> int:
    if not request.HasField("schedule_time"):
        raise invalid("schedule_time", "is required: the task's schedule_time is its lease token")
    return codec.usec_of(request.schedule_time, "schedule_time")


def _lease_seconds(request: Pb) -> float:
    if not request.HasField("lease_duration"):
        raise invalid("lease_duration", "is required")
    seconds = codec.lease_seconds_of(request.lease_duration, "lease_duration")
    return _checked("lease_duration", validation.check_lease_seconds, seconds)


def _checked(field: str, check: Callable[[object], T], value: object) -> T:
    """The core's range check of ``value``, its message prefixed with the request field."""
    try:
        return check(value)
    except TaskQueueError as exc:
        raise invalid(field, exc.message) from None


def _holding(name: TaskName, change: Callable[[], T]) -> T:
    """Run a change that needs the caller's lease; a refusal says what the token is."""
    try:
        return change()
    except TaskQueueError as exc:
        if exc.code is not ErrorCode.TASK_LEASE_EXPIRED:
            raise
        raise TaskQueueError(
            exc.code,
            f"{exc.message}: schedule_time must be the lease token the last LeaseTasks or "
            f"RenewLease returned for {name}, before it passes",
        ) from None


# -- queues ----------------------------------------------------------------------------------------


def get_queue(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """GetQueue: stats only when ``read_mask`` names them (v2beta2, v2beta3)."""
    name = parse_queue(request.name, "name")
    return _queue(d, service, name, _read_mask(d, request))


def list_queues(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """ListQueues: every queue of queue.yaml under any project and location, by name."""
    location = parse_location(request.parent, "parent")
    keep = queue_filter(d, request.filter)
    size = _page_size(request.page_size, MAX_QUEUES_PAGE_SIZE)
    after = _queue_after(request.page_token)
    mask = _read_mask(d, request)
    configs = [q for q in service.config().queues.values() if after is None or q.name > after]
    stats = service.stats([q.name for q in configs])
    queues = [
        (config.name, codec.queue_message(d, location.queue(config.name), config, s, mask))
        for config, s in zip(configs, stats, strict=True)
    ]
    kept = [(queue_id, message) for queue_id, message in queues if keep(message)]
    page = kept[:size]
    token = _queue_token(page[-1][0]) if len(kept) > size else ""
    return d.new("ListQueuesResponse", queues=[m for _, m in page], next_page_token=token)


def purge_queue(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """PurgeQueue: delete every task; their names stay tombstoned."""
    name = parse_queue(request.name, "name")
    service.purge(name.queue)
    return _queue(d, service, name, None)


def pause_queue(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """PauseQueue: LeaseTasks and lease changes fail with FAILED_PRECONDITION until resumed."""
    name = parse_queue(request.name, "name")
    service.pause(name.queue)
    return _queue(d, service, name, None)


def resume_queue(d: Dialect, service: QueueService, request: Pb) -> Pb:
    """ResumeQueue: a no-op on a running queue."""
    name = parse_queue(request.name, "name")
    service.resume(name.queue)
    return _queue(d, service, name, None)


def _queue(d: Dialect, service: QueueService, name: QueueName, mask: FieldMask | None) -> Pb:
    config = service.queue(name.queue)
    [stats] = service.stats([config.name])
    return codec.queue_message(d, name, config, stats, mask)


def _read_mask(d: Dialect, request: Pb) -> FieldMask | None:
    if not d.queue_stats or not request.HasField("read_mask"):
        return None
    return codec.check_queue_mask(d, request.read_mask, "read_mask")


def _queue_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def _queue_after(token: str) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, binascii.Error):
        raise invalid("page_token", "is not a token this server gave") from None


def _page_size(value: int, largest: int) -> int:
    if value < 0 or value > largest:
        raise invalid("page_size", f"must be between 0 and {largest}, not {value}")
    return value or largest


# -- the tables ------------------------------------------------------------------------------------


_ALL: Final[Sequence[Method]] = (
    Method("CreateTask", "CreateTaskRequest", "Task", create_task),
    Method("GetTask", "GetTaskRequest", "Task", get_task),
    Method("ListTasks", "ListTasksRequest", "ListTasksResponse", list_tasks),
    Method("DeleteTask", "DeleteTaskRequest", None, delete_task),
    Method("RunTask", "RunTaskRequest", "Task", run_task),
    Method("LeaseTasks", "LeaseTasksRequest", "LeaseTasksResponse", lease_tasks, leases=True),
    Method("AcknowledgeTask", "AcknowledgeTaskRequest", None, acknowledge_task, leases=True),
    Method("RenewLease", "RenewLeaseRequest", "Task", renew_lease, leases=True),
    Method("CancelLease", "CancelLeaseRequest", "Task", cancel_lease, leases=True),
    Method(
        "BatchCreateTasks", "BatchCreateTasksRequest", OPERATION, batch_create_tasks, batches=True
    ),
    Method(
        "BatchDeleteTasks", "BatchDeleteTasksRequest", OPERATION, batch_delete_tasks, batches=True
    ),
    Method("GetQueue", "GetQueueRequest", "Queue", get_queue),
    Method("ListQueues", "ListQueuesRequest", "ListQueuesResponse", list_queues),
    Method("PurgeQueue", "PurgeQueueRequest", "Queue", purge_queue),
    Method("PauseQueue", "PauseQueueRequest", "Queue", pause_queue),
    Method("ResumeQueue", "ResumeQueueRequest", "Queue", resume_queue),
)

_YAML_QUEUES = "queues come from queue.yaml (--queue-yaml), which is re-read when it changes"
#: Google's RPCs the emulator answers UNIMPLEMENTED, with the reason.
UNSERVED: Final[Mapping[str, str]] = MappingProxyType(
    {
        "CreateQueue": _YAML_QUEUES,
        "UpdateQueue": _YAML_QUEUES,
        "DeleteQueue": _YAML_QUEUES,
        "UploadQueueYaml": _YAML_QUEUES,
        "GetIamPolicy": "the emulator has no IAM",
        "SetIamPolicy": "the emulator has no IAM",
        "TestIamPermissions": "the emulator has no IAM",
        "GetOperation": "batch operations are returned complete (done) and not kept",
        "GetCmekConfig": "the emulator has no CMEK configuration",
        "UpdateCmekConfig": "the emulator has no CMEK configuration",
        "ListLocations": "any location name serves the same queues",
        "GetLocation": "any location name serves the same queues",
    }
)


@functools.cache
def methods_of(d: Dialect) -> Mapping[str, Method]:
    """The RPCs ``d`` serves, by name."""
    return MappingProxyType(
        {m.name: m for m in _ALL if (d.leases or not m.leases) and (d.batches or not m.batches)}
    )


def parse_request(d: Dialect, method: Method, data: bytes) -> Pb:
    """The request message of ``method`` from its binary form.

    Raises:
        CloudTasksError: INVALID_ARGUMENT if ``data`` is not a valid message.
    """
    message = d.new(method.request)
    try:
        message.ParseFromString(data)
    except DecodeError as exc:  # also what upb raises for messages nested too deeply
        raise invalid(method.request, f"cannot be decoded: {exc}") from None
    return message
