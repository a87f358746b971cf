"""The two filter languages of Cloud Tasks that the emulator reads.

* LeaseTasks ``filter``: ``tag=TAG``, ``tag="TAG"`` (gcloud's form; ``\\"`` and ``\\\\``
  escape a quote and a backslash) or ``tag_function=oldest_tag()``; empty means any task.
* ListQueues ``filter``: terms joined by ``AND``, each ``FIELD:*`` (the field is set, e.g.
  Google's own example ``app_engine_http_target: *``) or ``FIELD = VALUE`` / ``FIELD !=
  VALUE`` on a top-level enum or string field (``state = PAUSED``, v2beta3 ``type = PULL``).

Anything else is INVALID_ARGUMENT quoting the filter and saying what is understood.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from google.protobuf.descriptor import FieldDescriptor

from emulator.domain.limits import MAX_TAG_LENGTH
from emulator.faces.cloud_tasks.errors import invalid
from emulator.faces.cloud_tasks.versions import Dialect, Pb

_TAG_RE: Final = re.compile(r'\s*tag\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^"\s][^"]*?))\s*\Z', re.S)
_OLDEST_RE: Final = re.compile(r"\s*tag_function\s*=\s*oldest_tag\(\s*\)\s*\Z")
_LEASE_FORMS: Final = 'tag=TAG, tag="TAG" or tag_function=oldest_tag()'
_TERM_RE: Final = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(:|!=|=)\s*(.*?)\s*\Z", re.S)


@dataclass(frozen=True)
class LeaseFilter:
    """What a LeaseTasks filter asks for, in the core's words (``lease(group_by_tag, tag)``)."""

    group_by_tag: bool = False
    tag: str | None = None


def lease_filter(text: str) -> LeaseFilter:
    """Read a LeaseTasks ``filter``."""
    if not text.strip():
        return LeaseFilter()
    if _OLDEST_RE.match(text):
        return LeaseFilter(group_by_tag=True)
    match = _TAG_RE.match(text)
    if match is None:
        raise invalid("filter", f"{text[:200]!r} is not supported; use {_LEASE_FORMS}")
    tag = re.sub(r"\\(.)", r"\1", match[1]) if match[1] is not None else match[2]
    if not tag:
        raise invalid("filter", f"the tag of {text!r} is empty; use {_LEASE_FORMS}")
    if len(tag) > MAX_TAG_LENGTH:
        raise invalid("filter", f"the tag must be at most {MAX_TAG_LENGTH} characters")
    return LeaseFilter(group_by_tag=True, tag=tag)


QueuePredicate = Callable[[Pb], bool]


def queue_filter(d: Dialect, text: str) -> QueuePredicate:
    """Read a ListQueues ``filter`` into a test of ``d``'s Queue messages."""
    if not text.strip():
        return lambda queue: True
    tests = [_term(d, term, text) for term in re.split(r"\s+AND\s+", text.strip())]
    return lambda queue: all(test(queue) for test in tests)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _term(d: Dialect, term: str, whole: str) -> QueuePredicate:
    match = _TERM_RE.match(term)
    if match is None:
        raise _unsupported(whole, f"{term!r} is not FIELD:*, FIELD = VALUE or FIELD != VALUE")
    name, operator, value = _snake(match[1]), match[2], match[3]
    fields = d.message("Queue").DESCRIPTOR.fields_by_name
    field = fields.get(name) or fields.get(f"{name}_")
    if field is None:
        raise _unsupported(whole, f"{match[1]!r} is not a field of Queue")
    if operator == ":":
        if value != "*":
            raise _unsupported(whole, f"only {match[1]}:* (the field is set) is understood")
        if field.message_type is None:
            raise _unsupported(whole, f"{match[1]}:* needs a message field")
        return lambda queue: bool(queue.HasField(field.name))
    expected = _value(field, value.strip('"'), whole)
    if operator == "=":
        return lambda queue: bool(getattr(queue, field.name) == expected)
    return lambda queue: bool(getattr(queue, field.name) != expected)


def _value(field: FieldDescriptor, text: str, whole: str) -> object:
    if field.enum_type is not None:
        value = field.enum_type.values_by_name.get(text)
        if value is None:
            names = ", ".join(v.name for v in field.enum_type.values)
            raise _unsupported(whole, f"{text!r} is not a {field.json_name} ({names})")
        return value.number
    if field.type == FieldDescriptor.TYPE_STRING:
        return text
    raise _unsupported(whole, f"{field.json_name} cannot be compared; use an enum or string field")


def _unsupported(whole: str, why: str) -> Exception:
    return invalid("filter", f"{whole[:200]!r}: {why}")
