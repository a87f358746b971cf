"""The ``taskqueue`` methods served at ``/rpc_http``: one handler per RPC, and the dispatcher.

Each handler reads its request through :mod:`emulator.faces.rpc_http.codec`, calls the service and
builds the response message, mirroring Google's dev stub (legacy-taskqueue-api.md §4) where
the wire shape matters: BulkAdd reports queue-level problems per task, Delete too, and
FetchQueueStats answers ``0 / -1`` for an unknown queue. Whole-call failures are raised as
:class:`TaskQueueError` and become ``application_error`` in :func:`call`. The dispatcher also
routes ``logservice.Flush`` (Go apps' log lines) to :mod:`emulator.faces.rpc_http.logservice`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Generic, TypeVar

from google.protobuf.message import Message

from emulator.core import paging
from emulator.core.service import QueueService
from emulator.domain.clock import EtaTranslation
from emulator.domain.errors import CallDeadlineExceeded, ErrorCode, TaskQueueError
from emulator.domain.model import AddResult, StoredTask
from emulator.faces.rpc_http import TASKQUEUE_SERVICE, codec, logservice
from emulator.faces.rpc_http.protos import logservice_wire_pb2 as log_wire
from emulator.faces.rpc_http.protos import remote_api_wire_pb2 as remote
from emulator.faces.rpc_http.protos import taskqueue_wire_pb2 as wire

SERVICE_NAME: Final = TASKQUEUE_SERVICE
#: Errors about the queue itself that BulkAdd and Delete report once per task, as the stub.
QUEUE_LEVEL_CODES: Final = frozenset(
    {ErrorCode.UNKNOWN_QUEUE, ErrorCode.INVALID_QUEUE_NAME, ErrorCode.TOMBSTONED_QUEUE}
)
_log = logging.getLogger("emulator.rpc_http")

Req = TypeVar("Req", bound=Message)


@dataclass(frozen=True)
class RpcMethod(Generic[Req]):
    """A method: the request message it parses and the handler that answers it."""

    request_type: type[Req]
    handler: Callable[[QueueService, Req], Message]


# -- add -------------------------------------------------------------------------------------------


def _add_batch(service: QueueService, adds: Sequence[wire.TaskQueueAddRequest]) -> list[AddResult]:
    """One result per request (all to one queue), shaped as the stub's: a queue-level problem
    is repeated for every task, a cron timetable is PERMISSION_DENIED (the others SKIPPED)."""
    queue = codec.bulk_add_queue(adds)
    denied = codec.cron_denials(adds)
    if denied is not None:
        return denied
    if codec.is_transactional(adds[0]):
        _log.warning("transactional add to %r: the emulator adds the tasks at once", queue)
    requests = [codec.add_request(pb) for pb in adds]
    try:
        return service.add(queue, requests)
    except TaskQueueError as err:
        if err.code not in QUEUE_LEVEL_CODES:
            raise
        return [AddResult(err.code, message=err.message) for _ in adds]


def bulk_add(
    service: QueueService, request: wire.TaskQueueBulkAddRequest
) -> wire.TaskQueueBulkAddResponse:
    """Add tasks to one queue; per-task results (SKIPPED when another task was invalid)."""
    adds = list(request.add_request)
    if not adds:
        return wire.TaskQueueBulkAddResponse()
    return codec.bulk_add_response(adds, _add_batch(service, adds))


def add(service: QueueService, request: wire.TaskQueueAddRequest) -> wire.TaskQueueAddResponse:
    """Add one task; a failure is a whole-call error (the stub wraps Add into BulkAdd)."""
    [result] = _add_batch(service, [request])
    if result.code is not ErrorCode.OK:
        raise TaskQueueError(result.code, result.message)
    response = wire.TaskQueueAddResponse()
    name = codec.chosen_name(request, result)
    if name is not None:
        response.chosen_task_name = name.encode()
    return response


# -- lease, modify, delete, purge, pause -----------------------------------------------------------


def query_and_own_tasks(
    service: QueueService, request: wire.TaskQueueQueryAndOwnTasksRequest
) -> wire.TaskQueueQueryAndOwnTasksResponse:
    """Lease tasks (``lease_tasks`` / ``lease_tasks_by_tag``)."""
    tag = codec.text(request.tag, ErrorCode.INVALID_TAG, "tag") if request.HasField("tag") else None
    leased = service.lease(
        codec.queue_name(request.queue_name),
        request.lease_seconds,
        request.max_tasks,
        group_by_tag=request.group_by_tag,
        tag=tag,
    )
    return codec.query_and_own_response(leased)


def modify_task_lease(
    service: QueueService, request: wire.TaskQueueModifyTaskLeaseRequest
) -> wire.TaskQueueModifyTaskLeaseResponse:
    """Extend or release the lease whose token is ``eta_usec``."""
    new_eta = service.modify_lease(
        codec.queue_name(request.queue_name),
        codec.task_name(request.task_name),
        request.eta_usec,
        request.lease_seconds,
    )
    return wire.TaskQueueModifyTaskLeaseResponse(updated_eta_usec=new_eta)


def delete(
    service: QueueService, request: wire.TaskQueueDeleteRequest
) -> wire.TaskQueueDeleteResponse:
    """Delete tasks by name; per name OK / UNKNOWN_TASK / TOMBSTONED_TASK, or the queue's
    problem repeated for every name."""
    names = [codec.optional_task_name(raw) for raw in request.task_name]
    try:
        codes = iter(
            service.delete(
                codec.queue_name(request.queue_name), [n for n in names if n is not None]
            )
        )
        results = [next(codes) if n is not None else ErrorCode.UNKNOWN_TASK for n in names]
    except TaskQueueError as err:
        if err.code not in QUEUE_LEVEL_CODES:
            raise
        results = [err.code for _ in names]
    response = wire.TaskQueueDeleteResponse()
    response.result.extend(codec.APPLICATION_ERROR_CODES[code] for code in results)  # type: ignore[misc]
    return response


def purge_queue(
    service: QueueService, request: wire.TaskQueuePurgeQueueRequest
) -> wire.TaskQueuePurgeQueueResponse:
    """Delete every task of the queue; their names stay tombstoned."""
    service.purge(codec.queue_name(request.queue_name))
    return wire.TaskQueuePurgeQueueResponse()


def pause_queue(
    service: QueueService, request: wire.TaskQueuePauseQueueRequest
) -> wire.TaskQueuePauseQueueResponse:
    """Pause (``pause=true``) or resume a queue; leases then fail with QUEUE_PAUSED."""
    queue = codec.queue_name(request.queue_name)
    if request.pause:
        service.pause(queue)
    else:
        service.resume(queue)
    return wire.TaskQueuePauseQueueResponse()


# -- statistics and inspection ---------------------------------------------------------------------


def fetch_queue_stats(
    service: QueueService, request: wire.TaskQueueFetchQueueStatsRequest
) -> wire.TaskQueueFetchQueueStatsResponse:
    """Statistics per requested queue, in order (unknown queues are not an error)."""
    names = [codec.queue_name(raw) for raw in request.queue_name]
    return codec.queue_stats_response(service.stats(names))


def fetch_queues(
    service: QueueService, request: wire.TaskQueueFetchQueuesRequest
) -> wire.TaskQueueFetchQueuesResponse:
    """The configured queues sorted by name, at most ``max_rows`` of them."""
    configs = sorted(service.config().queues.values(), key=lambda q: q.name)
    configs = configs[: max(request.max_rows, 0)]
    stats = service.stats([q.name for q in configs])
    response = wire.TaskQueueFetchQueuesResponse()
    for config, one in zip(configs, stats, strict=True):
        codec.fill_queue(config, one, response.queue.add())
    return response


def _query_window(
    tasks: list[StoredTask], request: wire.TaskQueueQueryTasksRequest
) -> list[StoredTask]:
    """The stub's ``Lookup``: by name from ``start_task_name``, or by (eta, name) from
    (``start_eta_usec``, ``start_task_name``), within ``start_tag`` if given; inclusive."""
    start_name = codec.task_name(request.start_task_name)
    if request.HasField("start_tag"):
        tag = codec.text(request.start_tag, ErrorCode.INVALID_TAG, "start_tag")
        tasks = [t for t in tasks if t.tag == tag]
    if request.HasField("start_eta_usec") or request.HasField("start_tag"):
        start = (request.start_eta_usec, start_name)
        return [t for t in tasks if (t.eta_usec, t.name) >= start]
    return sorted((t for t in tasks if t.name >= start_name), key=lambda t: t.name)


def query_tasks(
    service: QueueService, request: wire.TaskQueueQueryTasksRequest
) -> wire.TaskQueueQueryTasksResponse:
    """Up to ``max_rows`` stored tasks, without side effects (an admin RPC: it reads the
    whole queue, so it costs O(tasks))."""
    tasks = paging.all_tasks(service, codec.queue_name(request.queue_name))
    response = wire.TaskQueueQueryTasksResponse()
    for task in _query_window(tasks, request)[: max(request.max_rows, 0)]:
        codec.fill_task(task, response.task.add())
    return response


def fetch_task(
    service: QueueService, request: wire.TaskQueueFetchTaskRequest
) -> wire.TaskQueueFetchTaskResponse:
    """One stored task by name (TOMBSTONED_TASK / UNKNOWN_TASK if there is none)."""
    task = service.get_task(
        codec.queue_name(request.queue_name), codec.task_name(request.task_name)
    )
    response = wire.TaskQueueFetchTaskResponse()
    codec.fill_task(task, response.task.task.add())
    return response


# -- dispatch --------------------------------------------------------------------------------------

METHODS: Final[Mapping[str, RpcMethod[Any]]] = MappingProxyType(
    {
        "BulkAdd": RpcMethod(wire.TaskQueueBulkAddRequest, bulk_add),
        "Add": RpcMethod(wire.TaskQueueAddRequest, add),
        "QueryAndOwnTasks": RpcMethod(wire.TaskQueueQueryAndOwnTasksRequest, query_and_own_tasks),
        "ModifyTaskLease": RpcMethod(wire.TaskQueueModifyTaskLeaseRequest, modify_task_lease),
        "Delete": RpcMethod(wire.TaskQueueDeleteRequest, delete),
        "PurgeQueue": RpcMethod(wire.TaskQueuePurgeQueueRequest, purge_queue),
        "PauseQueue": RpcMethod(wire.TaskQueuePauseQueueRequest, pause_queue),
        "FetchQueueStats": RpcMethod(wire.TaskQueueFetchQueueStatsRequest, fetch_queue_stats),
        "FetchQueues": RpcMethod(wire.TaskQueueFetchQueuesRequest, fetch_queues),
        "QueryTasks": RpcMethod(wire.TaskQueueQueryTasksRequest, query_tasks),
        "FetchTask": RpcMethod(wire.TaskQueueFetchTaskRequest, fetch_task),
    }
)


#: Every service ``/rpc_http`` serves, by ``remote_api.Request.service_name``.
SERVICES: Final[Mapping[str, Mapping[str, RpcMethod[Any]]]] = MappingProxyType(
    {
        SERVICE_NAME: METHODS,
        logservice.SERVICE_NAME: MappingProxyType(
            {"Flush": RpcMethod(log_wire.FlushRequest, logservice.flush)}
        ),
    }
)


def _method(envelope: remote.Request) -> RpcMethod[Any]:
    service, name = envelope.service_name, envelope.method
    methods = SERVICES.get(service)
    if methods is None:
        raise codec.RpcFailure(
            remote.RpcError.CALL_NOT_FOUND,
            f"the emulator does not serve the {service!r} service (call {service}.{name}); "
            f"it serves {' and '.join(SERVICES)}",
        )
    method = methods.get(name)
    if method is None:
        raise codec.RpcFailure(
            remote.RpcError.CALL_NOT_FOUND, f"the emulator has no method {service}.{name}"
        )
    return method


#: The range of the wire's int64 ETA fields: a moved ETA is kept inside it (an ETA near the
#: limit then reads as far past or far future, as it was sent, instead of overflowing).
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


def _move_client_etas(request: Message, translate: EtaTranslation) -> None:
    """Rewrite the ETAs of an add request, computed on the client's clock, in place; a moved
    ETA beyond the int64 range is clamped to it (the core then judges it like any other)."""
    if isinstance(request, wire.TaskQueueBulkAddRequest):
        adds = list(request.add_request)
    elif isinstance(request, wire.TaskQueueAddRequest):
        adds = [request]
    else:
        return
    for add_request in adds:
        moved = translate(add_request.eta_usec)
        add_request.eta_usec = min(max(moved, _INT64_MIN), _INT64_MAX)


#: What a call without the server's token gets (the SDK raises ``PermissionDeniedError``).
NOT_AUTHORIZED: Final = (
    "this emulator requires a token: send 'Authorization: Bearer <token>' (shims.sdk.stub "
    "sends TASKQUEUE_EMULATOR_AUTH_TOKEN) or use the token as the API security ticket"
)


def call(
    service: QueueService,
    body: bytes,
    client_etas: EtaTranslation | None = None,
    authorized: Callable[[str], bool] | None = None,
) -> remote.Response:
    """Answer one serialized ``remote_api.Request``.

    ``authorized`` (if given) is asked first, with the envelope's security ticket
    (``request_id``); a refusal is ``application_error`` PERMISSION_DENIED, whatever the call.
    ``client_etas`` (if given) moves the ETAs of added tasks from the client's clock onto the
    service's before the call is handled. Returns the ``remote_api.Response``: ``response``
    on success, ``application_error`` for a :class:`TaskQueueError`, ``rpc_error``
    CALL_NOT_FOUND for an unknown service or method (:data:`SERVICES`) and PARSE_ERROR for an
    envelope or request that cannot be parsed (also inside a handler, which raises
    :class:`codec.RpcFailure`), ``rpc_error`` DEADLINE_EXCEEDED for a call that ran out of
    time (:class:`CallDeadlineExceeded`). Any other exception propagates (the view turns it
    into INTERNAL_ERROR).
    """
    try:
        envelope = codec.parse(remote.Request, body)
        if authorized is not None and not authorized(envelope.request_id):
            return codec.application_error(ErrorCode.PERMISSION_DENIED, NOT_AUTHORIZED)
        method = _method(envelope)
        request = codec.parse(method.request_type, envelope.request)
    except codec.RpcFailure as failure:
        return codec.rpc_error(failure.code, failure.detail)
    if client_etas is not None:
        _move_client_etas(request, client_etas)
    _log.debug("rpc_http %s.%s", envelope.service_name, envelope.method)
    try:
        return codec.success(method.handler(service, request))
    except CallDeadlineExceeded as late:  # the SDK raises apiproxy_errors.DeadlineExceededError
        return codec.rpc_error(remote.RpcError.DEADLINE_EXCEEDED, late.message)
    except TaskQueueError as err:
        return codec.application_error(err.code, err.message)
    except codec.RpcFailure as failure:  # e.g. logservice.Flush with unparsable logs
        return codec.rpc_error(failure.code, failure.detail)
