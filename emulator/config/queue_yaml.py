"""Read queue.yaml into a frozen :class:`~emulator.domain.queue_config.QueuesConfig`.

Validation follows Google's ``queueinfo.py`` (every pattern is a full match); queue names are
unique and non-empty; then the rules production applied at deployment
(:mod:`emulator.config.rules`). See legacy-taskqueue-api.md §5.

Every failure is a :class:`ConfigError` naming the file, the 1-based line, the queue and the
key, as far as they are known. The YAML is read with PyYAML's ``SafeLoader`` as a node graph
(never constructed into Python objects wholesale), so each value keeps its line mark and its
raw text: patterns are matched against the text as written, exactly as queueinfo does.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import Final, NoReturn

import yaml
from yaml.events import Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from emulator.config import rules
from emulator.domain.limits import CONFIG_QUEUE_NAME_RE
from emulator.domain.queue_config import (
    AclEntry,
    QueueConfig,
    QueueMode,
    QueuesConfig,
    RetryParameters,
)

__all__ = ["ConfigError", "load_queue_yaml", "parse_queue_yaml"]

# Patterns of queueinfo.py, applied with fullmatch (queueinfo wraps them as ``^(?:...)$``).
_RATE_RE: Final = re.compile(r"0|[0-9]+(\.[0-9]*)?/[smhd]")
_TOTAL_STORAGE_LIMIT_RE: Final = re.compile(r"[0-9]+(\.[0-9]*)?[BKMGT]?")
_TIME_VALUE_RE: Final = re.compile(r"([0-9]+(?:\.[0-9]*)?)([smhd])")
_MODE_RE: Final = re.compile(r"pull|push")
_RESUME_PAUSED_QUEUES_RE: Final = re.compile(r"True|False")
_TARGET_RE: Final = re.compile(r"(?:(?:((?!-)[a-z\d\-]{1,100})\.)?)((?!-)[a-z\d\-]{1,63})")
#: appinfo.APPLICATION_RE_STRING: ``[partition~][domain:]display-app-id``.
_APPLICATION_RE: Final = re.compile(
    r"(?:[a-z\d\-]{1,100}\~)?(?:(?!\-)[a-z\d\-\.]{1,100}:)?(?!-)[a-z\d\-]{0,99}[a-z\d]"
)

_SECONDS_PER_UNIT: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_BYTE_SUFFIXES: Final = "BKMGT"

_NULL_TAG: Final = "tag:yaml.org,2002:null"
_INT_TAG: Final = "tag:yaml.org,2002:int"
_FLOAT_TAG: Final = "tag:yaml.org,2002:float"
_STR_TAG: Final = "tag:yaml.org,2002:str"
_CONSTRUCTOR: Final = yaml.constructor.SafeConstructor()

_TOP_LEVEL_KEYS: Final = frozenset(
    {"application", "total_storage_limit", "resume_paused_queues", "queue"}
)
_QUEUE_KEYS: Final = frozenset(
    {
        "name",
        "mode",
        "rate",
        "bucket_size",
        "max_concurrent_requests",
        "retry_parameters",
        "acl",
        "target",
    }
)
_RETRY_KEYS: Final = frozenset(
    {
        "task_retry_limit",
        "task_age_limit",
        "min_backoff_seconds",
        "max_backoff_seconds",
        "max_doublings",
    }
)
_ACL_KEYS: Final = frozenset({"user_email", "writer_email"})


class ConfigError(Exception):
    """queue.yaml is unreadable or invalid.

    ``str(err)`` is one line: ``path:line: queue 'q': key 'k': message``, leaving out the
    parts that are unknown. ``line`` is 1-based. ``key`` is dotted for nested keys
    (``retry_parameters.task_age_limit``).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        queue: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.queue = queue
        self.key = key

    def __str__(self) -> str:
        parts: list[str] = []
        location = self.path or ""
        if self.line is not None:
            location = f"{location}:{self.line}" if location else f"line {self.line}"
        if location:
            parts.append(location)
        if self.queue is not None:
            parts.append(f"queue {self.queue!r}")
        if self.key is not None:
            parts.append(f"key {self.key!r}")
        parts.append(self.message)
        return ": ".join(parts)


# --------------------------------------------------------------------------- public API


def load_queue_yaml(path: str | os.PathLike[str]) -> QueuesConfig:
    """Read ``path`` as UTF-8 and parse it with :func:`parse_queue_yaml`.

    Raises ConfigError (naming the file) if it is missing, unreadable, not UTF-8 or invalid.
    """
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot read queue configuration: {reason}", path=name) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"file is not valid UTF-8 (byte {data[exc.start]:#04x})"
        raise ConfigError(message, path=name, line=line) from exc
    return parse_queue_yaml(text, path=name)


def parse_queue_yaml(text: str, *, path: str | None = None) -> QueuesConfig:
    """Validate queue.yaml ``text`` and return the frozen configuration.

    The result always has a ``default`` queue (the built-in push queue unless the file
    defines one). ``path`` is only used in error messages and as ``QueuesConfig.source``.
    Raises ConfigError on the first problem found.
    """
    where = _Where(path)
    return _parse_top_level(_compose(text, where), where)


# --------------------------------------------------------------------------- YAML nodes


@dataclass(frozen=True)
class _Where:
    """Where we are: the file and, inside a queue entry, the queue's name."""

    path: str | None
    queue: str | None = None

    def fail(self, node: Node | Event | None, message: str, key: str | None = None) -> NoReturn:
        """Raise ConfigError at the line where ``node`` starts (no line for None)."""
        mark = None if node is None else node.start_mark
        line = None if mark is None else mark.line + 1
        raise ConfigError(message, path=self.path, line=line, queue=self.queue, key=key)


@dataclass(frozen=True)
class _Field:
    """One ``key: value`` pair of a mapping; ``name`` is the dotted key used in errors."""

    key: str
    name: str
    key_node: Node
    value: Node

    @property
    def is_null(self) -> bool:
        """True for ``key:`` / ``key: ~`` / ``key: null``, which mean "not set"."""
        return self.value.tag == _NULL_TAG


_Fields = dict[str, _Field]


def _compose(text: str, where: _Where) -> Node:
    """The single document's root node; syntax errors, no document or several are errors."""
    try:
        documents = _compose_documents(text, where)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, where) from exc
    except RecursionError as exc:
        raise ConfigError("invalid YAML: nesting is too deep", path=where.path) from exc
    if not documents or documents[0].tag == _NULL_TAG:
        where.fail(documents[0] if documents else None, "Empty queue configuration.")
    return documents[0]


def _compose_documents(text: str, where: _Where) -> list[Node]:
    """Compose at most two documents (the second one is reported as an error)."""
    loader = yaml.SafeLoader(text)
    try:
        documents: list[Node] = []
        while loader.check_node():
            if documents:  # report the second document's ``---``
                second: Event = loader.peek_event()  # type: ignore[no-untyped-call]
                where.fail(second, "Multiple queue: sections in configuration.")
            node = loader.get_node()
            if node is None:
                break
            documents.append(node)
        return documents
    finally:
        loader.dispose()


def _yaml_error(exc: yaml.YAMLError, text: str, where: _Where) -> ConfigError:
    """Translate a PyYAML error into a ConfigError at the line of its mark."""
    line: int | None = None
    message = "invalid YAML"
    if isinstance(exc, yaml.MarkedYAMLError):
        if exc.problem_mark is not None:
            line = exc.problem_mark.line + 1
        if exc.context:
            message += f" ({exc.context})"
        message += f": {exc.problem or 'syntax error'}"
    elif isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character
        code = ord(char) if isinstance(char, str) else char
        message += f": unacceptable character #x{code:04x}: {exc.reason}"
    return ConfigError(message, path=where.path, line=line)


def _read_mapping(
    node: Node, where: _Where, kind: str, *, prefix: str = "", key: str | None = None
) -> _Fields:
    """The fields of a mapping node; a non-mapping, a non-scalar or duplicate key is an error.

    ``kind`` names the object in messages; ``key`` is reported if ``node`` is not a mapping.
    """
    if not isinstance(node, MappingNode):
        where.fail(node, f"{kind} must be a mapping, got {_describe(node)}", key)
    fields: _Fields = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            where.fail(key_node, f"keys of {kind} must be strings, got {_describe(key_node)}")
        name = key_node.value
        if name in fields:
            where.fail(key_node, f"duplicate key {name!r} in {kind}", prefix + name)
        fields[name] = _Field(name, prefix + name, key_node, value_node)
    return fields


def _reject_unknown(fields: _Fields, allowed: frozenset[str], where: _Where, kind: str) -> None:
    """Error on the first key of ``fields`` that is not in ``allowed``."""
    for field in fields.values():
        if field.key not in allowed:
            where.fail(field.key_node, f"unexpected key {field.key!r} in {kind}", field.name)


def _describe(node: Node) -> str:
    """A short description of a value for messages: its text, or 'a list' / 'a mapping'."""
    if isinstance(node, ScalarNode):
        return repr(node.value)
    return "a list" if isinstance(node, SequenceNode) else "a mapping"


# --------------------------------------------------------------------------- scalar values


def _matching(
    field: _Field | None, where: _Where, pattern: re.Pattern[str], expected: str
) -> str | None:
    """The raw text of a scalar that fully matches ``pattern``; None if absent or null."""
    if field is None or field.is_null:
        return None
    return _text(field, where, pattern, expected)


def _text(field: _Field, where: _Where, pattern: re.Pattern[str], expected: str) -> str:
    """The raw text of ``field``'s value, which must be a scalar fully matching ``pattern``."""
    node = field.value
    if not isinstance(node, ScalarNode) or not pattern.fullmatch(node.value):
        message = f"{field.key} must be {expected}, got {_describe(node)}"
        where.fail(field.key_node, message, field.name)
    return str(node.value)


def _integer(field: _Field | None, where: _Where, *, positive: bool) -> int | None:
    """A YAML integer (not a bool, float or string), > 0 or >= 0; None if absent or null."""
    if field is None or field.is_null:
        return None
    node = field.value
    value = _yaml_int(node)
    if value is None or value < int(positive):
        expected = "a positive integer" if positive else "a non-negative integer"
        where.fail(
            field.key_node, f"{field.key} must be {expected}, got {_describe(node)}", field.name
        )
    return value


def _number(field: _Field | None, where: _Where) -> float | None:
    """A finite, non-negative YAML int or float (not a bool or string); None if absent/null."""
    if field is None or field.is_null:
        return None
    node = field.value
    value = _yaml_float(node)
    if value is None or not math.isfinite(value) or value < 0:
        message = f"{field.key} must be a non-negative number, got {_describe(node)}"
        where.fail(field.key_node, message, field.name)
    return value


def _string(field: _Field, where: _Where) -> str:
    """A non-empty YAML string (a quoted or plain scalar that resolves to ``str``)."""
    node = field.value
    if not isinstance(node, ScalarNode) or node.tag != _STR_TAG or not node.value:
        message = f"{field.key} must be a non-empty string, got {_describe(node)}"
        where.fail(field.key_node, message, field.name)
    return str(node.value)


def _yaml_int(node: Node) -> int | None:
    """The value of an ``!!int`` scalar, else None (bools, floats and strings are not ints)."""
    if not isinstance(node, ScalarNode) or node.tag != _INT_TAG:
        return None
    try:
        return _CONSTRUCTOR.construct_yaml_int(node)
    except ValueError:  # an explicit ``!!int`` tag on text that is not a number
        return None


def _yaml_float(node: Node) -> float | None:
    """The value of an ``!!int`` or ``!!float`` scalar as a float, else None."""
    if isinstance(node, ScalarNode) and node.tag == _FLOAT_TAG:
        try:
            return _CONSTRUCTOR.construct_yaml_float(node)
        except ValueError:
            return None
    value = _yaml_int(node)
    return None if value is None else float(value)


# --------------------------------------------------------------------------- unit parsers


def _rate_per_second(field: _Field | None, rate: str | None, where: _Where) -> float | None:
    """queueinfo ``ParseRate`` on a ``rate`` that matched its pattern: ``10/m`` → 0.1667."""
    if field is None or rate is None:
        return None
    if rate == "0":
        return 0.0
    number, unit = rate.split("/")
    per_second = float(number) / _SECONDS_PER_UNIT[unit]
    if not math.isfinite(per_second):
        where.fail(field.key_node, f"rate {rate!r} is too large", field.name)
    return per_second


def _task_age_limit_sec(field: _Field | None, where: _Where) -> int | None:
    """``task_age_limit`` (``2d``, ``1.5h``) in whole seconds, rounded up; must be > 0."""
    text = _matching(
        field, where, _TIME_VALUE_RE, "a non-negative number followed by s, m, h or d (like 1.5h)"
    )
    if field is None or text is None:
        return None
    seconds = Decimal(text[:-1]) * _SECONDS_PER_UNIT[text[-1]]
    if seconds <= 0:
        where.fail(
            field.key_node, f"{field.key} must be greater than zero, got {text!r}", field.name
        )
    return int(seconds.to_integral_value(rounding=ROUND_CEILING))


def _total_storage_limit_bytes(field: _Field | None, where: _Where) -> int | None:
    """queueinfo ``ParseTotalStorageLimit``: B/K/M/G/T are powers of 1024; no suffix is int()."""
    text = _matching(
        field, where, _TOTAL_STORAGE_LIMIT_RE, "a number with an optional B, K, M, G or T suffix"
    )
    if field is None or text is None:
        return None
    if text[-1] in _BYTE_SUFFIXES:
        return int(Decimal(text[:-1]) * 1024 ** _BYTE_SUFFIXES.index(text[-1]))
    if "." in text:
        message = f"{field.key} {text!r} is invalid: without a suffix it must be whole bytes"
        where.fail(field.key_node, message, field.name)
    return int(text)


# --------------------------------------------------------------------------- the document


def _parse_top_level(root: Node, where: _Where) -> QueuesConfig:
    """Build the QueuesConfig from the document's root mapping."""
    fields = _read_mapping(root, where, "top level")
    _reject_unknown(fields, _TOP_LEVEL_KEYS, where, "top level")
    resume = _matching(
        fields.get("resume_paused_queues"), where, _RESUME_PAUSED_QUEUES_RE, "True or False"
    )
    return QueuesConfig.build(
        _parse_queues(fields.get("queue"), where),
        total_storage_limit_bytes=_total_storage_limit_bytes(
            fields.get("total_storage_limit"), where
        ),
        application=_matching(
            fields.get("application"), where, _APPLICATION_RE, "a valid application id"
        ),
        resume_paused_queues=None if resume is None else resume == "True",
        source=where.path,
    )


def _parse_queues(field: _Field | None, where: _Where) -> list[QueueConfig]:
    """The ``queue:`` list (absent or null means no queues); names must be unique."""
    if field is None or field.is_null:
        return []
    if not isinstance(field.value, SequenceNode):
        message = f"queue must be a list of queue entries, got {_describe(field.value)}"
        where.fail(field.value, message, "queue")
    queues: list[QueueConfig] = []
    first_line: dict[str, int | None] = {}
    for node in field.value.value:
        queue = _parse_queue(node, where)
        if queue.name in first_line:
            message = f"duplicate queue name (first defined on line {first_line[queue.name]})"
            dataclasses.replace(where, queue=queue.name).fail(node, message, "name")
        first_line[queue.name] = queue.line
        queues.append(queue)
    return queues


def _parse_queue(node: Node, where: _Where) -> QueueConfig:
    """One queue entry: each key's syntax first, then the pull/push deployment rules."""
    where = dataclasses.replace(where, queue=_raw_name(node))
    fields = _read_mapping(node, where, "queue entry")
    _reject_unknown(fields, _QUEUE_KEYS, where, "queue entry")
    name = _queue_name(node, fields.get("name"), where)
    mode_text = _matching(fields.get("mode"), where, _MODE_RE, "'pull' or 'push'")
    rate = _matching(
        fields.get("rate"), where, _RATE_RE, "0 or <number>/<unit> with unit s, m, h or d"
    )
    queue = QueueConfig(
        name=name,
        mode=QueueMode.PULL if mode_text == "pull" else QueueMode.PUSH,
        rate=rate,
        rate_per_second=_rate_per_second(fields.get("rate"), rate, where),
        bucket_size=_integer(fields.get("bucket_size"), where, positive=True),
        max_concurrent_requests=_integer(
            fields.get("max_concurrent_requests"), where, positive=True
        ),
        retry_parameters=_retry_parameters(fields.get("retry_parameters"), where),
        acl=_acl(fields.get("acl"), where),
        target=_matching(
            fields.get("target"), where, _TARGET_RE, "'module' or 'version.module' (a-z, 0-9, -)"
        ),
        line=node.start_mark.line + 1,
    )
    _check_rules(node, queue.mode, fields, where)
    return queue


def _raw_name(node: Node) -> str | None:
    """The entry's ``name`` as written (for error context), before anything is validated."""
    if not isinstance(node, MappingNode):
        return None
    for key_node, value_node in node.value:
        if key_node.value == "name" and isinstance(value_node, ScalarNode):
            return None if value_node.tag == _NULL_TAG else str(value_node.value)
    return None


def _queue_name(node: Node, field: _Field | None, where: _Where) -> str:
    """The required ``name``: 1-499 letters, digits and hyphens (queueinfo allows empty)."""
    if field is None or field.is_null:
        where.fail(node, "queue entry has no name", "name")
    return _text(field, where, CONFIG_QUEUE_NAME_RE, "1-499 letters, digits or hyphens")


def _retry_parameters(field: _Field | None, where: _Where) -> RetryParameters | None:
    """``retry_parameters`` as given; backoffs are checked min <= max only when both are set."""
    if field is None or field.is_null:
        return None
    fields = _read_mapping(
        field.value, where, "retry_parameters", prefix="retry_parameters.", key=field.name
    )
    _reject_unknown(fields, _RETRY_KEYS, where, "retry_parameters")
    params = RetryParameters(
        task_retry_limit=_integer(fields.get("task_retry_limit"), where, positive=False),
        task_age_limit_sec=_task_age_limit_sec(fields.get("task_age_limit"), where),
        min_backoff_seconds=_number(fields.get("min_backoff_seconds"), where),
        max_backoff_seconds=_number(fields.get("max_backoff_seconds"), where),
        max_doublings=_integer(fields.get("max_doublings"), where, positive=False),
    )
    low, high = params.min_backoff_seconds, params.max_backoff_seconds
    if low is not None and high is not None and low > high:
        field = fields["min_backoff_seconds"]
        message = (
            f"min_backoff_seconds ({low:g}) must not be greater than max_backoff_seconds ({high:g})"
        )
        where.fail(field.key_node, message, field.name)
    return params


def _acl(field: _Field | None, where: _Where) -> tuple[AclEntry, ...]:
    """The ``acl`` list of ``{user_email: ...}`` / ``{writer_email: ...}`` entries."""
    if field is None or field.is_null:
        return ()
    if not isinstance(field.value, SequenceNode):
        message = (
            f"acl must be a list of user_email/writer_email entries, got {_describe(field.value)}"
        )
        where.fail(field.value, message, "acl")
    return tuple(_acl_entry(node, where) for node in field.value.value)


def _acl_entry(node: Node, where: _Where) -> AclEntry:
    """One acl entry: a mapping with exactly one of ``user_email`` / ``writer_email``."""
    fields = _read_mapping(node, where, "acl entry", prefix="acl.", key="acl")
    _reject_unknown(fields, _ACL_KEYS, where, "acl entry")
    if len(fields) != 1:
        where.fail(node, "acl entry must have exactly one of user_email or writer_email", "acl")
    (field,) = fields.values()
    email = _string(field, where)
    if field.key == "user_email":
        return AclEntry(user_email=email)
    return AclEntry(writer_email=email)


def _check_rules(node: Node, mode: QueueMode, fields: _Fields, where: _Where) -> None:
    """Apply production's deployment rules (:mod:`emulator.config.rules`) to one entry whose
    keys have been read: a violation is reported at its key's line, or at the entry's line
    for a key that is missing."""
    given = _given_fields(fields, where)
    violation = rules.check_queue(mode, given.keys())
    if violation is None:
        return
    field = given.get(violation.key)
    at = node if violation.missing or field is None else field.key_node
    where.fail(at, violation.message, violation.key)


def _given_fields(fields: _Fields, where: _Where) -> dict[str, _Field]:
    """The entry's fields that are set (not null) by dotted name, ``retry_parameters.*`` too."""
    given = {f.name: f for f in fields.values() if not f.is_null}
    retry = given.get("retry_parameters")
    if retry is not None:
        nested = _read_mapping(retry.value, where, "retry_parameters", prefix="retry_parameters.")
        given.update((f.name, f) for f in nested.values() if not f.is_null)
    return given
