"""The native API's JSON wire format, both directions, for the server and the remote shim.

The JSON face (:mod:`emulator.faces.json.api`) reads requests with the ``*_from_json``
readers of the request section and writes responses with the ``*_to_json`` writers; the
shim's remote backend (:mod:`shims.backends.remote`) does the opposite with the same
functions, so the two sides cannot drift apart (``tests/test_json_codec.py`` round-trips
every pair). No Flask here: the remote backend imports this module in processes that never
serve.

Readers are strict and typed (:class:`Fields`): a value of the wrong type raises
``TaskQueueError(INVALID_REQUEST)`` with a message that names the field by its path
(``tasks[2].payload``) and what is wrong with it. Request readers reject unknown fields;
response readers ignore them, so a client reads answers from a newer server. Payloads
travel as base64; instants as integer microseconds (plus RFC 3339 text for people).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import enum
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, TypeVar, overload

from emulator.domain.errors import (
    DEADLINE_EXCEEDED,
    CallDeadlineExceeded,
    ErrorCode,
    TaskQueueError,
)
from emulator.domain.faults import (
    FaultRate,
    FaultReport,
    FaultRule,
    InjectedCount,
    fault_call,
    fault_count,
    fault_error,
)
from emulator.domain.limits import PUSH_METHODS
from emulator.domain.model import (
    AddRequest,
    AddResult,
    LeasedTask,
    QueueStats,
    StoredTask,
    TaskPage,
)
from emulator.domain.queue_config import AclEntry, QueueConfig, QueueMode, RetryParameters
from emulator.faces.json import text

#: A JSON document being written (anything ``json.dumps`` takes).
JsonObject = dict[str, Any]
#: Largest value an SQLite INTEGER (and a proto int64) holds.
_MAX_INT64: Final = 2**63 - 1
#: Latest ``eta_usec`` a request may ask for.
_MAX_ETA_USEC: Final = 2**62
D = TypeVar("D")
R = TypeVar("R")


class _Missing(enum.Enum):
    """The ``default`` of a required field."""

    MISSING = enum.auto()


_REQUIRED: Final = _Missing.MISSING


def bad(path: str, problem: str) -> TaskQueueError:
    """An INVALID_REQUEST error about the field at ``path``."""
    return TaskQueueError(ErrorCode.INVALID_REQUEST, f"{path}: {problem}")


def parse_body(data: bytes) -> JsonObject:
    """Decode a request body that must be a JSON object (an empty body is ``{}``)."""
    if not data.strip():
        return {}
    try:
        value = text.loads(data)
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
    if b"\\u" in data or b"\0" in data:  # a \u escape, or UTF-16/32 text (json reads it)
        _check_unicode(value)  # the only ways to spell a lone surrogate: UTF-8 cannot
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
    """Typed access to one JSON object.

    ``allowed`` names the keys it may have (any other is an error); None accepts any key
    (for responses). Each reader takes a ``default`` returned when the key is absent or
    null; without one the key is required.
    """

    def __init__(self, obj: object, path: str, allowed: frozenset[str] | None) -> None:
        if not isinstance(obj, dict):
            raise bad(path or "body", "must be a JSON object")
        if allowed is not None:
            unknown = sorted(set(obj) - allowed)
            if unknown:
                raise bad(_join(path, unknown[0]), "unknown field")
        self._obj: Mapping[str, object] = obj
        self._path = path

    def has(self, key: str) -> bool:
        """True if ``key`` is present and not null."""
        return self._obj.get(key) is not None

    def raw(self, key: str) -> object:
        """The value as decoded, or None."""
        return self._obj.get(key)

    def path(self, key: str) -> str:
        """The path of ``key`` for messages."""
        return _join(self._path, key)

    def _value(self, key: str, default: object) -> object:
        """The value of ``key``; ``_REQUIRED`` marks "absent, use the default"."""
        value = self._obj.get(key)
        if value is None:
            if default is _REQUIRED:
                raise bad(self.path(key), "is required")
            return _REQUIRED
        return value

    @overload
    def integer(self, key: str, *, low: int | None = None, high: int | None = None) -> int: ...
    @overload
    def integer(
        self, key: str, *, default: D, low: int | None = None, high: int | None = None
    ) -> int | D: ...
    def integer(
        self,
        key: str,
        *,
        default: object = _REQUIRED,
        low: int | None = None,
        high: int | None = None,
    ) -> object:
        """An int (not a bool) within [low, high]."""
        value = self._value(key, default)
        if value is _REQUIRED:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(self.path(key), f"must be an integer, not {_kind(value)}")
        _check_range(self.path(key), value, low, high)
        return value

    @overload
    def number(self, key: str, *, low: float | None = None, high: float | None = None) -> float: ...
    @overload
    def number(
        self, key: str, *, default: D, low: float | None = None, high: float | None = None
    ) -> float | D: ...
    def number(
        self,
        key: str,
        *,
        default: object = _REQUIRED,
        low: float | None = None,
        high: float | None = None,
    ) -> object:
        """A finite int or float within [low, high] (an int stays an int)."""
        value = self._value(key, default)
        if value is _REQUIRED:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(self.path(key), f"must be a number, not {_kind(value)}")
        if not _finite(value):
            raise bad(self.path(key), "must be a finite number")
        _check_range(self.path(key), value, low, high)
        return value

    @overload
    def string(self, key: str) -> str: ...
    @overload
    def string(self, key: str, *, default: D) -> str | D: ...
    def string(self, key: str, *, default: object = _REQUIRED) -> object:
        """A string."""
        value = self._value(key, default)
        if value is _REQUIRED:
            return default
        if not isinstance(value, str):
            raise bad(self.path(key), f"must be a string, not {_kind(value)}")
        return value

    @overload
    def boolean(self, key: str) -> bool: ...
    @overload
    def boolean(self, key: str, *, default: D) -> bool | D: ...
    def boolean(self, key: str, *, default: object = _REQUIRED) -> object:
        """A JSON boolean."""
        value = self._value(key, default)
        if value is _REQUIRED:
            return default
        if not isinstance(value, bool):
            raise bad(self.path(key), f"must be true or false, not {_kind(value)}")
        return value

    @overload
    def base64(self, key: str) -> bytes: ...
    @overload
    def base64(self, key: str, *, default: D) -> bytes | D: ...
    def base64(self, key: str, *, default: object = _REQUIRED) -> object:
        """Bytes sent as standard base64 text."""
        value = self._value(key, default)
        if value is _REQUIRED:
            return default
        if not isinstance(value, str):
            raise bad(self.path(key), f"must be a string, not {_kind(value)}")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise bad(self.path(key), "is not valid base64") from None

    @overload
    def array(self, key: str) -> list[object]: ...
    @overload
    def array(self, key: str, *, default: D) -> list[object] | D: ...
    def array(self, key: str, *, default: object = _REQUIRED) -> object:
        """A JSON array."""
        value = self._value(key, default)
        if value is _REQUIRED:
            return default
        if not isinstance(value, list):
            raise bad(self.path(key), f"must be an array, not {_kind(value)}")
        return value

    def nested_list(self, key: str) -> list[Fields]:
        """A required array of objects, each read leniently (for responses)."""
        items = self.array(key)
        return [Fields(item, f"{self.path(key)}[{i}]", None) for i, item in enumerate(items)]

    def nested(self, key: str) -> Fields:
        """A required object, read leniently (for responses)."""
        if not self.has(key):
            raise bad(self.path(key), "is required")
        return Fields(self._obj[key], self.path(key), None)


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


def _finite(value: float) -> bool:
    """True for every int (even one too large for a float) and finite floats."""
    return isinstance(value, int) or math.isfinite(value)


def _check_range(path: str, value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise bad(path, f"must be at least {low}; got {value}")
    if high is not None and value > high:
        raise bad(path, f"must be at most {high}; got {value}")


def _mode_label(text: str, path: str) -> QueueMode:
    if text not in ("pull", "push"):
        raise bad(path, f"must be 'pull' or 'push', not {text!r}")
    return QueueMode.PULL if text == "pull" else QueueMode.PUSH


#: Each code's wire name: an enum member's ``.name`` is a descriptor call, and an answer to
#: a batch of 1000 names 1000 codes.
_CODE_NAMES: Final[Mapping[ErrorCode, str]] = {c: c.name for c in ErrorCode}


def error_code_from_json(name: str) -> ErrorCode:
    """The :class:`ErrorCode` called ``name``; INTERNAL_ERROR for a name this version lacks."""
    return ErrorCode.__members__.get(name, ErrorCode.INTERNAL_ERROR)


def b64(data: bytes) -> str:
    """Standard base64 text of ``data``."""
    return base64.b64encode(data).decode("ascii")


def rfc3339(usec: int | None) -> str | None:
    """``2026-01-01T00:00:00.000001Z`` for an epoch-microsecond instant, or None."""
    return None if usec is None else _rfc3339(usec)


@functools.lru_cache(maxsize=1024)
def _rfc3339(usec: int) -> str:
    """Cached: every task of one lease shares its ETA, and building a ``datetime`` per
    leased task was ~8 % of a lease's server time (docs/PERFORMANCE.md)."""
    moment = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        microseconds=usec
    )
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


# -- retry parameters (in requests and responses) -------------------------------------------------

#: ``RetryParameters.to_dict()`` keys that JSON spells as queue.yaml does.
_RETRY_JSON_KEYS: Final = MappingProxyType({"task_age_limit_sec": "task_age_limit"})
_RETRY_FIELDS_BY_JSON_KEY: Final = MappingProxyType({v: k for k, v in _RETRY_JSON_KEYS.items()})
_RETRY_FIELDS: Final = frozenset(
    _RETRY_JSON_KEYS.get(f.name, f.name) for f in dataclasses.fields(RetryParameters)
)


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


def _requested_retry_options(f: Fields) -> RetryParameters | None:
    """``retry_options`` of a task to add, within the ranges the store and the wire hold."""
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


# -- requests: client → server ---------------------------------------------------------------------

_TASK_FIELDS: Final = frozenset(
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
_ADD_FIELDS: Final = frozenset({"tasks"})
_LEASE_FIELDS: Final = frozenset({"lease_seconds", "max_tasks", "group_by_tag", "tag"})
_MODIFY_FIELDS: Final = frozenset({"eta_usec", "lease_seconds"})
_DELETE_FIELDS: Final = frozenset({"names"})


def add_request_to_json(request: AddRequest) -> JsonObject:
    """One element of an add request's ``tasks`` array (unset fields are left out)."""
    body: JsonObject = {"payload": b64(request.payload)}
    if request.name is not None:
        body["name"] = request.name
    if request.tag is not None:
        body["tag"] = request.tag
    if request.eta_usec is not None:
        body["eta_usec"] = request.eta_usec
    if request.countdown_seconds is not None:
        body["countdown_seconds"] = request.countdown_seconds
    if request.mode is not None:
        body["mode"] = request.mode.label
    if request.method is not None:
        body["method"] = request.method
    if request.url is not None:
        body["url"] = request.url
    if request.headers:
        body["headers"] = [list(pair) for pair in request.headers]
    if request.retry_parameters is not None:
        body["retry_options"] = retry_options(request.retry_parameters)
    if request.dispatch_deadline_usec is not None:
        body["dispatch_deadline_usec"] = request.dispatch_deadline_usec
    return body


def add_request_from_json(obj: object, path: str) -> AddRequest:
    """One element of an add request's ``tasks`` array."""
    f = Fields(obj, path, _TASK_FIELDS)
    if f.has("eta_usec") and f.has("countdown_seconds"):
        raise bad(path, "give eta_usec or countdown_seconds, not both")
    return AddRequest(
        payload=f.base64("payload", default=b""),
        name=f.string("name", default=None),
        eta_usec=f.integer("eta_usec", default=None, low=0, high=_MAX_ETA_USEC),
        countdown_seconds=f.number("countdown_seconds", default=None, low=-1e12, high=1e12),
        tag=f.string("tag", default=None),
        mode=_requested_mode(f),
        method=_requested_method(f),
        url=f.string("url", default=None),
        headers=_requested_headers(f),
        retry_parameters=_requested_retry_options(f),
        dispatch_deadline_usec=f.integer(
            "dispatch_deadline_usec", default=None, low=0, high=_MAX_INT64
        ),
    )


def _requested_mode(f: Fields) -> QueueMode | None:
    value = f.string("mode", default=None)
    return None if value is None else _mode_label(value, f.path("mode"))


def _requested_method(f: Fields) -> str | None:
    value = f.string("method", default=None)
    if value is not None and value.upper() not in PUSH_METHODS:
        raise bad(f.path("method"), f"must be one of {', '.join(PUSH_METHODS)}")
    return None if value is None else value.upper()


def _requested_headers(f: Fields) -> tuple[tuple[str, str], ...]:
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


def add_body_to_json(requests: Sequence[AddRequest]) -> JsonObject:
    """The body of ``POST /v1/queues/{queue}/tasks``."""
    return {"tasks": [add_request_to_json(r) for r in requests]}


def add_body_from_json(body: object) -> list[AddRequest]:
    """The tasks of ``POST /v1/queues/{queue}/tasks``, in order.

    Each task is read by :func:`_plain_pull_task` when it can, else by
    :func:`add_request_from_json`, which gives the same request or the error naming the field.
    """
    items = Fields(body, "", _ADD_FIELDS).array("tasks")
    return [
        _plain_pull_task(item) or add_request_from_json(item, f"tasks[{i}]")
        for i, item in enumerate(items)
    ]


_PLAIN_TASK_FIELDS: Final = frozenset({"name", "payload", "tag", "eta_usec", "mode"})


def _plain_pull_task(item: object) -> AddRequest | None:
    """The request a pull task of well-typed plain fields (``name``, ``payload``, ``tag``,
    ``eta_usec``, ``mode`` ``"pull"`` or none) asks for, in a few type checks: what the shim sends
    for nearly every task. None for anything else, valid or not, and for a bad value (the
    full reader then says what is wrong)."""
    if type(item) is not dict or not _PLAIN_TASK_FIELDS.issuperset(item):
        return None
    name, tag, eta = item.get("name"), item.get("tag"), item.get("eta_usec")
    mode = item.get("mode")
    if (mode is not None and mode != "pull") or not (
        (name is None or type(name) is str)
        and (tag is None or type(tag) is str)
        and (eta is None or (type(eta) is int and 0 <= eta <= _MAX_ETA_USEC))
    ):
        return None
    payload = _plain_payload(item.get("payload"))
    if payload is None:
        return None
    pull = None if mode is None else QueueMode.PULL  # no mode: the queue's
    return AddRequest(payload=payload, name=name, eta_usec=eta, tag=tag, mode=pull)


@dataclass(frozen=True)
class LeaseRequest:
    """The body of ``POST /v1/queues/{queue}/lease`` (types checked here, ranges by
    :mod:`emulator.core.validation`)."""

    lease_seconds: float
    max_tasks: int
    group_by_tag: bool = False
    tag: str | None = None


def lease_request_to_json(request: LeaseRequest) -> JsonObject:
    """``group_by_tag`` and ``tag`` are sent only when they say something."""
    body: JsonObject = {"lease_seconds": request.lease_seconds, "max_tasks": request.max_tasks}
    if request.group_by_tag:
        body["group_by_tag"] = True
    if request.tag is not None:
        body["tag"] = request.tag
    return body


def lease_request_from_json(body: object) -> LeaseRequest:
    f = Fields(body, "", _LEASE_FIELDS)
    return LeaseRequest(
        lease_seconds=f.number("lease_seconds"),
        max_tasks=f.integer("max_tasks"),
        group_by_tag=f.boolean("group_by_tag", default=False),
        tag=f.string("tag", default=None),
    )


@dataclass(frozen=True)
class ModifyLeaseRequest:
    """The body of ``POST /v1/queues/{queue}/tasks/{name}/lease``: the lease token (the
    task's ETA) and the new lease from now (0 releases the task)."""

    eta_usec: int
    lease_seconds: float


def modify_lease_request_to_json(request: ModifyLeaseRequest) -> JsonObject:
    return {"eta_usec": request.eta_usec, "lease_seconds": request.lease_seconds}


def modify_lease_request_from_json(body: object) -> ModifyLeaseRequest:
    f = Fields(body, "", _MODIFY_FIELDS)
    return ModifyLeaseRequest(
        eta_usec=f.integer("eta_usec"),
        lease_seconds=f.number("lease_seconds"),
    )


def delete_request_to_json(names: Sequence[str]) -> JsonObject:
    """The body of ``POST /v1/queues/{queue}/delete``."""
    return {"names": list(names)}


def delete_request_from_json(body: object) -> list[str]:
    names = Fields(body, "", _DELETE_FIELDS).array("names")
    checked: list[str] = []
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise bad(f"names[{i}]", "must be a string")
        checked.append(name)
    return checked


# -- responses: server → client --------------------------------------------------------------------


def add_result_to_json(result: AddResult) -> JsonObject:
    """One task's outcome: ``code`` and ``name`` always; ``eta_usec`` and ``message`` if set."""
    body: JsonObject = {"code": _CODE_NAMES[result.code], "name": result.name}
    if result.eta_usec is not None:
        body["eta_usec"] = result.eta_usec
    if result.message:
        body["message"] = result.message
    return body


def add_result_from_json(f: Fields) -> AddResult:
    return AddResult(
        code=error_code_from_json(f.string("code")),
        name=f.string("name", default=None),
        message=f.string("message", default=""),
        eta_usec=f.integer("eta_usec", default=None),
    )


def add_results_to_json(results: Sequence[AddResult]) -> JsonObject:
    """The answer to an add: per-task results in request order and how many were added."""
    return {
        "tasks": [add_result_to_json(r) for r in results],
        "added": sum(r.code is ErrorCode.OK for r in results),
    }


def _plain_payload(text: object) -> bytes | None:
    """A fast reader's payload: ``b""`` when absent, the bytes of valid standard base64,
    None for anything else (the full reader then names the problem)."""
    if text is None:
        return b""
    if type(text) is not str:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _read_each(
    body: object, key: str, plain: Callable[[object], R | None], full: Callable[[Fields], R]
) -> list[R]:
    """Each object of the answer array ``key``: by ``plain`` when it can, else by ``full``
    (which gives the same value, or the error naming the field). ``plain``'s values must be
    truthy (None is its "no")."""
    items = _objects(body, key)
    return [plain(item) or full(Fields(item, f"{key}[{i}]", None)) for i, item in enumerate(items)]


def _objects(body: object, key: str) -> list[Any]:
    """The array ``key`` of an answer, checked first to hold only objects, as
    :meth:`Fields.nested_list` checks it (the error names the first that is not)."""
    items = Fields(body, "", None).array(key)
    if not all(type(item) is dict for item in items):
        Fields(body, "", None).nested_list(key)
    return items


def add_results_from_json(body: object) -> list[AddResult]:
    """The per-task results of an add's answer; each read by :func:`_plain_add_result` when
    it can, else by :func:`add_result_from_json` (the same result, or the error)."""
    return _read_each(body, "tasks", _plain_add_result, add_result_from_json)


def _plain_add_result(item: object) -> AddResult | None:
    """A result whose fields all have their types, in a few checks; None otherwise."""
    if type(item) is not dict:
        return None
    code, name, eta = item.get("code"), item.get("name"), item.get("eta_usec")
    message = item.get("message")
    if not (
        type(code) is str
        and (name is None or type(name) is str)
        and (eta is None or type(eta) is int)
        and (message is None or type(message) is str)
    ):
        return None
    return AddResult(error_code_from_json(code), name, message or "", eta)


def leased_task_to_json(task: LeasedTask) -> JsonObject:
    """A task handed out by a lease."""
    return {
        "name": task.name,
        "payload": b64(task.payload),
        "tag": task.tag,
        "eta_usec": task.eta_usec,
        "eta": rfc3339(task.eta_usec),
        "retry_count": task.retry_count,
    }


def leased_task_from_json(f: Fields) -> LeasedTask:
    return LeasedTask(
        name=f.string("name"),
        eta_usec=f.integer("eta_usec"),
        retry_count=f.integer("retry_count"),
        payload=f.base64("payload", default=b""),
        tag=f.string("tag", default=None),
    )


def leased_tasks_to_json(tasks: Sequence[LeasedTask]) -> JsonObject:
    """The answer to a lease."""
    return {"tasks": [leased_task_to_json(t) for t in tasks]}


def leased_tasks_from_json(body: object) -> list[LeasedTask]:
    """The tasks of a lease's answer; each read by :func:`_plain_leased_task` when it can,
    else by :func:`leased_task_from_json` (the same task, or the error naming the field)."""
    return _read_each(body, "tasks", _plain_leased_task, leased_task_from_json)


def _plain_leased_task(item: object) -> LeasedTask | None:
    """A leased task whose fields all have their types, in a few checks; None otherwise."""
    if type(item) is not dict:
        return None
    name, eta, count, tag = (
        item.get("name"),
        item.get("eta_usec"),
        item.get("retry_count"),
        item.get("tag"),
    )
    if not (
        type(name) is str
        and type(eta) is int
        and type(count) is int
        and (tag is None or type(tag) is str)
    ):
        return None
    payload = _plain_payload(item.get("payload"))
    return None if payload is None else LeasedTask(name, eta, count, payload, tag)


def modified_lease_to_json(name: str, eta_usec: int) -> JsonObject:
    """The answer to a lease change: the new ETA, which is the new lease token."""
    return {"name": name, "eta_usec": eta_usec, "eta": rfc3339(eta_usec)}


def modified_lease_from_json(body: object) -> int:
    return Fields(body, "", None).integer("eta_usec")


def delete_results_to_json(names: Sequence[str], codes: Sequence[ErrorCode]) -> JsonObject:
    """The answer to a delete: per name OK, UNKNOWN_TASK or TOMBSTONED_TASK."""
    return {
        "results": [{"name": n, "code": _CODE_NAMES[c]} for n, c in zip(names, codes, strict=True)]
    }


def delete_results_from_json(body: object) -> list[ErrorCode]:
    items = _objects(body, "results")
    return [_result_code(item, f"results[{i}]") for i, item in enumerate(items)]


def _result_code(item: object, path: str) -> ErrorCode:
    """The ``code`` of one result object, read by hand: an ErrorCode is no value for
    :func:`_read_each` (OK is 0, falsy)."""
    code = item.get("code") if type(item) is dict else None
    if type(code) is not str:
        code = Fields(item, path, None).string("code")  # raises naming the field
    return error_code_from_json(code)


def stored_task_to_json(task: StoredTask, now_usec: int) -> JsonObject:
    """A stored task as the peek listing shows it (``state`` at ``now_usec``)."""
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
        "http_url": task.http_url,
    }


def stored_task_from_json(f: Fields) -> StoredTask:
    return StoredTask(
        queue=f.string("queue"),
        name=f.string("name"),
        eta_usec=f.integer("eta_usec"),
        payload=f.base64("payload", default=b""),
        tag=f.string("tag", default=None),
        retry_count=f.integer("retry_count", default=0),
        created_usec=f.integer("created_usec", default=0),
        mode=_mode_label(f.string("mode"), f.path("mode")),
        method=f.string("method", default=None),
        url=f.string("url", default=None),
        headers=_stored_headers(f),
        retry_parameters=retry_options_from_json(f.raw("retry_options"), f.path("retry_options")),
        dispatch_deadline_usec=f.integer("dispatch_deadline_usec", default=None),
        leased_at_usec=f.integer("leased_at_usec", default=None),
        http_url=f.string("http_url", default=None),
    )


def _stored_headers(f: Fields) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for i, item in enumerate(f.array("headers", default=[])):
        if not (
            isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)
        ):
            raise bad(f"{f.path('headers')}[{i}]", "must be a [name, value] pair of strings")
        pairs.append((item[0], item[1]))
    return tuple(pairs)


def task_page_to_json(page: TaskPage) -> JsonObject:
    """One page of the peek listing."""
    return {
        "tasks": [stored_task_to_json(t, page.now_usec) for t in page.tasks],
        "next_page_token": page.next_page_token,
        "now_usec": page.now_usec,
    }


def task_page_from_json(body: object) -> TaskPage:
    f = Fields(body, "", None)
    return TaskPage(
        tasks=[stored_task_from_json(item) for item in f.nested_list("tasks")],
        next_page_token=f.string("next_page_token", default=None) or None,
        now_usec=f.integer("now_usec", default=0),
    )


def queue_stats_to_json(stats: QueueStats) -> JsonObject:
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
        "ready": stats.ready,
        "delayed": stats.delayed,
        "rate_limited_leases_last_minute": stats.rate_limited_leases_last_minute,
    }


def queue_stats_from_json(f: Fields) -> QueueStats:
    return QueueStats(
        queue=f.string("queue"),
        tasks=f.integer("tasks", default=0),
        oldest_eta_usec=f.integer("oldest_eta_usec", default=None),
        leased_last_minute=f.integer("leased_last_minute", default=None),
        leased_last_hour=f.integer("leased_last_hour", default=None),
        in_flight=f.integer("in_flight", default=None),
        enforced_rate=f.number("enforced_rate", default=None),
        paused=f.boolean("paused", default=False),
        exists=f.boolean("exists", default=True),
        ready=f.integer("ready", default=None),
        delayed=f.integer("delayed", default=None),
        rate_limited_leases_last_minute=f.integer("rate_limited_leases_last_minute", default=None),
    )


def stats_to_json(stats: Sequence[QueueStats]) -> JsonObject:
    """The answer to ``GET /v1/stats``, in request order."""
    return {"stats": [queue_stats_to_json(s) for s in stats]}


def stats_from_json(body: object) -> list[QueueStats]:
    return [queue_stats_from_json(item) for item in Fields(body, "", None).nested_list("stats")]


def queue_config_to_json(queue: QueueConfig) -> JsonObject:
    """A queue's configuration (``line`` stays on the server)."""
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


def queue_config_from_json(f: Fields) -> QueueConfig:
    return QueueConfig(
        name=f.string("name"),
        mode=_mode_label(f.string("mode"), f.path("mode")),
        rate=f.string("rate", default=None),
        rate_per_second=f.number("rate_per_second", default=None),
        bucket_size=f.integer("bucket_size", default=None),
        max_concurrent_requests=f.integer("max_concurrent_requests", default=None),
        retry_parameters=retry_options_from_json(
            f.raw("retry_parameters"), f.path("retry_parameters")
        ),
        acl=tuple(_acl_entry(entry) for entry in f.nested_list("acl")) if f.has("acl") else (),
        target=f.string("target", default=None),
    )


def _acl_entry(f: Fields) -> AclEntry:
    return AclEntry(
        user_email=f.string("user_email", default=None),
        writer_email=f.string("writer_email", default=None),
    )


def queue_to_json(queue: QueueConfig, stats: QueueStats) -> JsonObject:
    """A queue as ``GET /v1/queues`` lists it: configuration, pause state and statistics."""
    return {
        **queue_config_to_json(queue),
        "paused": stats.paused,
        "stats": queue_stats_to_json(stats),
    }


def queue_from_json(f: Fields) -> tuple[QueueConfig, QueueStats]:
    return queue_config_from_json(f), queue_stats_from_json(f.nested("stats"))


def queues_to_json(queues: Sequence[tuple[QueueConfig, QueueStats]]) -> JsonObject:
    """The answer to ``GET /v1/queues``."""
    return {"queues": [queue_to_json(config, stats) for config, stats in queues]}


def queues_from_json(body: object) -> list[tuple[QueueConfig, QueueStats]]:
    return [queue_from_json(item) for item in Fields(body, "", None).nested_list("queues")]


def time_to_json(now_usec: int) -> JsonObject:
    """The answer to ``GET /v1/time``: the emulator's clock."""
    return {"now_usec": now_usec, "now": rfc3339(now_usec)}


def time_from_json(body: object) -> int:
    return Fields(body, "", None).integer("now_usec")


@dataclass(frozen=True)
class ClockState:
    """The test-control clock (``/_emulator/clock``): its time and whether it is frozen."""

    now_usec: int
    frozen: bool


def clock_state_to_json(state: ClockState) -> JsonObject:
    return {"now_usec": state.now_usec, "now": rfc3339(state.now_usec), "frozen": state.frozen}


def clock_state_from_json(body: object) -> ClockState:
    f = Fields(body, "", None)
    return ClockState(now_usec=f.integer("now_usec"), frozen=f.boolean("frozen", default=False))


def forgotten_to_json(queue: str, name: str, deleted: bool) -> JsonObject:
    """The answer to ``/_emulator/queues/{queue}/tasks/{name}/forget``: did the task exist."""
    return {"queue": queue, "name": name, "deleted": deleted}


def forgotten_from_json(body: object) -> bool:
    return Fields(body, "", None).boolean("deleted")


# -- errors ----------------------------------------------------------------------------------------


def error_to_json(code: ErrorCode, message: str) -> JsonObject:
    """The body of every error response: ``{"error": {"code": NAME, "message": ...}}``."""
    return {"error": {"code": code.name, "message": message or code.name}}


def deadline_error_to_json(error: CallDeadlineExceeded) -> JsonObject:
    """The error body of a call that ran out of time: code ``DEADLINE_EXCEEDED`` (no
    ``TaskQueueServiceError`` code; the SDK raises ``apiproxy_errors.DeadlineExceededError``)."""
    return {"error": {"code": DEADLINE_EXCEEDED, "message": error.message or DEADLINE_EXCEEDED}}


def error_from_json(status: int, body: object) -> TaskQueueError:
    """The :class:`TaskQueueError` an error response stands for: a
    :class:`CallDeadlineExceeded` for ``DEADLINE_EXCEEDED``, INTERNAL_ERROR for a body that
    is not an error body or a code this version does not know."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return TaskQueueError(ErrorCode.INTERNAL_ERROR, f"HTTP {status} without an error body")
    name = str(error.get("code", ""))
    message = str(error.get("message") or name)
    if name == DEADLINE_EXCEEDED:
        return CallDeadlineExceeded(message)
    return TaskQueueError(error_code_from_json(name), message)


# -- injected faults (/_emulator/faults) -------------------------------------------------------

_FAULT_FIELDS: Final = frozenset({"call", "error", "count", "queue"})


def fault_rule_to_json(rule: FaultRule) -> JsonObject:
    """A fault to arm (``POST /_emulator/faults``), or one still pending."""
    return {
        "call": rule.call.value,
        "error": rule.error,
        "count": rule.count,
        "queue": rule.queue,
    }


def fault_rule_from_json(body: object, path: str = "") -> FaultRule:
    """A fault to arm: ``call`` and ``error`` required, ``count`` (default 1) and ``queue``
    (default null: any queue); every value is checked and an error names its field."""
    f = Fields(body, path, _FAULT_FIELDS)
    return FaultRule(
        _checked(f, "call", fault_call, f.string("call")),
        _checked(f, "error", fault_error, f.string("error")),
        _checked(f, "count", fault_count, f.integer("count", default=1)),
        f.string("queue", default=None),
    )


def _checked(f: Fields, key: str, check: Callable[[object], D], value: object) -> D:
    """``check(value)``; its ``ValueError`` ("<key> must ...") becomes INVALID_REQUEST at
    ``key``'s path."""
    try:
        return check(value)
    except ValueError as exc:
        raise bad(f.path(key), str(exc).removeprefix(f"{key} ")) from None


def fault_report_to_json(report: FaultReport) -> JsonObject:
    """What fault injection holds: pending faults, injected counts, the random mode."""
    return {
        "pending": [fault_rule_to_json(rule) for rule in report.pending],
        "injected": [
            {"call": i.call.value, "error": i.error, "count": i.count} for i in report.injected
        ],
        "random": [{"call": r.call.value, "error": r.error, "rate": r.rate} for r in report.rates],
        "seed": report.seed,
    }


def fault_report_from_json(body: object) -> FaultReport:
    f = Fields(body, "", None)
    try:
        return FaultReport(
            pending=tuple(
                FaultRule(
                    fault_call(item.string("call")),
                    fault_error(item.string("error")),
                    item.integer("count"),
                    item.string("queue", default=None),
                )
                for item in f.nested_list("pending")
            ),
            injected=tuple(
                InjectedCount(
                    fault_call(item.string("call")), item.string("error"), item.integer("count")
                )
                for item in f.nested_list("injected")
            ),
            rates=tuple(
                FaultRate(
                    fault_call(item.string("call")),
                    fault_error(item.string("error")),
                    item.number("rate"),
                )
                for item in f.nested_list("random")
            ),
            seed=f.integer("seed", default=None),
        )
    except ValueError as exc:
        raise bad("faults", str(exc)) from None
