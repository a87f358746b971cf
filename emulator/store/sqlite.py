"""The one store: SQLite through the standard library.

A file by default (WAL journal, durable across restarts and ``kill -9``), ``:memory:`` on
request. Every transaction is ``BEGIN IMMEDIATE`` on a single connection guarded by a lock,
so transactions are serialised inside the process and, through SQLite's write lock, across
processes sharing a file. Leases use the ``(queue, eta_usec, name)`` and
``(queue, tag, eta_usec, name)`` indexes: O(log n + k), never a scan.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from emulator.domain.clock import Clock, SystemClock
from emulator.domain.errors import StorageUnavailable
from emulator.domain.limits import MEMORY_STORAGE
from emulator.domain.model import ReadyTask, StoredTask, TaskState
from emulator.store import sqlite_rows
from emulator.store.failures import is_storage_failure, storage_unavailable

SCHEMA_VERSION = 3
#: Columns added to ``tasks`` after schema 1, in order: a file of an older schema gets them
#: (as NULL) when it is opened. 2: ``http_url``, an HTTP-target push task's absolute URL.
_ADDED_TASK_COLUMNS = (("http_url", "TEXT"),)
#: 3: ``tombstones.created_usec``, when the name was tombstoned (``--tombstone-ttl``). A file
#: of schema 1 or 2 gets the column with every existing tombstone stamped at the migration.
_TOMBSTONE_TIME_INDEX = (
    "CREATE INDEX IF NOT EXISTS tombstones_by_time ON tombstones (created_usec, queue, name)"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    queue TEXT NOT NULL,
    name TEXT NOT NULL,
    eta_usec INTEGER NOT NULL,
    payload BLOB NOT NULL,
    tag TEXT,
    retry_count INTEGER NOT NULL DEFAULT 0,
    created_usec INTEGER NOT NULL,
    leased_at_usec INTEGER,
    mode INTEGER NOT NULL,
    method TEXT,
    url TEXT,
    headers TEXT,
    retry_parameters TEXT,
    dispatch_deadline_usec INTEGER,
    http_url TEXT,
    UNIQUE (queue, name)
);
CREATE INDEX IF NOT EXISTS tasks_by_eta ON tasks (queue, eta_usec, name);
CREATE INDEX IF NOT EXISTS tasks_by_tag ON tasks (queue, tag, eta_usec, name)
    WHERE tag IS NOT NULL;
CREATE TABLE IF NOT EXISTS tombstones (
    queue TEXT NOT NULL,
    name TEXT NOT NULL,
    created_usec INTEGER NOT NULL,
    PRIMARY KEY (queue, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lease_log (
    queue TEXT NOT NULL,
    at_usec INTEGER NOT NULL,
    count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS lease_log_by_queue ON lease_log (queue, at_usec);
CREATE INDEX IF NOT EXISTS lease_log_by_time ON lease_log (at_usec);
CREATE TABLE IF NOT EXISTS queue_state (
    queue TEXT PRIMARY KEY,
    paused INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"""

#: The queue ``?1`` is not paused: one probe of ``queue_state``'s key, a constant of the
#: statement that SQLite evaluates once.
_RUNNING = "NOT EXISTS (SELECT 1 FROM queue_state WHERE queue = ?1 AND paused)"
#: Names per ``IN (...)`` list of a batch statement: well under SQLite's variable limit.
_IN_CHUNK = 500


def _chunks(names: Sequence[str]) -> Sequence[Sequence[str]]:
    """``names`` in slices of at most :data:`_IN_CHUNK`, for ``name IN (...)`` statements."""
    if len(names) <= _IN_CHUNK:
        return [names] if names else []
    return [names[start : start + _IN_CHUNK] for start in range(0, len(names), _IN_CHUNK)]


@functools.lru_cache(maxsize=_IN_CHUNK + 1)
def _placeholders(count: int) -> str:
    """``?, ?, ...``: ``count`` placeholders. Cached: single calls (one name) are the hot
    case, and the string is the same."""
    return ", ".join("?" * count)


@functools.lru_cache(maxsize=_IN_CHUNK + 1)
def _tombstone_insert(count: int) -> str:
    """``INSERT OR IGNORE`` of ``count`` tombstones: ``?1`` the queue, ``?2`` their time,
    ``?3`` on the names (a chunk of :func:`_chunks`). Cached by count, as
    :func:`_placeholders`."""
    rows = ", ".join(f"(?1, ?{n}, ?2)" for n in range(3, count + 3))
    return f"INSERT OR IGNORE INTO tombstones (queue, name, created_usec) VALUES {rows}"


_log = logging.getLogger("emulator.store")


class StoreError(Exception):
    """The store cannot be opened or used (bad path, not a database, newer schema)."""


class SqliteTaskStore:
    """A :class:`emulator.store.protocol.TaskStore` in one SQLite database.

    Args:
        location: a file path (created if missing) or ``:memory:``.
        create_parent: create the file's directory if it is missing (for the emulator's
            default location only: a typo in an explicit path should not create directories).
        busy_timeout_ms: how long a transaction waits for another process's write lock.
        clock: what "now" is when the tombstones of a file of schema 1 or 2 are stamped at
            its migration; the service's injected clock (default: the wall clock). Tombstones
            made later carry the time of the operation that made them (the core passes it).
        fsync: a file is synced to the disk at each WAL checkpoint (SQLite's
            ``synchronous = NORMAL``), so an operating-system crash or a power cut cannot
            lose acknowledged work or damage the file. Without it (``synchronous = OFF``,
            the default) each committed transaction is in the operating system's hands when
            the call returns: it survives the emulator stopping, crashing or being killed
            (``kill -9``), not the machine going down. The syncs cost a durable single add
            ~40 % of its time (docs/PERFORMANCE.md, part 4).

    Raises:
        StoreError: if the file cannot be opened or is not a database of ours; the message
            says why in words (missing directory, not a directory, permission denied, ...).
    """

    def __init__(
        self,
        location: str | os.PathLike[str] = MEMORY_STORAGE,
        *,
        create_parent: bool = False,
        busy_timeout_ms: int = 10_000,
        clock: Clock | None = None,
        fsync: bool = False,
    ) -> None:
        self._location = str(location)
        self._fsync = fsync
        self._lock = threading.RLock()
        if self._location != MEMORY_STORAGE:
            _check_location(Path(self._location), create_parent)
        migrated_at = (clock or SystemClock()).now_usec()
        self._conn = _connect(self._location, busy_timeout_ms, migrated_at, fsync)

    @property
    def location(self) -> str:
        return self._location

    @property
    def fsync(self) -> bool:
        """Whether a file is synced to the disk at each checkpoint (see the class)."""
        return self._fsync

    @contextmanager
    def transaction(self) -> Iterator[SqliteTransaction]:
        """One ``BEGIN IMMEDIATE`` ... ``COMMIT``; any exception rolls it all back.

        Raises:
            StorageUnavailable: SQLite could not begin, run or commit the transaction (disk
                full, read-only file system, I/O error, lock held too long, damaged file);
                nothing of it was written, and a later transaction may succeed.
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                if not is_storage_failure(exc):
                    raise
                raise self._unavailable(exc) from exc
            try:
                yield SqliteTransaction(self._conn)
                self._conn.execute("COMMIT")
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, sqlite3.Error) and is_storage_failure(exc):
                    raise self._unavailable(exc) from exc
                raise

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (it does after a full disk)."""
        if not self._conn.in_transaction:
            return
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error as exc:  # the storage is failing: the journal undoes it on reopen
            _log.warning("task storage %s: rollback failed: %s", self._location, exc)

    def _unavailable(self, exc: sqlite3.Error) -> StorageUnavailable:
        """The domain's error for ``exc`` (logged as a warning: the operator should know)."""
        error = storage_unavailable(self._location, exc)
        _log.warning("%s", error.message)
        return error

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _check_location(path: Path, create_parent: bool) -> None:
    """Fail early, in words, for the reasons SQLite reports as "unable to open database file"."""
    parent = path.parent
    if create_parent and not parent.exists():
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory {parent}: {exc.strerror}") from exc
    problem = _location_problem(path, parent)
    if problem:
        raise StoreError(f"cannot open task storage {path}: {problem}")


def _location_problem(path: Path, parent: Path) -> str | None:
    for ancestor in reversed([parent, *parent.parents]):
        if ancestor.exists() and not ancestor.is_dir():
            return f"{ancestor} is not a directory"
    if not parent.exists():
        return f"the directory {parent} does not exist (create it, or use {MEMORY_STORAGE})"
    if path.is_dir():
        return "it is a directory, not a file"
    if not os.access(parent, os.W_OK | os.X_OK):
        if os.statvfs(parent).f_flag & os.ST_RDONLY:
            return f"the directory {parent} is on a read-only file system"
        return f"permission denied: cannot write in the directory {parent}"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return "permission denied: the file is not readable and writable"
    return None


def _connect(location: str, busy_timeout_ms: int, now_usec: int, fsync: bool) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(location, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if location != MEMORY_STORAGE:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {'NORMAL' if fsync else 'OFF'}")
        _migrate(conn, location, now_usec)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot open task storage {location}: {exc}") from exc
    return conn


def _migrate(conn: sqlite3.Connection, location: str, now_usec: int) -> None:
    """Create the schema, or bring a file of schema 1 or 2 up to :data:`SCHEMA_VERSION`
    (its tombstones are stamped ``now_usec``: their age starts at the migration)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{location} was written by a newer emulator (schema {version} > {SCHEMA_VERSION})"
        )
    conn.executescript(_SCHEMA)
    present = {row[1] for row in conn.execute("PRAGMA table_info(tasks)")}
    for column, kind in _ADDED_TASK_COLUMNS:
        if column not in present:
            conn.execute(f"ALTER TABLE tasks ADD COLUMN {column} {kind}")
    _stamp_tombstones(conn, now_usec)
    conn.execute(_TOMBSTONE_TIME_INDEX)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _stamp_tombstones(conn: sqlite3.Connection, now_usec: int) -> None:
    """Schema 3: give the tombstones of an older file a ``created_usec`` of ``now_usec``,
    in one transaction (a crash leaves the file as it was)."""
    if "created_usec" in {row[1] for row in conn.execute("PRAGMA table_info(tombstones)")}:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("ALTER TABLE tombstones ADD COLUMN created_usec INTEGER NOT NULL DEFAULT 0")
        conn.execute("UPDATE tombstones SET created_usec = ?", (now_usec,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class SqliteTransaction:
    """The verbs of :class:`emulator.store.protocol.StoreTransaction` as SQL on one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _tasks(self, sql: str, params: Sequence[Any]) -> list[StoredTask]:
        return [sqlite_rows.decode(row) for row in self._conn.execute(sql, params)]

    def get_task(self, queue: str, name: str) -> StoredTask | None:
        rows = self._tasks(
            f"SELECT {sqlite_rows.COLUMNS} FROM tasks WHERE queue = ? AND name = ?", (queue, name)
        )
        return rows[0] if rows else None

    def is_tombstoned(self, queue: str, name: str) -> bool:
        sql = "SELECT 1 FROM tombstones WHERE queue = ? AND name = ?"
        return self._one(sql, (queue, name)) is not None

    def name_in_use(self, queue: str, name: str) -> bool:
        """One statement: two index probes (a single add's auto name takes it)."""
        sql = (
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE queue = ?1 AND name = ?2) "
            "OR EXISTS (SELECT 1 FROM tombstones WHERE queue = ?1 AND name = ?2)"
        )
        return bool(self._one(sql, (queue, name)))

    def insert_task(self, task: StoredTask) -> None:
        self.insert_tasks([task])

    def insert_if_name_free(self, task: StoredTask) -> bool:
        """One statement: the tombstone probe and the insert (its UNIQUE conflict ignored);
        ``rowcount`` tells whether a row went in."""
        shape, values = sqlite_rows.encode(task)
        return self._conn.execute(sqlite_rows.insert_if_name_free(shape), values).rowcount == 1

    def insert_tasks(self, tasks: Sequence[StoredTask]) -> None:
        """One multi-row ``INSERT`` per :data:`sqlite_rows.INSERT_CHUNK` tasks of one row shape
        (:mod:`emulator.store.sqlite_rows`): a batch of like tasks is one statement per 100
        (an ``executemany`` resets, binds and steps each row as a statement of its own)."""
        for shape, chunk in sqlite_rows.by_shape(sqlite_rows.encode(task) for task in tasks):
            sql = sqlite_rows.insert_rows(shape, len(chunk))
            self._conn.execute(sql, list(itertools.chain(*chunk)))

    def taken_names(self, queue: str, names: Sequence[str]) -> tuple[set[str], set[str]]:
        """Two ``name IN (...)`` lookups (tasks, tombstones) per chunk instead of two per name;
        each is a series of primary/unique index probes."""
        live: set[str] = set()
        tombstoned: set[str] = set()
        for chunk in _chunks(names):
            params, marks = (queue, *chunk), _placeholders(len(chunk))
            where = f"WHERE queue = ? AND name IN ({marks})"
            live.update(self._names(f"SELECT name FROM tasks {where}", params))
            tombstoned.update(self._names(f"SELECT name FROM tombstones {where}", params))
        return live, tombstoned

    def _names(self, sql: str, params: Sequence[Any]) -> list[str]:
        return [row[0] for row in self._conn.execute(sql, params)]

    def ready_tasks(self, queue: str, now_usec: int, limit: int) -> list[ReadyTask]:
        return self._ready(
            "INDEXED BY tasks_by_eta WHERE queue = ?1 AND eta_usec <= ?2",
            (queue, now_usec, limit),
        )

    def ready_tasks_with_tag(
        self, queue: str, tag: str, now_usec: int, limit: int
    ) -> list[ReadyTask]:
        return self._ready(
            "INDEXED BY tasks_by_tag WHERE queue = ?1 AND tag = ?4 AND eta_usec <= ?2",
            (queue, now_usec, limit, tag),
        )

    def _ready(self, where: str, params: Sequence[Any]) -> list[ReadyTask]:
        """:data:`sqlite_rows.READY_COLUMNS` of the first ``?3`` rows of ``where`` (an index
        range of queue ``?1`` up to ``?2``) in ``(eta_usec, name)`` order, unless the queue
        is paused."""
        sql = (
            f"SELECT {sqlite_rows.READY_COLUMNS} FROM tasks {where} AND {_RUNNING} "
            "ORDER BY eta_usec, name LIMIT ?3"
        )
        return [sqlite_rows.decode_ready(row) for row in self._conn.execute(sql, params)]

    def set_eta(self, queue: str, name: str, eta_usec: int) -> None:
        self._conn.execute(
            "UPDATE tasks SET eta_usec = ? WHERE queue = ? AND name = ?", (eta_usec, queue, name)
        )

    def mark_leased(self, queue: str, names: Sequence[str], eta_usec: int, now_usec: int) -> None:
        """One ``UPDATE ... WHERE name IN (...)`` per chunk: a lease of 1000 tasks was 1000
        statements (an ``executemany``) and most of a lease's SQL time."""
        for chunk in _chunks(names):
            self._conn.execute(
                "UPDATE tasks SET eta_usec = ?, retry_count = retry_count + 1, leased_at_usec = ? "
                f"WHERE queue = ? AND name IN ({_placeholders(len(chunk))})",
                (eta_usec, now_usec, queue, *chunk),
            )

    def delete_task(self, queue: str, name: str, *, tombstone_usec: int | None) -> bool:
        return bool(self.delete_tasks(queue, [name], tombstone_usec=tombstone_usec))

    def delete_tasks(
        self, queue: str, names: Sequence[str], *, tombstone_usec: int | None
    ) -> set[str]:
        """``DELETE ... WHERE name IN (...) RETURNING name`` per chunk, then the tombstones
        (:meth:`_tombstone`): two statements per chunk of a batch instead of two per task. One
        name takes a plain ``DELETE`` and its row count, cheaper than ``RETURNING``."""
        unique = list(dict.fromkeys(names))
        if len(unique) == 1:
            sql = "DELETE FROM tasks WHERE queue = ? AND name = ?"
            deleted = set(unique) if self._conn.execute(sql, (queue, unique[0])).rowcount else set()
        else:
            deleted = set()
            for chunk in _chunks(unique):
                marks = _placeholders(len(chunk))
                sql = f"DELETE FROM tasks WHERE queue = ? AND name IN ({marks}) RETURNING name"
                deleted.update(self._names(sql, (queue, *chunk)))
        if deleted and tombstone_usec is not None:
            self._tombstone(queue, sorted(deleted), tombstone_usec)
        return deleted

    def _tombstone(self, queue: str, names: Sequence[str], usec: int) -> None:
        """Tombstone ``names`` (already unique) at ``usec``: one multi-row ``INSERT`` per
        chunk, not one statement per name (an ``executemany`` steps each row on its own)."""
        for chunk in _chunks(names):
            self._conn.execute(_tombstone_insert(len(chunk)), (queue, usec, *chunk))

    def delete_all(self, queue: str, *, tombstone_usec: int | None) -> int:
        if tombstone_usec is not None:
            self._conn.execute(
                "INSERT OR IGNORE INTO tombstones (queue, name, created_usec) "
                "SELECT queue, name, ? FROM tasks WHERE queue = ?",
                (tombstone_usec, queue),
            )
        return self._conn.execute("DELETE FROM tasks WHERE queue = ?", (queue,)).rowcount

    def clear_tombstones(self, queue: str, names: Sequence[str] | None = None) -> None:
        if names is None:
            self._conn.execute("DELETE FROM tombstones WHERE queue = ?", (queue,))
            return
        self._conn.executemany(
            "DELETE FROM tombstones WHERE queue = ? AND name = ?", [(queue, n) for n in names]
        )

    def prune_tombstones(self, before_usec: int, limit: int) -> int:
        # the oldest first, through tombstones_by_time: a batch costs O(log n + limit)
        return self._conn.execute(
            "DELETE FROM tombstones WHERE (created_usec, queue, name) IN ("
            "SELECT created_usec, queue, name FROM tombstones "
            "WHERE created_usec < ? ORDER BY created_usec LIMIT ?)",
            (before_usec, limit),
        ).rowcount

    def count_tasks(self, queue: str) -> int:
        return int(self._one("SELECT COUNT(*) FROM tasks WHERE queue = ?", (queue,)))

    def count_leased(self, queue: str, now_usec: int) -> int:
        sql = "SELECT COUNT(*) FROM tasks WHERE queue = ? AND eta_usec > ? AND retry_count > 0"
        return int(self._one(sql, (queue, now_usec)))

    def count_ready(self, queue: str, now_usec: int) -> int:
        sql = "SELECT COUNT(*) FROM tasks WHERE queue = ? AND eta_usec <= ?"
        return int(self._one(sql, (queue, now_usec)))

    def count_delayed(self, queue: str, now_usec: int) -> int:
        sql = "SELECT COUNT(*) FROM tasks WHERE queue = ? AND eta_usec > ? AND retry_count = 0"
        return int(self._one(sql, (queue, now_usec)))

    def oldest_eta(self, queue: str) -> int | None:
        value = self._one("SELECT MIN(eta_usec) FROM tasks WHERE queue = ?", (queue,))
        return None if value is None else int(value)

    def record_leases(self, queue: str, now_usec: int, count: int) -> None:
        self._conn.execute(
            "INSERT INTO lease_log (queue, at_usec, count) VALUES (?, ?, ?)",
            (queue, now_usec, count),
        )

    def leases_since(self, queue: str, since_usec: int) -> int:
        sql = "SELECT COALESCE(SUM(count), 0) FROM lease_log WHERE queue = ? AND at_usec >= ?"
        return int(self._one(sql, (queue, since_usec)))

    def prune_lease_log(self, before_usec: int) -> None:
        self._conn.execute("DELETE FROM lease_log WHERE at_usec < ?", (before_usec,))

    def next_auto_name_id(self) -> int:
        return self.reserve_auto_name_ids(1)

    def reserve_auto_name_ids(self, count: int) -> int:
        """One upsert with ``RETURNING`` (SQLite >= 3.35) for a whole batch of auto names."""
        row = self._conn.execute(
            "INSERT INTO counters (name, value) VALUES ('auto_name', ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value RETURNING value",
            (count,),
        ).fetchone()
        return int(row[0])

    def is_paused(self, queue: str) -> bool:
        return bool(self._one("SELECT paused FROM queue_state WHERE queue = ?", (queue,)))

    def set_paused(self, queue: str, paused: bool) -> None:
        self._conn.execute(
            "INSERT INTO queue_state (queue, paused) VALUES (?, ?) "
            "ON CONFLICT (queue) DO UPDATE SET paused = excluded.paused",
            (queue, int(paused)),
        )

    def page_tasks(
        self,
        queue: str,
        *,
        now_usec: int,
        states: frozenset[TaskState],
        tag: str | None,
        after: tuple[int, str] | None,
        limit: int,
    ) -> list[StoredTask]:
        where: list[str] = ["queue = ?"]
        params: list[object] = [queue]
        if states and states != frozenset(TaskState):
            clauses = [_STATE_SQL[s] for s in sorted(states, key=lambda s: s.value)]
            where.append("(" + " OR ".join(clauses) + ")")
            params.extend(now_usec for _ in clauses)
        if tag == "":
            where.append("tag IS NULL")
        elif tag is not None:
            where.append("tag = ?")
            params.append(tag)
        # The index range, from explicit bounds (the state filters above never drive it):
        # it starts at the key, so a page costs the same however deep it is (keyset, no scan).
        if _only_future(states) and (after is None or after[0] <= now_usec):
            where.append("eta_usec > ?")  # every listed task is past the key anyway
            params.append(now_usec)
        elif after is not None:
            where.append("(eta_usec, name) > (?, ?)")  # a row value: an index range start
            params.extend(after)
        if states == {TaskState.READY}:
            where.append("eta_usec <= ?")
            params.append(now_usec)
        sql = (
            f"SELECT {sqlite_rows.COLUMNS} FROM tasks WHERE {' AND '.join(where)} "
            "ORDER BY eta_usec, name LIMIT ?"
        )
        return self._tasks(sql, [*params, limit])

    def reset(self) -> None:
        for table in ("tasks", "tombstones", "lease_log", "queue_state", "counters"):
            self._conn.execute(f"DELETE FROM {table}")


def _only_future(states: frozenset[TaskState]) -> bool:
    """Whether a filter on ``states`` lists only tasks with ``eta > now`` (leased, delayed)."""
    return bool(states) and TaskState.READY not in states


#: Per-state filters; ``+eta_usec`` keeps SQLite from taking them as the index range.
_STATE_SQL = {
    TaskState.READY: "+eta_usec <= ?",
    TaskState.LEASED: "(+eta_usec > ? AND retry_count > 0)",
    TaskState.DELAYED: "(+eta_usec > ? AND retry_count = 0)",
}
