"""Checks of caller input against the limits, done server-side because not every client does.

The one home of these rules: faces check only the types of what they parse and leave the
ranges to these functions (the JSON face calls the argument checks before the service, so
a request that is wrong in both ways is reported for its argument, as it always was).

Each function raises :class:`TaskQueueError` (whole-operation problems) or returns an
:class:`AddResult`-ready ``(code, message)`` pair (per-task problems of an add batch).
"""

from __future__ import annotations

import math

from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import (
    CONFIG_QUEUE_NAME_RE,
    HTTP_URL_RE,
    MAX_DISPATCH_DEADLINE_USEC,
    MAX_ETA_USEC,
    MAX_LEASE_SECONDS,
    MAX_PEEK_PAGE_SIZE,
    MAX_PULL_TASK_SIZE_BYTES,
    MAX_PUSH_TASK_SIZE_BYTES,
    MAX_TAG_LENGTH,
    MAX_TASKS_PER_ADD,
    MAX_TASKS_PER_LEASE,
    MAX_URL_LENGTH,
    MIN_DISPATCH_DEADLINE_USEC,
    TASK_NAME_RE,
)
from emulator.domain.model import AddRequest
from emulator.domain.queue_config import QueueConfig, QueueMode

Problem = tuple[ErrorCode, str] | None


def check_queue_name(name: object) -> str:
    """Return ``name`` if it can name a queue; raise INVALID_QUEUE_NAME otherwise."""
    if not isinstance(name, str) or not CONFIG_QUEUE_NAME_RE.match(name):
        raise TaskQueueError(
            ErrorCode.INVALID_QUEUE_NAME,
            f"invalid queue name {name!r}: must match [A-Za-z0-9-]{{1,499}}",
        )
    return name


def check_pull_queue(queue: QueueConfig) -> QueueConfig:
    """Return ``queue`` if it is a pull queue; raise INVALID_QUEUE_MODE otherwise."""
    if queue.mode is not QueueMode.PULL:
        raise TaskQueueError(
            ErrorCode.INVALID_QUEUE_MODE, f"queue {queue.name!r} is a push queue, not a pull queue"
        )
    return queue


def check_lease_tag(group_by_tag: bool, tag: str | None) -> None:
    """A lease names a tag only when it groups by tag; raise INVALID_REQUEST otherwise."""
    if tag is not None and not group_by_tag:
        raise TaskQueueError(ErrorCode.INVALID_REQUEST, "Tag specified, but group_by_tag was not.")


def check_lease_seconds(lease_seconds: object) -> float:
    """Return ``lease_seconds`` as a float in [0, MAX_LEASE_SECONDS]; else INVALID_REQUEST."""
    if isinstance(lease_seconds, bool) or not isinstance(lease_seconds, int | float):
        raise TaskQueueError(ErrorCode.INVALID_REQUEST, "lease_seconds must be a number")
    if (isinstance(lease_seconds, float) and not math.isfinite(lease_seconds)) or lease_seconds < 0:
        raise TaskQueueError(ErrorCode.INVALID_REQUEST, "lease_seconds must not be negative")
    if lease_seconds > MAX_LEASE_SECONDS:  # compared before float(): an int may be huge
        raise TaskQueueError(
            ErrorCode.INVALID_REQUEST,
            f"lease_seconds must not be greater than {MAX_LEASE_SECONDS} seconds",
        )
    return float(lease_seconds)


def check_max_tasks(max_tasks: object) -> int:
    """Return ``max_tasks`` if it is an int in [1, MAX_TASKS_PER_LEASE]; else INVALID_REQUEST."""
    if isinstance(max_tasks, bool) or not isinstance(max_tasks, int):
        raise TaskQueueError(ErrorCode.INVALID_REQUEST, "max_tasks must be an integer")
    if max_tasks <= 0:
        raise TaskQueueError(ErrorCode.INVALID_REQUEST, "max_tasks must be positive")
    if max_tasks > MAX_TASKS_PER_LEASE:
        raise TaskQueueError(
            ErrorCode.INVALID_REQUEST,
            f"max_tasks must not be greater than {MAX_TASKS_PER_LEASE}",
        )
    return max_tasks


def check_peek_limit(limit: object) -> int:
    """Return ``limit`` if it is an int in [1, MAX_PEEK_PAGE_SIZE]; else INVALID_REQUEST."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TaskQueueError(ErrorCode.INVALID_REQUEST, "limit must be an integer")
    if not 1 <= limit <= MAX_PEEK_PAGE_SIZE:
        raise TaskQueueError(
            ErrorCode.INVALID_REQUEST, f"limit must be between 1 and {MAX_PEEK_PAGE_SIZE}"
        )
    return limit


def check_batch_size(count: int) -> None:
    """An add batch holds 1..MAX_TASKS_PER_ADD tasks."""
    if count == 0:
        raise TaskQueueError(ErrorCode.INVALID_REQUEST, "no tasks to add")
    if count > MAX_TASKS_PER_ADD:
        raise TaskQueueError(
            ErrorCode.TOO_MANY_TASKS,
            f"at most {MAX_TASKS_PER_ADD} tasks can be added at once; got {count}",
        )


def _varint_size(value: int) -> int:
    if value < 0:
        return 10
    size = 1
    while value >= 0x80:
        value >>= 7
        size += 1
    return size


def _bytes_field(tag_size: int, length: int) -> int:
    return tag_size + _varint_size(length) + length


def add_request_size(
    queue_name: str, request: AddRequest, mode: QueueMode, name: str, eta_usec: int
) -> int:
    """The serialized size of the equivalent ``TaskQueueAddRequest`` (what the stub limits)."""
    size = _bytes_field(1, len(queue_name.encode()))
    size += _bytes_field(1, len(name.encode()))
    size += 1 + _varint_size(eta_usec)
    size += _bytes_field(1, len(request.payload))
    size += 2 + _varint_size(int(mode))
    if request.tag:
        size += _bytes_field(2, len(request.tag.encode()))
    if request.url is not None:
        size += _bytes_field(1, len(request.url.encode()))
    if request.http_url is not None:  # it travels where an App Engine url would
        size += _bytes_field(1, len(request.http_url.encode()))
    if request.method is not None:
        size += 2
    for key, value in request.headers:
        size += 2 + _bytes_field(1, len(key.encode())) + _bytes_field(1, len(value.encode()))
    if request.dispatch_deadline_usec is not None:
        size += 2 + _varint_size(request.dispatch_deadline_usec)
    return size


#: What :func:`add_request_size` adds beyond the fields' own bytes, at most: a tag and a
#: length varint (<= 2 + 5 bytes) per string field (queue, name, payload, tag, url,
#: http_url: 42), the ETA, mode, method and deadline fields (<= 11 + 12 + 2 + 12: 37).
_SIZE_OVERHEAD_BOUND = 42 + 37
#: ... and per header: its group tags (2) and two string fields (<= 14).
_HEADER_OVERHEAD_BOUND = 16


def add_request_size_bound(queue_name: str, request: AddRequest, name: str) -> int:
    """An upper bound of :func:`add_request_size` from lengths alone (a character is at most
    4 bytes of UTF-8). Exists for speed: sizing every task exactly was ~15 % of an embedded
    add(100); a task far under the limit (nearly all) needs only this."""
    texts = len(queue_name) + len(name)
    for text in (request.tag, request.url, request.http_url):
        if text:
            texts += len(text)
    size = _SIZE_OVERHEAD_BOUND + len(request.payload)
    headers = request.headers
    if headers:  # a pull task has none: no generator to build
        texts += sum(len(k) + len(v) for k, v in headers)
        size += _HEADER_OVERHEAD_BOUND * len(headers)
    return size + 4 * texts


def check_add_request(
    queue: QueueConfig, request: AddRequest, eta_usec: int, now_usec: int
) -> Problem:
    """Per-task validation of one add request, in the stub's order (ETA, then size), plus
    name and tag rules. An auto-named request (no name) is sized without a name, as the stub
    does. Returns None when valid."""
    name = request.name or ""
    if eta_usec < 0 or eta_usec > now_usec + MAX_ETA_USEC:
        return ErrorCode.INVALID_ETA, "ETA must not be negative or more than 30 days ahead"
    if name and not TASK_NAME_RE.match(name):
        return ErrorCode.INVALID_TASK_NAME, f"invalid task name {name[:50]!r}"
    if request.tag is not None and len(request.tag) > MAX_TAG_LENGTH:
        return ErrorCode.INVALID_TAG, f"tag must be at most {MAX_TAG_LENGTH} characters"
    mode = request.mode if request.mode is not None else queue.mode
    if request.tag and mode is not QueueMode.PULL:
        return ErrorCode.INVALID_TAG, "tag can only be specified for pull tasks"
    problem = _check_push_fields(request)
    if problem is not None:
        return problem
    limit = MAX_PULL_TASK_SIZE_BYTES if mode is QueueMode.PULL else MAX_PUSH_TASK_SIZE_BYTES
    if add_request_size_bound(queue.name, request, name) <= limit:
        return None
    size = add_request_size(queue.name, request, mode, name, eta_usec)
    if size > limit:
        return ErrorCode.TASK_TOO_LARGE, f"task size must be at most {limit} bytes; found {size}"
    return None


def _check_push_fields(request: AddRequest) -> Problem:
    """A push task's URL is relative and at most MAX_URL_LENGTH long (path part), and its
    dispatch deadline lies in [MIN_DISPATCH_DEADLINE_USEC, MAX_DISPATCH_DEADLINE_USEC]. A
    request with none of them (every pull task) returns at once."""
    url, deadline = request.url, request.dispatch_deadline_usec
    if url is None and deadline is None and request.http_url is None:
        return None
    problem = _check_http_url(request)
    if problem is not None:
        return problem
    if url is not None:
        path = url.split("?", 1)[0]
        if not url.startswith("/"):
            return (
                ErrorCode.INVALID_URL,
                f"task URL must be relative (start with '/'): {url[:50]!r}",
            )
        if len(path) > MAX_URL_LENGTH:
            return ErrorCode.INVALID_URL, f"task URL must be at most {MAX_URL_LENGTH} characters"
    if deadline is not None and not (
        MIN_DISPATCH_DEADLINE_USEC <= deadline <= MAX_DISPATCH_DEADLINE_USEC
    ):
        return (
            ErrorCode.INVALID_DISPATCH_DEADLINE,
            f"dispatch_deadline_usec must be between {MIN_DISPATCH_DEADLINE_USEC} and "
            f"{MAX_DISPATCH_DEADLINE_USEC}",
        )
    return None


def _check_http_url(request: AddRequest) -> Problem:
    """An HTTP-target task's URL is absolute (``http://`` or ``https://`` and a host), at most
    MAX_URL_LENGTH long, on a push task without an App Engine ``url``."""
    url = request.http_url
    if url is None:
        return None
    if request.url is not None:
        return ErrorCode.INVALID_URL, "a task has either an App Engine url or an http_url, not both"
    if request.mode is QueueMode.PULL:
        return ErrorCode.INVALID_URL, "http_url can only be given for push tasks"
    if not HTTP_URL_RE.match(url):
        return (
            ErrorCode.INVALID_URL,
            f"http_url must be an absolute http:// or https:// URL with a host: {url[:50]!r}",
        )
    if len(url) > MAX_URL_LENGTH:
        return ErrorCode.INVALID_URL, f"http_url must be at most {MAX_URL_LENGTH} characters"
    return None
