"""JSON ↔ domain for the native API: strict field readers and serialisers.

Readers raise ``TaskQueueError(INVALID_REQUEST)`` with a message that names the field by
its path (``tasks[2].payload``) and what is wrong with it. Payloads travel as base64.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import PUSH_METHODS
from emulator.domain.model import AddRequest, LeasedTask, QueueStats, StoredTask
from emulator.domain.queue_config import QueueConfig, QueueMode, RetryParameters

JsonObject = dict[str, Any]
_MISSING = object()
#: Largest value an SQLite INTEGER (and a proto int64) holds.
_MAX_INT64 = 2**63 - 1


def bad(path: str, problem: str) -> TaskQueueError:
    """An INVALID_REQUEST error about the field at ``path``."""
    return TaskQueueError(ErrorCode.INVALID_REQUEST, f"{path}: {problem}")


def parse_body(data: bytes) -> JsonObject:
    """Decode a request body that must be a JSON object (an empty body is ``{}``)."""
    if not data.strip():
        return {}
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TaskQueueError(
            ErrorCode.INVALID_REQUEST, f"request body is not valid JSON: {exc}"
        ) from None
    except RecursionError:
        raise TaskQueueError(
            ErrorCode.INVALID_REQUEST, "request body is not valid JSON: nested too deeply"
        ) from None
    if not isinstance(value, dict):
        raise TaskQueueError(ErrorCode.INVALID_REQUEST, "request body must be a JSON object")
    _check_unicode(value)
    return value


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_unicode(body: JsonObject) -> None:
    """Reject strings holding lone surrogates (JSON ``"\\ud800"``): they cannot be stored."""
    stack: list[tuple[str, object]] = [("", body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not _encodable(value):
                raise bad(path, "is not valid Unicode (it contains a lone surrogate)")
        elif isinstance(value, dict):
            for key, child in value.items():
                if not _encodable(key):
                    raise bad(path or "body", "has a key that is not valid Unicode")
                stack.append((_join(path, key), child))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(value))


class Fields:
    """Typed access to one JSON object, rejecting unknown keys."""

    def __init__(self, obj: object, path: str, allowed: frozenset[str]) -> None:
        if not isinstance(obj, dict):
            raise bad(path or "body", "must be a JSON object")
        unknown = sorted(set(obj) - allowed)
        if unknown:
            raise bad(_join(path, unknown[0]), "unknown field")
        self._obj: Mapping[str, Any] = obj
        self._path = path

    def has(self, key: str) -> bool:
        """True if ``key`` is present and not null."""
        return self._obj.get(key) is not None

    def raw(self, key: str) -> Any:
        """The value as decoded, or None."""
        return self._obj.get(key)

    def path(self, key: str) -> str:
        """The path of ``key`` for messages."""
        return _join(self._path, key)

    def integer(
        self, key: str, *, default: Any = _MISSING, low: int | None = None, high: int | None = None
    ) -> Any:
        """An int (not a bool) within [low, high]; ``default`` when absent (else required)."""
        value = self._required(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(self.path(key), f"must be an integer, not {_kind(value)}")
        _check_range(self.path(key), value, low, high)
        return value

    def number(
        self,
        key: str,
        *,
        default: Any = _MISSING,
        low: float | None = None,
        high: float | None = None,
    ) -> Any:
        """A finite int or float within [low, high]."""
        value = self._required(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(self.path(key), f"must be a number, not {_kind(value)}")
        if not math.isfinite(value):
            raise bad(self.path(key), "must be a finite number")
        _check_range(self.path(key), value, low, high)
        return float(value) if isinstance(value, float) else value

    def string(self, key: str, *, default: Any = _MISSING) -> Any:
        """A string."""
        value = self._required(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str):
            raise bad(self.path(key), f"must be a string, not {_kind(value)}")
        return value

    def boolean(self, key: str, *, default: Any = _MISSING) -> Any:
        """A JSON boolean."""
        value = self._required(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, bool):
            raise bad(self.path(key), f"must be true or false, not {_kind(value)}")
        return value

    def base64(self, key: str, *, default: Any = _MISSING) -> Any:
        """Bytes sent as standard base64 text."""
        value = self.string(key, default=default)
        if value is default and default is not _MISSING:
            return value
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise bad(self.path(key), "is not valid base64") from None

    def array(self, key: str, *, default: Any = _MISSING) -> Any:
        """A JSON array."""
        value = self._required(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list):
            raise bad(self.path(key), f"must be an array, not {_kind(value)}")
        return value

    def _required(self, key: str, default: Any) -> Any:
        value = self._obj.get(key)
        if value is None:
            if default is _MISSING:
                raise bad(self.path(key), "is required")
            return default
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _check_range(path: str, value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise bad(path, f"must be at least {low}; got {value}")
    if high is not None and value > high:
        raise bad(path, f"must be at most {high}; got {value}")


# -- requests ----------------------------------------------------------------------------------

_TASK_FIELDS = frozenset(
    {
        "name",
        "payload",
        "tag",
        "eta_usec",
        "countdown_seconds",
        "mode",
        "method",
        "url",
        "headers",
        "retry_options",
        "dispatch_deadline_usec",
    }
)
_RETRY_FIELDS = frozenset(
    {
        "task_retry_limit",
        "task_age_limit",
        "min_backoff_seconds",
        "max_backoff_seconds",
        "max_doublings",
    }
)


def add_request(obj: object, path: str) -> AddRequest:
    """One element of an add request's ``tasks`` array."""
    f = Fields(obj, path, _TASK_FIELDS)
    if f.has("eta_usec") and f.has("countdown_seconds"):
        raise bad(path, "give eta_usec or countdown_seconds, not both")
    return AddRequest(
        payload=f.base64("payload", default=b""),
        name=f.string("name", default=None),
        eta_usec=f.integer("eta_usec", default=None, low=0, high=2**62),
        countdown_seconds=f.number("countdown_seconds", default=None, low=-1e12, high=1e12),
        tag=f.string("tag", default=None),
        mode=_mode(f),
        method=_method(f),
        url=f.string("url", default=None),
        headers=_headers(f),
        retry_parameters=_retry(f),
        dispatch_deadline_usec=f.integer(
            "dispatch_deadline_usec", default=None, low=0, high=_MAX_INT64
        ),
    )


def _mode(f: Fields) -> QueueMode | None:
    value = f.string("mode", default=None)
    if value is None:
        return None
    if value not in ("pull", "push"):
        raise bad(f.path("mode"), f"must be 'pull' or 'push', not {value!r}")
    return QueueMode.PULL if value == "pull" else QueueMode.PUSH


def _method(f: Fields) -> str | None:
    value = f.string("method", default=None)
    if value is not None and value.upper() not in PUSH_METHODS:
        raise bad(f.path("method"), f"must be one of {', '.join(PUSH_METHODS)}")
    return None if value is None else value.upper()


def _headers(f: Fields) -> tuple[tuple[str, str], ...]:
    value = f.raw("headers")
    if value is None:
        return ()
    items = list(value.items()) if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise bad(f.path("headers"), "must be an object or an array of [name, value] pairs")
    pairs: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        pair = list(item) if isinstance(item, list | tuple) else None
        if pair is None or len(pair) != 2 or not all(isinstance(x, str) for x in pair):
            raise bad(f"{f.path('headers')}[{i}]", "must be a [name, value] pair of strings")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _retry(f: Fields) -> RetryParameters | None:
    if not f.has("retry_options"):
        return None
    r = Fields(f.raw("retry_options"), f.path("retry_options"), _RETRY_FIELDS)
    return RetryParameters(
        task_retry_limit=r.integer("task_retry_limit", default=None, low=0, high=2**31 - 1),
        task_age_limit_sec=r.integer("task_age_limit", default=None, low=1, high=2**62),
        min_backoff_seconds=r.number("min_backoff_seconds", default=None, low=0),
        max_backoff_seconds=r.number("max_backoff_seconds", default=None, low=0),
        max_doublings=r.integer("max_doublings", default=None, low=0, high=2**31 - 1),
    )


# -- responses ---------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    """Standard base64 text of ``data``."""
    return base64.b64encode(data).decode("ascii")


def rfc3339(usec: int | None) -> str | None:
    """``2026-01-01T00:00:00.000001Z`` for an epoch-microsecond instant, or None."""
    if usec is None:
        return None
    moment = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        microseconds=usec
    )
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def leased_task(task: LeasedTask) -> JsonObject:
    """A task handed out by a lease."""
    return {
        "name": task.name,
        "payload": b64(task.payload),
        "tag": task.tag,
        "eta_usec": task.eta_usec,
        "eta": rfc3339(task.eta_usec),
        "retry_count": task.retry_count,
    }


def stored_task(task: StoredTask, now_usec: int) -> JsonObject:
    """A stored task as the peek listing shows it."""
    return {
        "name": task.name,
        "queue": task.queue,
        "payload": b64(task.payload),
        "tag": task.tag,
        "eta_usec": task.eta_usec,
        "eta": rfc3339(task.eta_usec),
        "state": task.state(now_usec).value,
        "retry_count": task.retry_count,
        "created_usec": task.created_usec,
        "leased_at_usec": task.leased_at_usec,
        "mode": task.mode.label,
        "method": task.method,
        "url": task.url,
        "headers": [list(h) for h in task.headers],
        "retry_options": retry_options(task.retry_parameters),
        "dispatch_deadline_usec": task.dispatch_deadline_usec,
    }


#: ``RetryParameters.to_dict()`` keys that JSON spells as queue.yaml does.
_RETRY_JSON_KEYS: Final = MappingProxyType({"task_age_limit_sec": "task_age_limit"})
_RETRY_FIELDS_BY_JSON_KEY: Final = MappingProxyType({v: k for k, v in _RETRY_JSON_KEYS.items()})


def retry_options(params: RetryParameters | None) -> JsonObject | None:
    """Retry parameters with the queue.yaml key names (only those that are set)."""
    if params is None:
        return None
    return {_RETRY_JSON_KEYS.get(k, k): v for k, v in params.to_dict().items()}


def retry_options_from_json(value: object, path: str) -> RetryParameters | None:
    """The inverse of :func:`retry_options` (types are checked, ranges are not).

    Raises:
        TaskQueueError: INVALID_REQUEST naming ``path`` for a non-object, an unknown key or
            a value of the wrong type.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad(path, f"must be an object, not {_kind(value)}")
    try:
        return RetryParameters.from_dict(
            {_RETRY_FIELDS_BY_JSON_KEY.get(k, k): v for k, v in value.items()}
        )
    except ValueError as exc:
        raise bad(path, str(exc)) from None


def queue_stats(stats: QueueStats) -> JsonObject:
    """One queue's statistics."""
    return {
        "queue": stats.queue,
        "exists": stats.exists,
        "tasks": stats.tasks,
        "oldest_eta_usec": stats.oldest_eta_usec,
        "oldest_eta": rfc3339(stats.oldest_eta_usec),
        "leased_last_minute": stats.leased_last_minute,
        "leased_last_hour": stats.leased_last_hour,
        "in_flight": stats.in_flight,
        "enforced_rate": stats.enforced_rate,
        "paused": stats.paused,
    }


def queue_config(queue: QueueConfig) -> JsonObject:
    """A queue's configuration."""
    return {
        "name": queue.name,
        "mode": queue.mode.label,
        "rate": queue.rate,
        "rate_per_second": queue.rate_per_second,
        "bucket_size": queue.bucket_size,
        "max_concurrent_requests": queue.max_concurrent_requests,
        "retry_parameters": retry_options(queue.retry_parameters),
        "acl": [
            {"user_email": a.user_email} if a.user_email else {"writer_email": a.writer_email}
            for a in queue.acl
        ],
        "target": queue.target,
    }
