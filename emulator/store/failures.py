"""SQLite's exceptions → the domain's :class:`~emulator.domain.errors.StorageUnavailable`.

The one place that reads SQLite's error names (``sqlite_errorname``, Python 3.11+) and the
file system's state, so that a caller learns *why* the store failed (disk full, read-only,
locked, I/O error, damaged file) and the core never sees a ``sqlite3`` exception.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Final

from emulator.domain.errors import StorageUnavailable
from emulator.domain.limits import MEMORY_STORAGE

DISK_FULL: Final = "the disk is full"
READ_ONLY: Final = "the file system is read-only"
LOCKED: Final = "another process holds the database's write lock"
DAMAGED: Final = "the database file is damaged"
IO_ERROR: Final = "an I/O error"

#: SQLite's primary result codes (``sqlite_errorname`` up to the first ``_`` after
#: ``SQLITE_``) and what they mean for a caller.
_CAUSES: Final[dict[str, str]] = {
    "SQLITE_FULL": DISK_FULL,
    "SQLITE_READONLY": READ_ONLY,
    "SQLITE_BUSY": LOCKED,
    "SQLITE_LOCKED": LOCKED,
    "SQLITE_CORRUPT": DAMAGED,
    "SQLITE_NOTADB": DAMAGED,
    "SQLITE_CANTOPEN": "the database file cannot be opened",
}
_STORAGE_ERRORS: Final = frozenset({*_CAUSES, "SQLITE_IOERR", "SQLITE_NOMEM", "SQLITE_PROTOCOL"})


def is_storage_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite reporting trouble with the storage itself (mapped): full,
    read-only, locked, I/O, damaged. A bug in our SQL (``SQLITE_ERROR`` "no such table",
    ``ProgrammingError``, ``IntegrityError``) is not: it propagates as it is."""
    return isinstance(exc, sqlite3.DatabaseError) and _primary(exc) in _STORAGE_ERRORS


def _primary(exc: sqlite3.Error) -> str:
    """SQLite's primary result code name: ``SQLITE_IOERR`` of ``SQLITE_IOERR_WRITE``."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    return "_".join(name.split("_")[:2])


def storage_unavailable(location: str, exc: sqlite3.Error) -> StorageUnavailable:
    """The domain error for ``exc`` raised by the store at ``location``, its cause in words.

    An I/O error is explained by the file system when it can be: read-only (for example
    remounted so after an error) or out of space.
    """
    return StorageUnavailable(location, _cause(location, exc), str(exc))


def _cause(location: str, exc: sqlite3.Error) -> str:
    cause = _CAUSES.get(_primary(exc))
    if cause is not None and cause != READ_ONLY:
        return cause
    return _file_system_state(location) or cause or IO_ERROR


def _file_system_state(location: str) -> str | None:
    """What the file system of ``location`` says: read-only, full, or nothing to report."""
    if location == MEMORY_STORAGE:
        return None
    directory = Path(location).parent
    try:
        stat = os.statvfs(directory)
    except OSError:
        return None
    if stat.f_flag & os.ST_RDONLY or not os.access(directory, os.W_OK):
        return READ_ONLY
    if _emergency_read_only(directory):
        return READ_ONLY
    if stat.f_bavail == 0:
        return DISK_FULL
    return None


def _emergency_read_only(directory: Path) -> bool:
    """ext4 after an error with ``errors=remount-ro`` (``emergency_ro`` in /proc/mounts):
    statvfs does not report it, the mount options do."""
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return False
    target = os.path.realpath(directory)
    best: tuple[int, bool] = (-1, False)
    for line in lines:
        fields = line.split()
        if len(fields) < 4:
            continue
        mount_point = fields[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > best[0]:
            options = fields[3].split(",")
            best = (len(mount_point), "ro" in options or "emergency_ro" in options)
    return best[1]
