"""Domain values ↔ google-cloud-tasks messages (reference cloud-tasks-api.md §5.1).

Pull tasks are ``tasks_v2beta2.Task`` with a ``pull_message`` (payload and tag); push tasks
are ``tasks_v2.Task`` with an ``app_engine_http_request`` (relative URL, method, headers,
body), as Google's SDK forwards them, or an ``http_request`` for an absolute URL. Instants
are integer microseconds on our side and Timestamps on theirs, converted exactly; a lease
duration is whole seconds in Cloud Tasks, so a fractional one is rounded **up**.
"""

from __future__ import annotations

import math
from typing import Any, Final

from google.cloud import tasks_v2, tasks_v2beta2
from google.protobuf import duration_pb2, timestamp_pb2

from emulator.domain.limits import USEC_PER_SECOND
from emulator.domain.model import AddRequest, LeasedTask, QueueStats, StoredTask
from emulator.domain.queue_config import QueueConfig, QueueMode, RetryParameters

#: Cloud Tasks' ``filter`` that leases the oldest task's tag (legacy group_by_tag, no tag).
OLDEST_TAG_FILTER: Final = "tag_function=oldest_tag()"
_PAUSED: Final = 2  #: ``Queue.State.PAUSED`` in every version


def timestamp(usec: int) -> timestamp_pb2.Timestamp:
    """``usec`` microseconds since the epoch as a Timestamp (exact)."""
    seconds, rest = divmod(usec, USEC_PER_SECOND)
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=rest * 1000)


def usec_of(stamp: Any) -> int:
    """A Timestamp field as proto-plus reads it back (``DatetimeWithNanoseconds``) in µs; 0
    for an unset one (proto-plus reads it as None)."""
    if stamp is None:
        return 0
    pb = stamp.timestamp_pb()
    return int(pb.seconds * USEC_PER_SECOND + pb.nanos // 1000)


def lease_duration(seconds: float) -> duration_pb2.Duration:
    """A legacy lease of ``seconds`` as Cloud Tasks' whole-second duration, rounded up (a
    0.5 s lease is held 1 s rather than not at all)."""
    return duration_pb2.Duration(seconds=math.ceil(seconds))


def seconds_duration(seconds: float) -> duration_pb2.Duration:
    """``seconds`` as a Duration (whole seconds and nanoseconds)."""
    whole = int(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=round((seconds - whole) * 1e9))


def lease_filter(group_by_tag: bool, tag: str | None) -> str:
    """LeaseTasks' ``filter``: none, ``tag="x"`` (quoted as gcloud does) or the oldest tag."""
    if not group_by_tag:
        return ""
    if tag is None:
        return OLDEST_TAG_FILTER
    escaped = tag.replace("\\", "\\\\").replace('"', '\\"')
    return f'tag="{escaped}"'


def task_id(name: str) -> str:
    """The last segment of ``projects/P/locations/L/queues/Q/tasks/T``."""
    return name.rpartition("/")[2]


def _schedule(eta_usec: int | None) -> dict[str, timestamp_pb2.Timestamp]:
    return {} if eta_usec is None else {"schedule_time": timestamp(eta_usec)}


def pull_task(task_path: str | None, request: AddRequest, eta_usec: int | None) -> Any:
    """A v2beta2 pull task for ``request`` (``task_path`` None: Cloud Tasks names it; ETA None:
    now, by Cloud Tasks' clock)."""
    message = tasks_v2beta2.PullMessage(payload=request.payload, tag=request.tag or "")
    name = {} if task_path is None else {"name": task_path}
    return tasks_v2beta2.Task(pull_message=message, **name, **_schedule(eta_usec))


def push_task(task_path: str | None, request: AddRequest, eta_usec: int | None) -> Any:
    """A v2 push task for ``request``: an App Engine request (relative URL), or an HTTP request
    when it has an absolute ``http_url``; per-task retry parameters as its ``retry_config``."""
    method = getattr(tasks_v2.HttpMethod, (request.method or "POST").upper())
    headers = dict(request.headers)
    fields: dict[str, Any] = {} if task_path is None else {"name": task_path}
    if request.http_url is not None:
        fields["http_request"] = tasks_v2.HttpRequest(
            url=request.http_url, http_method=method, headers=headers, body=request.payload
        )
    else:
        fields["app_engine_http_request"] = tasks_v2.AppEngineHttpRequest(
            relative_uri=request.url or "/",
            http_method=method,
            headers=headers,
            body=request.payload,
        )
    if request.dispatch_deadline_usec is not None:
        fields["dispatch_deadline"] = seconds_duration(
            request.dispatch_deadline_usec / USEC_PER_SECOND
        )
    if request.retry_parameters is not None:
        fields["retry_config"] = retry_config(tasks_v2.RetryConfig, request.retry_parameters)
    return tasks_v2.Task(**fields, **_schedule(eta_usec))


def retry_config(kind: Any, params: RetryParameters) -> Any:
    """``params`` as a ``RetryConfig`` of ``kind``'s version: the retry limit as
    ``max_attempts`` (limit + 1, Google's own mapping), the age limit as
    ``max_retry_duration``, the backoffs and doublings as they are."""
    fields: dict[str, Any] = {}
    attempts = max_attempts(params)
    if attempts is not None:
        fields["max_attempts"] = attempts
    if params.task_age_limit_sec is not None:
        fields["max_retry_duration"] = duration_pb2.Duration(seconds=params.task_age_limit_sec)
    if params.min_backoff_seconds is not None:
        fields["min_backoff"] = seconds_duration(params.min_backoff_seconds)
    if params.max_backoff_seconds is not None:
        fields["max_backoff"] = seconds_duration(params.max_backoff_seconds)
    if params.max_doublings is not None:
        fields["max_doublings"] = params.max_doublings
    return kind(**fields)


def max_attempts(params: RetryParameters | None) -> int | None:
    """``RetryConfig.max_attempts`` of a ``task_retry_limit``: limit + 1 (None: unlimited)."""
    if params is None or params.task_retry_limit is None:
        return None
    return params.task_retry_limit + 1


def leased_task(task: Any) -> LeasedTask:
    """A leased v2beta2 task (FULL view): its ``schedule_time`` is the lease's end and token;
    its dispatch count is the legacy ``retry_count``."""
    return LeasedTask(
        name=task_id(task.name),
        eta_usec=usec_of(task.schedule_time),
        retry_count=int(task.status.attempt_dispatch_count),
        payload=bytes(task.pull_message.payload),
        tag=task.pull_message.tag or None,
        created_usec=usec_of(task.create_time),
    )


def stored_pull_task(queue: str, task: Any) -> StoredTask:
    """A v2beta2 pull task as stored."""
    return StoredTask(
        queue=queue,
        name=task_id(task.name),
        eta_usec=usec_of(task.schedule_time),
        payload=bytes(task.pull_message.payload),
        tag=task.pull_message.tag or None,
        retry_count=int(task.status.attempt_dispatch_count),
        created_usec=usec_of(task.create_time),
        mode=QueueMode.PULL,
    )


def stored_push_task(queue: str, task: Any) -> StoredTask:
    """A v2 push task as stored: its App Engine (or HTTP) request's method, URL, headers, body."""
    http = "http_request" in task
    request = task.http_request if http else task.app_engine_http_request
    return StoredTask(
        queue=queue,
        name=task_id(task.name),
        eta_usec=usec_of(task.schedule_time),
        payload=bytes(request.body),
        retry_count=int(task.dispatch_count),
        created_usec=usec_of(task.create_time),
        mode=QueueMode.PUSH,
        method=tasks_v2.HttpMethod(request.http_method).name,
        url=None if http else request.relative_uri,
        headers=tuple(sorted(request.headers.items())),
        http_url=request.url if http else None,
    )


def queue_stats(queue: str, message: Any) -> QueueStats:
    """A ``Queue`` read with ``stats`` in its mask as the legacy statistics, the way Google's
    SDK reads them: tasks_count → tasks, oldest_estimated_arrival_time → oldest ETA,
    executed_last_minute_count → leased in the last minute, concurrent_dispatches_count →
    in flight, effective_execution_rate → enforced rate. Cloud Tasks has no hourly count and
    no ready/delayed split (None)."""
    stats = message.stats
    oldest = (
        usec_of(stats.oldest_estimated_arrival_time)
        if "oldest_estimated_arrival_time" in stats
        else None
    )
    return QueueStats(
        queue=queue,
        tasks=int(stats.tasks_count),
        oldest_eta_usec=oldest,
        leased_last_minute=int(stats.executed_last_minute_count),
        leased_last_hour=None,
        in_flight=int(stats.concurrent_dispatches_count),
        enforced_rate=float(stats.effective_execution_rate),
        paused=int(message.state) == _PAUSED,
    )


def is_pull(message: Any) -> bool:
    """Whether a v2beta2 ``Queue`` is a pull queue (its ``pull_target`` is set)."""
    return "pull_target" in message


def expected_attempts(config: QueueConfig) -> int | None:
    """The ``max_attempts`` a queue of ``config`` should have (None: unlimited)."""
    return max_attempts(config.retry_parameters)
