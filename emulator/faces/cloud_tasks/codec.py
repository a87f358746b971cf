"""One codec for v2beta2, v2beta3 and v2: their protobuf messages ↔ the domain's values.

Where the versions differ the functions read the :class:`~.versions.Dialect`. Instants are
integer microseconds in the domain and ``Timestamp`` seconds + nanos on the wire, converted
exactly both ways (a leased task's ``schedule_time`` is its lease token, compared to the
microsecond; nanos below a microsecond are truncated, as Google does). Readers raise
INVALID_ARGUMENT naming the request field; writers never fail.

The mapping (docs/CLOUD_TASKS.md has the whole table):

* ``schedule_time`` = the ETA (a leased task's lease expiry and token); ``create_time`` =
  when it was added, truncated to whole seconds as Google documents;
* ``status.attempt_dispatch_count`` (v2beta2) / ``dispatch_count`` = ``retry_count``, the
  number of leases so far (push tasks are stored, never dispatched: 0);
* ``pull_message`` = payload and tag of a pull task; ``app_engine_http_request`` = method,
  relative URL, headers and body of an App Engine push task; ``http_request`` = the same for
  an HTTP-target task (``http_url``);
* BASIC views omit payloads and bodies, FULL views include them;
* a ``task_retry_limit`` N (a queue's, or a task's own) is ``RetryConfig.max_attempts``
  N + 1, as Google's own forwarding code maps it (no limit: unlimited attempts).
"""

from __future__ import annotations

import dataclasses
from typing import Final, TypeVar

from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from emulator.domain.limits import LATEST_TIMESTAMP_USEC, PUSH_METHODS, USEC_PER_SECOND
from emulator.domain.model import AddRequest, LeasedTask, QueueStats, StoredTask
from emulator.domain.queue_config import QueueConfig, QueueMode, RetryParameters
from emulator.faces.cloud_tasks.errors import invalid
from emulator.faces.cloud_tasks.names import QueueName, parse_task
from emulator.faces.cloud_tasks.versions import Dialect, Pb, QueueShape

#: ``Task.View`` numbers (the same in every version).
VIEW_UNSPECIFIED: Final = 0
BASIC: Final = 1
FULL: Final = 2
#: ``Queue.State`` and v2beta3's ``Queue.Type`` numbers.
RUNNING: Final = 1
PAUSED: Final = 2
TYPE_PULL: Final = 1
TYPE_PUSH: Final = 2
#: ``HttpMethod`` numbers → the domain's method names (PATCH and OPTIONS have no legacy form).
_METHOD_NAMES: Final = {0: "POST", 1: "POST", 2: "GET", 3: "HEAD", 4: "PUT", 5: "DELETE"}
_METHOD_NUMBERS: Final = {name: number for number, name in _METHOD_NAMES.items() if number}
_UNSUPPORTED_METHODS: Final = {6: "PATCH", 7: "OPTIONS"}
_BODY_METHODS: Final = ("POST", "PUT")
#: Retry defaults App Engine applies to push queues that do not set them (queue.yaml).
_PUSH_RETRY_DEFAULTS: Final = RetryParameters(
    min_backoff_seconds=0.1, max_backoff_seconds=3600.0, max_doublings=16
)
#: The first second a protobuf Timestamp can name: 0001-01-01T00:00:00Z.
_MIN_SECONDS: Final = -62_135_596_800
NANOS_PER_USEC: Final = 1000
N = TypeVar("N", int, float)


# -- time ------------------------------------------------------------------------------------------


def timestamp(usec: int) -> Timestamp:
    """An instant in integer microseconds as a Timestamp, exactly."""
    seconds, micros = divmod(usec, USEC_PER_SECOND)
    return Timestamp(seconds=seconds, nanos=micros * NANOS_PER_USEC)


def usec_of(value: Timestamp, field: str) -> int:
    """A Timestamp as integer microseconds (nanos below a microsecond truncated).

    Raises:
        CloudTasksError: INVALID_ARGUMENT for nanos outside [0, 1e9) or an instant outside
            years 1 to 9999.
    """
    if not 0 <= value.nanos < 1_000_000_000:
        raise invalid(field, f"nanos must be in [0, 999999999], not {value.nanos}")
    if not _MIN_SECONDS <= value.seconds <= LATEST_TIMESTAMP_USEC // USEC_PER_SECOND:
        raise invalid(field, "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
    return value.seconds * USEC_PER_SECOND + value.nanos // NANOS_PER_USEC


def duration(usec: int) -> Duration:
    """Integer microseconds as a Duration."""
    seconds, micros = divmod(usec, USEC_PER_SECOND)
    return Duration(seconds=seconds, nanos=micros * NANOS_PER_USEC)


def _seconds_duration(seconds: float) -> Duration:
    return duration(round(seconds * USEC_PER_SECOND))


def duration_usec(value: Duration, field: str) -> int:
    """A non-negative Duration as integer microseconds (nanos below one truncated)."""
    if value.seconds < 0 or value.nanos < 0 or value.nanos >= 1_000_000_000:
        raise invalid(field, "must be a non-negative duration")
    return value.seconds * USEC_PER_SECOND + value.nanos // NANOS_PER_USEC


def lease_seconds_of(value: Duration, field: str) -> int:
    """A lease duration in whole seconds: truncated, as Google documents."""
    return duration_usec(value, field) // USEC_PER_SECOND


# -- views -----------------------------------------------------------------------------------------


def view_of(value: int, field: str) -> int:
    """BASIC or FULL; VIEW_UNSPECIFIED is BASIC."""
    if value == VIEW_UNSPECIFIED:
        return BASIC
    if value not in (BASIC, FULL):
        raise invalid(field, f"unknown view {value}: use BASIC (1) or FULL (2)")
    return value


# -- tasks: domain → messages ----------------------------------------------------------------------


def leased_as_stored(queue: str, task: LeasedTask) -> StoredTask:
    """A leased task in the shape of a stored one (what :func:`task_message` writes)."""
    return StoredTask(
        queue=queue,
        name=task.name,
        eta_usec=task.eta_usec,
        payload=task.payload,
        tag=task.tag,
        retry_count=task.retry_count,
        created_usec=task.created_usec,
        mode=QueueMode.PULL,
    )


def task_message(d: Dialect, queue: QueueName, task: StoredTask, view: int) -> Pb:
    """A stored task as ``d``'s ``Task`` in ``view`` (BASIC leaves payloads and bodies out)."""
    out = d.new("Task", name=str(queue.task(task.name)), view=view)
    out.schedule_time.CopyFrom(timestamp(task.eta_usec))
    created = task.created_usec - task.created_usec % USEC_PER_SECOND
    out.create_time.CopyFrom(timestamp(created))
    if not d.counts_in_status:
        out.dispatch_count = task.retry_count
    elif task.retry_count:  # a task never leased has no status yet
        out.status.attempt_dispatch_count = task.retry_count
    if d.dispatch_deadline and task.dispatch_deadline_usec is not None:
        out.dispatch_deadline.CopyFrom(duration(task.dispatch_deadline_usec))
    if d.batches and task.retry_parameters is not None:
        fill_retry(d, out.retry_config, task.retry_parameters)
    full = view == FULL
    if task.mode is QueueMode.PULL:
        if d.pull_messages:
            out.pull_message.SetInParent()
            if task.tag is not None:
                out.pull_message.tag = task.tag
            if full:
                out.pull_message.payload = task.payload
    elif task.http_url is not None:
        _fill_http_request(out.http_request, task, full)
    else:
        _fill_app_engine_request(d, out.app_engine_http_request, task, full)
    return out


def _method_number(method: str | None) -> int:
    return _METHOD_NUMBERS.get((method or "POST").upper(), _METHOD_NUMBERS["POST"])


def _fill_http_request(out: Pb, task: StoredTask, full: bool) -> None:
    out.url = task.http_url
    out.http_method = _method_number(task.method)
    out.headers.update(dict(task.headers))
    if full:
        out.body = task.payload


def _fill_app_engine_request(d: Dialect, out: Pb, task: StoredTask, full: bool) -> None:
    out.http_method = _method_number(task.method)
    setattr(out, d.app_engine_url, task.url or "/")
    out.headers.update(dict(task.headers))
    if full:
        setattr(out, d.app_engine_body, task.payload)


# -- tasks: messages → domain ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CreatedTask:
    """What CreateTask asks for: the add request, and which request field each per-task
    problem is about (``INVALID_URL`` → ``task.http_request.url``)."""

    request: AddRequest
    url_field: str


def add_request(d: Dialect, task: Pb, parent: QueueName, now_usec: int) -> CreatedTask:
    """CreateTask's ``task`` as an :class:`AddRequest` for the queue ``parent``.

    ``schedule_time`` unset or in the past means now (Google's rule); output-only fields are
    ignored. Exactly one payload type must be set: ``pull_message`` (v2beta2, and v2beta3
    here, where Google refuses it), ``app_engine_http_request`` or ``http_request``.
    """
    name = None
    if task.name:
        name = parse_task(task.name, "task.name")
        if name.parent != parent:
            raise invalid("task.name", f"{task.name!r} is not a task of {parent}")
    eta = None
    if task.HasField("schedule_time"):
        eta = usec_of(task.schedule_time, "task.schedule_time")
        eta = eta if eta > now_usec else None
    deadline = None
    if d.dispatch_deadline and task.HasField("dispatch_deadline"):
        deadline = duration_usec(task.dispatch_deadline, "task.dispatch_deadline")
    retry = None
    if d.batches and task.HasField("retry_config"):
        retry = retry_parameters_of(task.retry_config, "task.retry_config")
    base = AddRequest(
        name=name.task if name else None,
        eta_usec=eta,
        dispatch_deadline_usec=deadline,
        retry_parameters=retry,
    )
    kind = task.WhichOneof(_payload_oneof(d))
    if kind == "pull_message":
        message = task.pull_message
        pulled = dataclasses.replace(
            base, payload=message.payload, tag=message.tag or None, mode=QueueMode.PULL
        )
        return CreatedTask(pulled, "task.pull_message")
    if kind == "app_engine_http_request":
        return _app_engine_task(d, base, task.app_engine_http_request)
    if kind == "http_request":
        return _http_task(base, task.http_request)
    choices = ("pull_message, " if d.leases else "") + "app_engine_http_request or http_request"
    raise invalid("task", f"set one of {choices}")


def _payload_oneof(d: Dialect) -> str:
    return "message_type" if d.queue_shape is QueueShape.ROUTING else "payload_type"


def _method_name(value: int, field: str) -> str:
    if value in _UNSUPPORTED_METHODS:
        raise invalid(
            field,
            f"{_UNSUPPORTED_METHODS[value]} is not supported: App Engine task queues know "
            f"{', '.join(PUSH_METHODS)}",
        )
    if value not in _METHOD_NAMES:
        raise invalid(field, f"unknown HTTP method {value}")
    return _METHOD_NAMES[value]


def _checked_body(method: str, body: bytes, field: str) -> bytes:
    if body and method not in _BODY_METHODS:
        raise invalid(field, f"a body is only allowed with POST or PUT, not {method}")
    return body


def _app_engine_task(d: Dialect, base: AddRequest, request: Pb) -> CreatedTask:
    field = "task.app_engine_http_request"
    method = _method_name(request.http_method, f"{field}.http_method")
    body = _checked_body(
        method, getattr(request, d.app_engine_body), f"{field}.{d.app_engine_body}"
    )
    pushed = dataclasses.replace(
        base,
        payload=body,
        mode=QueueMode.PUSH,
        method=method,
        url=getattr(request, d.app_engine_url) or "/",
        headers=tuple(sorted(request.headers.items())),
    )
    return CreatedTask(pushed, f"{field}.{d.app_engine_url}")


def _http_task(base: AddRequest, request: Pb) -> CreatedTask:
    field = "task.http_request"
    if not request.url:
        raise invalid(f"{field}.url", "is required")
    method = _method_name(request.http_method, f"{field}.http_method")
    pushed = dataclasses.replace(
        base,
        payload=_checked_body(method, request.body, f"{field}.body"),
        mode=QueueMode.PUSH,
        method=method,
        http_url=request.url,
        headers=tuple(sorted(request.headers.items())),
    )
    return CreatedTask(pushed, f"{field}.url")


# -- queues ----------------------------------------------------------------------------------------


def queue_message(
    d: Dialect, name: QueueName, config: QueueConfig, stats: QueueStats, mask: FieldMask | None
) -> Pb:
    """A queue as ``d``'s ``Queue``: every field but ``stats`` without a mask; with one, only
    the fields it names (``stats`` included only then, as Google does)."""
    out = d.new("Queue", name=str(name), state=PAUSED if stats.paused else RUNNING)
    pull = config.mode is QueueMode.PULL
    _fill_target(d, out, config, pull)
    _fill_rate_limits(d, out.rate_limits, config, pull)
    _fill_retry_config(d, out.retry_config, config, pull)
    if mask is None or not d.queue_stats:
        return out
    _fill_stats(out.stats, stats)
    masked = d.new("Queue")
    mask.MergeMessage(out, masked)
    return masked


def check_queue_mask(d: Dialect, mask: FieldMask, field: str) -> FieldMask:
    """``mask`` if every path names a field of ``d``'s Queue (v2beta3's ``type`` is the
    ``type_`` of google-cloud-tasks' messages); INVALID_ARGUMENT naming the first that does
    not."""
    paths = ["type_" if p == "type" else p for p in mask.paths]
    fixed = FieldMask(paths=paths)
    descriptor = d.message("Queue").DESCRIPTOR
    for path in paths:
        if not FieldMask(paths=[path]).IsValidForDescriptor(descriptor):
            raise invalid(field, f"{path!r} is not a field of Queue")
    return fixed


def _routing(out: Pb, target: str | None) -> None:
    """queue.yaml ``target`` (``service`` or ``version.service``) as an AppEngineRouting."""
    if not target:
        return
    version, _, service = target.rpartition(".")
    out.service = service
    if version:
        out.version = version


def _fill_target(d: Dialect, out: Pb, config: QueueConfig, pull: bool) -> None:
    if d.queue_shape is QueueShape.TARGET:
        if pull:
            out.pull_target.SetInParent()
        else:
            out.app_engine_http_target.SetInParent()
            _routing(out.app_engine_http_target.app_engine_routing_override, config.target)
    elif d.queue_shape is QueueShape.TYPE:
        out.type_ = TYPE_PULL if pull else TYPE_PUSH
        if not pull:
            out.app_engine_http_queue.SetInParent()
            _routing(out.app_engine_http_queue.app_engine_routing_override, config.target)
    elif not pull and config.target:
        _routing(out.app_engine_routing_override, config.target)


def _fill_rate_limits(d: Dialect, out: Pb, config: QueueConfig, pull: bool) -> None:
    """queue.yaml ``rate``, ``bucket_size`` and ``max_concurrent_requests``; a pull queue's
    concurrency is always -1 (Google: output only for pull queues)."""
    if pull:
        setattr(out, d.concurrency_field, -1)
        return
    if config.rate_per_second is not None:
        setattr(out, d.rate_field, config.rate_per_second)
    if config.bucket_size is not None:
        out.max_burst_size = config.bucket_size
    if config.max_concurrent_requests is not None:
        setattr(out, d.concurrency_field, config.max_concurrent_requests)


def max_attempts(params: RetryParameters | None) -> int | None:
    """``RetryConfig.max_attempts`` for a ``task_retry_limit``: limit + 1, or None (unlimited)."""
    if params is None or params.task_retry_limit is None:
        return None
    return params.task_retry_limit + 1


def _fill_retry_config(d: Dialect, out: Pb, config: QueueConfig, pull: bool) -> None:
    params = config.retry_parameters or RetryParameters()
    if not pull:  # App Engine's defaults for what the queue does not set
        defaults = _PUSH_RETRY_DEFAULTS
        params = dataclasses.replace(
            params,
            min_backoff_seconds=_first(params.min_backoff_seconds, defaults.min_backoff_seconds),
            max_backoff_seconds=_first(params.max_backoff_seconds, defaults.max_backoff_seconds),
            max_doublings=_first(params.max_doublings, defaults.max_doublings),
        )
    fill_retry(d, out, params)


def fill_retry(d: Dialect, out: Pb, params: RetryParameters) -> None:
    """``params`` as a RetryConfig: the retry limit as ``max_attempts`` (limit + 1; no limit is
    ``unlimited_attempts`` in v2beta2, ``max_attempts = -1`` elsewhere), the age limit as
    ``max_retry_duration``, the backoffs and doublings as they are."""
    attempts = max_attempts(params)
    if attempts is not None:
        out.max_attempts = attempts
    elif d.unlimited_attempts:
        out.unlimited_attempts = True
    else:
        out.max_attempts = -1
    if params.task_age_limit_sec is not None:
        out.max_retry_duration.CopyFrom(duration(params.task_age_limit_sec * USEC_PER_SECOND))
    if params.min_backoff_seconds is not None:
        out.min_backoff.CopyFrom(_seconds_duration(params.min_backoff_seconds))
    if params.max_backoff_seconds is not None:
        out.max_backoff.CopyFrom(_seconds_duration(params.max_backoff_seconds))
    if params.max_doublings is not None:
        out.max_doublings = params.max_doublings


def retry_parameters_of(config: Pb, field: str) -> RetryParameters:
    """A task's RetryConfig (v2beta3, v2) as retry parameters: the inverse of
    :func:`fill_retry`. ``max_attempts`` -1 or 0 is no limit; durations must not be negative
    (the age limit is rounded up to whole seconds, as the SDK does)."""
    if config.max_attempts < -1:
        raise invalid(
            f"{field}.max_attempts", f"must be -1 (unlimited) or more, not {config.max_attempts}"
        )
    if config.max_doublings < 0:
        raise invalid(f"{field}.max_doublings", "must not be negative")
    age = None
    if config.HasField("max_retry_duration"):
        usec = duration_usec(config.max_retry_duration, f"{field}.max_retry_duration")
        age = -(-usec // USEC_PER_SECOND)
    return RetryParameters(
        task_retry_limit=config.max_attempts - 1 if config.max_attempts > 0 else None,
        task_age_limit_sec=age,
        min_backoff_seconds=_optional_seconds(config, "min_backoff", field),
        max_backoff_seconds=_optional_seconds(config, "max_backoff", field),
        max_doublings=config.max_doublings or None,
    )


def _optional_seconds(config: Pb, name: str, field: str) -> float | None:
    if not config.HasField(name):
        return None
    return duration_usec(getattr(config, name), f"{field}.{name}") / USEC_PER_SECOND


def _first(value: N | None, default: N | None) -> N | None:
    return default if value is None else value


def _fill_stats(out: Pb, stats: QueueStats) -> None:
    """QueueStats as Google's forwarding code reads them back: tasks_count → tasks,
    oldest_estimated_arrival_time → oldest ETA, executed_last_minute_count → leased in the
    last minute, concurrent_dispatches_count → leased now, effective_execution_rate → rate."""
    out.tasks_count = stats.tasks
    if stats.oldest_eta_usec is not None:
        out.oldest_estimated_arrival_time.CopyFrom(timestamp(stats.oldest_eta_usec))
    out.executed_last_minute_count = stats.leased_last_minute or 0
    out.concurrent_dispatches_count = stats.in_flight or 0
    out.effective_execution_rate = stats.enforced_rate or 0.0
