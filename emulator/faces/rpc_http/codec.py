"""Wire messages of ``/rpc_http`` ↔ the service's value types, and the error envelope.

Pure functions over the generated messages in :mod:`emulator.faces.rpc_http.protos` (no
Flask, no service calls). Readers raise :class:`TaskQueueError` for values the service cannot
take (bytes that are not UTF-8 where the service needs text) and :class:`RpcFailure` for
requests that cannot be parsed at all. Writers fill response messages from service results.

Error translation happens here, once: :data:`APPLICATION_ERROR_CODES` maps every
:class:`ErrorCode` to the ``TaskQueueServiceError.ErrorCode`` number sent in
``Response.application_error`` (and back), :func:`application_error` and
:func:`rpc_error` build the error envelopes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Final, TypeVar

from google.protobuf.message import DecodeError, Message

from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import DEFAULT_BUCKET_SIZE
from emulator.domain.model import AddRequest, AddResult, LeasedTask, QueueStats, StoredTask
from emulator.domain.queue_config import (
    SDK_RETRY_FIELD_NAMES,
    QueueConfig,
    QueueMode,
    RetryParameters,
    queue_mode,
)
from emulator.faces.rpc_http.protos import remote_api_wire_pb2 as remote
from emulator.faces.rpc_http.protos import taskqueue_wire_pb2 as wire

M = TypeVar("M", bound=Message)

#: ``ErrorCode`` → ``TaskQueueServiceError.ErrorCode`` (matched by name, so a renumbering on
#: either side is caught by the test that compares the two enums).
APPLICATION_ERROR_CODES: Final[Mapping[ErrorCode, int]] = MappingProxyType(
    {code: wire.TaskQueueServiceError.ErrorCode.Value(code.name) for code in ErrorCode}
)
_ERROR_CODES_BY_NUMBER: Final = MappingProxyType(
    {number: code for code, number in APPLICATION_ERROR_CODES.items()}
)
#: The period ``scanner_info`` counts cover (the emulator keeps one hour of lease records).
SAMPLING_DURATION_SECONDS: Final = 3600.0
_ADD_METHOD = wire.TaskQueueAddRequest.RequestMethod
_TASK_METHOD = wire.TaskQueueQueryTasksResponse.Task.RequestMethod


class RpcFailure(Exception):
    """A call that never reached the service: ``remote_api.RpcError`` ``code`` + ``detail``."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


# -- errors and envelopes --------------------------------------------------------------------------


def error_code(number: int) -> ErrorCode:
    """The :class:`ErrorCode` sent as ``application_error.code`` ``number``.

    Raises:
        ValueError: ``number`` is no ``TaskQueueServiceError`` code the emulator knows.
    """
    try:
        return _ERROR_CODES_BY_NUMBER[number]
    except KeyError:
        raise ValueError(f"unknown TaskQueueServiceError code {number}") from None


def _clean(detail: str) -> str:
    """``detail`` as text protobuf accepts (lone surrogates become ``?``)."""
    return detail.encode("utf-8", "replace").decode("utf-8")


def application_error(code: ErrorCode, detail: str) -> remote.Response:
    """The envelope of a failed call: the SDK raises ``ApplicationError(code, detail)``."""
    error = remote.ApplicationError(code=APPLICATION_ERROR_CODES[code], detail=_clean(detail))
    return remote.Response(application_error=error)


def rpc_error(code: int, detail: str) -> remote.Response:
    """The envelope of a call that was not executed (unknown method, unparsable request)."""
    return remote.Response(rpc_error=remote.RpcError(code=code, detail=_clean(detail)))


def success(reply: Message) -> remote.Response:
    """The envelope of a successful call carrying the serialized ``reply``."""
    return remote.Response(response=reply.SerializeToString())


def parse(message_type: type[M], data: bytes) -> M:
    """Parse ``data`` as a complete ``message_type`` (every required field present).

    Raises:
        RpcFailure: PARSE_ERROR, naming the message type and the problem.
    """
    message = message_type()
    name = message.DESCRIPTOR.name
    try:
        message.ParseFromString(data)
    except (DecodeError, ValueError, RecursionError) as exc:
        raise RpcFailure(remote.RpcError.PARSE_ERROR, f"cannot parse {name}: {exc}") from None
    missing: list[str] = message.FindInitializationErrors()  # type: ignore[attr-defined]
    if missing:
        raise RpcFailure(
            remote.RpcError.PARSE_ERROR, f"{name} lacks required fields: {', '.join(missing)}"
        )
    return message


# -- reading requests ------------------------------------------------------------------------------


def text(value: bytes, code: ErrorCode, what: str) -> str:
    """``value`` decoded as UTF-8; anything else raises ``TaskQueueError(code)``."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise TaskQueueError(code, f"{what} is not valid UTF-8") from None


def queue_name(value: bytes) -> str:
    """A queue name from the wire (the service validates its pattern)."""
    return text(value, ErrorCode.INVALID_QUEUE_NAME, "queue_name")


def task_name(value: bytes) -> str:
    """A task name from the wire (the service validates its pattern)."""
    return text(value, ErrorCode.INVALID_TASK_NAME, "task_name")


def optional_task_name(value: bytes) -> str | None:
    """A task name from the wire, or None if it is not UTF-8 (no such task can exist)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return None


def retry_parameters(pb: wire.TaskQueueRetryParameters) -> RetryParameters:
    """The retry options a request carries; fields it does not set stay None."""
    return RetryParameters.from_dict(
        {
            field: getattr(pb, name)
            for field, name in SDK_RETRY_FIELD_NAMES.items()
            if pb.HasField(name)
        }
    )


def _method(pb: wire.TaskQueueAddRequest, mode: QueueMode) -> str | None:
    if pb.HasField("method"):
        return _ADD_METHOD.Name(pb.method)
    return "POST" if mode is QueueMode.PUSH else None


def _headers(pb: wire.TaskQueueAddRequest) -> tuple[tuple[str, str], ...]:
    return tuple(
        (
            text(h.key, ErrorCode.INVALID_REQUEST, "header key"),
            text(h.value, ErrorCode.INVALID_REQUEST, "header value"),
        )
        for h in pb.header
    )


def add_request(pb: wire.TaskQueueAddRequest) -> AddRequest:
    """One ``TaskQueueAddRequest`` as an :class:`AddRequest`.

    An unset ``mode`` is PUSH (the proto default, as the stub reads it); an empty
    ``task_name`` asks for a chosen name; ``eta_usec`` is always the client's.
    Called once per task of a BulkAdd, so the common pull task (no name, headers, URL,
    method or retry options) takes no step it does not need.

    Raises:
        TaskQueueError: INVALID_TASK_NAME / INVALID_TAG / INVALID_URL / INVALID_REQUEST for
            a name, tag, url or header that is not UTF-8.
    """
    mode = queue_mode(pb.mode)  # an unknown number: the enum's ValueError, as before
    raw_name = pb.task_name
    has = pb.HasField
    return AddRequest(
        payload=pb.body,
        name=task_name(raw_name) if raw_name else None,
        eta_usec=pb.eta_usec,
        tag=text(pb.tag, ErrorCode.INVALID_TAG, "tag") if has("tag") else None,
        mode=mode,
        method=_method(pb, mode),
        url=text(pb.url, ErrorCode.INVALID_URL, "url") if has("url") else None,
        headers=_headers(pb) if pb.header else (),
        retry_parameters=(
            retry_parameters(pb.retry_parameters) if has("retry_parameters") else None
        ),
        dispatch_deadline_usec=(
            pb.dispatch_deadline_usec if has("dispatch_deadline_usec") else None
        ),
    )


def bulk_add_queue(adds: Sequence[wire.TaskQueueAddRequest]) -> str:
    """The one queue a non-empty BulkAdd targets.

    Raises:
        TaskQueueError: UNKNOWN_QUEUE if the first request names no queue (as the stub does);
            INVALID_REQUEST if the requests name different queues.
    """
    first = adds[0].queue_name
    if not first:
        raise TaskQueueError(ErrorCode.UNKNOWN_QUEUE, "the first add request names no queue")
    if any(pb.queue_name != first for pb in adds):
        raise TaskQueueError(
            ErrorCode.INVALID_REQUEST, "all tasks of one BulkAdd must name the same queue"
        )
    return queue_name(first)


def cron_denials(adds: Sequence[wire.TaskQueueAddRequest]) -> list[AddResult] | None:
    """If a request carries a cron timetable (which needs an app id the emulator never has):
    PERMISSION_DENIED for it and SKIPPED for the others, as the stub answers. Else None."""
    if not any(pb.HasField("crontimetable") for pb in adds):
        return None
    denied, skipped = ErrorCode.PERMISSION_DENIED, ErrorCode.SKIPPED
    return [AddResult(denied if pb.HasField("crontimetable") else skipped) for pb in adds]


def is_transactional(pb: wire.TaskQueueAddRequest) -> bool:
    """True if the request is bound to a datastore transaction."""
    return pb.HasField("transaction") or pb.HasField("datastore_transaction")


# -- writing responses -----------------------------------------------------------------------------


def bulk_add_response(
    adds: Sequence[wire.TaskQueueAddRequest], results: Sequence[AddResult]
) -> wire.TaskQueueBulkAddResponse:
    """One ``TaskResult`` per request, in order; auto-named tasks that were added always
    carry ``chosen_task_name`` (production's behaviour, which the stub loses under upb)."""
    response = wire.TaskQueueBulkAddResponse()
    for pb, result in zip(adds, results, strict=True):
        task_result = response.taskresult.add()
        task_result.result = APPLICATION_ERROR_CODES[result.code]  # type: ignore[assignment]
        if chosen_name(pb, result) is not None:
            task_result.chosen_task_name = str(result.name).encode()
    return response


def chosen_name(pb: wire.TaskQueueAddRequest, result: AddResult) -> str | None:
    """The name the service chose for an auto-named task that was added, else None."""
    if result.code is ErrorCode.OK and not pb.task_name and result.name:
        return result.name
    return None


def query_and_own_response(tasks: Sequence[LeasedTask]) -> wire.TaskQueueQueryAndOwnTasksResponse:
    """Leased tasks: name, new ETA (the lease token), incremented retry count, body, tag."""
    response = wire.TaskQueueQueryAndOwnTasksResponse()
    for task in tasks:
        out = response.task.add()
        out.task_name = task.name.encode()
        out.eta_usec = task.eta_usec
        out.retry_count = task.retry_count
        out.body = task.payload
        if task.tag is not None:
            out.tag = task.tag.encode()
    return response


def queue_stats_response(stats: Sequence[QueueStats]) -> wire.TaskQueueFetchQueueStatsResponse:
    """Statistics in request order: an unknown queue is ``0 / -1`` without ``scanner_info``;
    a known one reports the emulator's real lease counts over a one-hour sample."""
    response = wire.TaskQueueFetchQueueStatsResponse()
    for one in stats:
        out = response.queuestats.add()
        out.num_tasks = one.tasks if one.exists else 0
        oldest = one.oldest_eta_usec
        out.oldest_eta_usec = oldest if one.exists and oldest is not None else -1
        if one.exists:
            _scanner_info(one, out.scanner_info)
    return response


def _scanner_info(stats: QueueStats, out: wire.TaskQueueScannerQueueInfo) -> None:
    out.executed_last_minute = stats.leased_last_minute or 0
    out.executed_last_hour = stats.leased_last_hour or 0
    out.sampling_duration_seconds = SAMPLING_DURATION_SECONDS
    if stats.in_flight is not None:
        out.requests_in_flight = stats.in_flight
    if stats.enforced_rate is not None:
        out.enforced_rate = stats.enforced_rate


def fill_retry_parameters(params: RetryParameters, out: wire.TaskQueueRetryParameters) -> None:
    """Copy the set fields of ``params`` into ``out`` (the inverse of :func:`retry_parameters`)."""
    for field, value in params.to_dict().items():
        setattr(out, SDK_RETRY_FIELD_NAMES[field], value)


def fill_task(task: StoredTask, out: wire.TaskQueueQueryTasksResponse.Task) -> None:
    """A stored task as ``QueryTasks``/``FetchTask`` return it (pull tasks say POST, as in
    the stub; ``execution_count`` equals ``retry_count`` once a task has been leased)."""
    out.task_name = task.name.encode()
    out.eta_usec = task.eta_usec
    out.creation_time_usec = task.created_usec
    out.method = _TASK_METHOD.Value(task.method or "POST")  # type: ignore[assignment]
    out.retry_count = task.retry_count
    out.body = task.payload
    if task.url is not None:
        out.url = task.url.encode()
    for key, value in task.headers:
        header = out.header.add()
        header.key, header.value = key.encode(), value.encode()
    if task.tag is not None:
        out.tag = task.tag.encode()
    if task.retry_parameters is not None:
        fill_retry_parameters(task.retry_parameters, out.retry_parameters)
    if task.dispatch_deadline_usec is not None:
        out.dispatch_deadline_usec = task.dispatch_deadline_usec
    if task.retry_count > 0:
        out.execution_count = task.retry_count


def fill_queue(
    config: QueueConfig, stats: QueueStats, out: wire.TaskQueueFetchQueuesResponse.Queue
) -> None:
    """One queue as ``FetchQueues`` describes it, from its configuration and state."""
    out.queue_name = config.name.encode()
    out.bucket_refill_per_second = config.rate_per_second or 0.0
    out.bucket_capacity = float(config.bucket_size or DEFAULT_BUCKET_SIZE)
    out.paused = stats.paused
    out.mode = int(config.mode)  # type: ignore[assignment]
    if config.rate is not None:
        out.user_specified_rate = config.rate
    if config.max_concurrent_requests is not None:
        out.max_concurrent_requests = config.max_concurrent_requests
    if config.retry_parameters is not None:
        fill_retry_parameters(config.retry_parameters, out.retry_parameters)
    for entry in config.acl:
        if entry.user_email is not None:
            out.acl.user_email.append(entry.user_email.encode())
        if entry.writer_email is not None:
            out.acl.writer_email.append(entry.writer_email.encode())
