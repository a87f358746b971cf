"""Task rows in SQL: the ``tasks`` columns, a :class:`StoredTask` as the values it binds,
the insert statements those values fill, and the rows read back (whole, or what a lease
needs).

Binding costs: Python's ``sqlite3`` binds ``int``, ``float``, ``str`` and ``bytearray``
directly, but passes every other value (``None`` and ``bytes`` included) through its adapter
registry first, which fails an attribute lookup and formats the error it then discards:
~0.9 µs per ``None`` and ~1.4 µs per ``bytes`` against ~0.2-0.3 µs (Python 3.11, measured).
A pull task has eight NULL columns of fifteen, so its row is encoded as a *shape*, the set
of its NULL columns, written into the statement as ``NULL`` literals, plus the values that
are not NULL, with the payload as a ``bytearray`` (stored as the same BLOB). The statements
are cached by shape and row count; the shapes that occur are few (pull tasks with and
without a tag, push tasks of a handful of kinds).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from typing import Any

from emulator.domain.model import ReadyTask, StoredTask
from emulator.domain.queue_config import RetryParameters, queue_mode

COLUMNS = (
    "queue, name, eta_usec, payload, tag, retry_count, created_usec, leased_at_usec, mode, "
    "method, url, headers, retry_parameters, dispatch_deadline_usec, http_url"
)
COLUMN_COUNT = len(COLUMNS.split(","))
#: What a lease reads (:class:`ReadyTask`): every column fetched costs the ``sqlite3``
#: module two calls, each taking the connection's mutex, and a value to build.
READY_COLUMNS = "name, payload, tag, retry_count, created_usec, retry_parameters"
#: Task rows per multi-row ``INSERT`` (a batch add's limit): at most 1,500 variables.
INSERT_CHUNK = 100
#: Bit ``i`` of a shape: column ``i`` of :data:`COLUMNS` is NULL in the row.
_BITS = tuple(1 << i for i in range(COLUMN_COUNT))

#: A row ready to bind: its shape (the NULL columns' bits) and its other values, in order.
Row = tuple[int, list[Any]]


def encode(task: StoredTask) -> Row:
    """``task`` as a :data:`Row` of :data:`COLUMNS` (see the module for why)."""
    values = (
        task.queue,
        task.name,
        task.eta_usec,
        bytearray(task.payload),
        task.tag,
        task.retry_count,
        task.created_usec,
        task.leased_at_usec,
        int(task.mode),
        task.method,
        task.url,
        json.dumps([list(h) for h in task.headers]) if task.headers else None,
        None if task.retry_parameters is None else json.dumps(task.retry_parameters.to_dict()),
        task.dispatch_deadline_usec,
        task.http_url,
    )
    shape = 0
    bound = []
    for bit, value in zip(_BITS, values, strict=True):
        if value is None:
            shape |= bit
        else:
            bound.append(value)
    return shape, bound


def decode(row: Sequence[Any]) -> StoredTask:
    """The task of a row of :data:`COLUMNS` (positional arguments, in the field order of
    :class:`StoredTask`: a page of tasks reads many rows, and keywords cost more)."""
    headers = row[11]
    return StoredTask(
        row[0],  # queue
        row[1],  # name
        row[2],  # eta_usec
        bytes(row[3]),  # payload
        row[4],  # tag
        row[5],  # retry_count
        row[6],  # created_usec
        queue_mode(row[8]),  # mode
        row[9],  # method
        row[10],  # url
        tuple((k, v) for k, v in json.loads(headers)) if headers else (),
        _retry_from_json(row[12]),
        row[13],  # dispatch_deadline_usec
        row[7],  # leased_at_usec
        row[14],  # http_url
    )


def decode_ready(row: Sequence[Any]) -> ReadyTask:
    """The :class:`ReadyTask` of a row of :data:`READY_COLUMNS`."""
    return ReadyTask(row[0], bytes(row[1]), row[2], row[3], row[4], _retry_from_json(row[5]))


def _retry_from_json(text: str | None) -> RetryParameters | None:
    """Also reads rows written before 0.2, which kept unset parameters as null."""
    return None if text is None else RetryParameters.from_dict(json.loads(text))


def by_shape(rows: Iterable[Row]) -> list[tuple[int, list[list[Any]]]]:
    """``rows`` grouped by shape, each group in chunks of at most :data:`INSERT_CHUNK`
    value lists, rows in their order within a shape (nothing reads the rowid order)."""
    groups: dict[int, list[list[Any]]] = {}
    for shape, values in rows:
        groups.setdefault(shape, []).append(values)
    return [
        (shape, group[start : start + INSERT_CHUNK])
        for shape, group in groups.items()
        for start in range(0, len(group), INSERT_CHUNK)
    ]


@functools.lru_cache(maxsize=1024)
def insert_rows(shape: int, count: int) -> str:
    """``INSERT`` of ``count`` rows of one ``shape`` (positional ``?`` for the values)."""
    marks = ", ".join("NULL" if shape & bit else "?" for bit in _BITS)
    return f"INSERT INTO tasks ({COLUMNS}) VALUES {', '.join([f'({marks})'] * count)}"


@functools.lru_cache(maxsize=64)
def insert_if_name_free(shape: int) -> str:
    """The task's row unless a tombstone holds its name; a live one is the UNIQUE conflict,
    ignored. ``?1`` and ``?2`` are the queue and the name (never NULL)."""
    numbers = iter(range(1, COLUMN_COUNT + 1))
    marks = ", ".join("NULL" if shape & bit else f"?{next(numbers)}" for bit in _BITS)
    return (
        f"INSERT INTO tasks ({COLUMNS}) SELECT {marks} "
        "WHERE NOT EXISTS (SELECT 1 FROM tombstones WHERE queue = ?1 AND name = ?2) "
        "ON CONFLICT (queue, name) DO NOTHING"
    )
