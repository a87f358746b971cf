"""Storage failures: a full disk and a file system that turns read-only give the caller
TRANSIENT_ERROR naming the store and the cause (TransientError through the shim), write
nothing half-way, leave the file intact (``PRAGMA integrity_check``), and the server
recovers by itself once the cause is gone.

The disk-full and read-only cases mount real file systems (a 2 MiB tmpfs; an ext4 loop
mount with ``errors=remount-ro``) and are skipped, saying why, where that is not possible.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.app import runtime_app
from emulator.domain.errors import ErrorCode, StorageUnavailable, TaskQueueError
from emulator.domain.model import AddRequest, PeekFilter
from emulator.server import ServerThread
from emulator.store import failures
from emulator.store.sqlite import SqliteTaskStore
from emulator.wiring import Runtime, build_runtime
from shims import backends
from shims.backends.remote import RemoteBackend
from shims.taskqueue import Queue, Task, TransientError
from tests.mount_support import ext4_loop, fill, mount_skip_reason, tmpfs, turn_read_only
from tests.shim_support import PULL, write_queue_yaml

BIG = b"x" * 200_000  #: a payload that cannot fit on a full 2 MiB tmpfs


def _integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` through a connection of its own, read-only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _names(runtime: Runtime) -> list[str]:
    return sorted(t.name for t in runtime.service.peek(PULL, PeekFilter(limit=1000)).tasks)


# -- the mapping, without any mount ---------------------------------------------------------------


def test_a_refused_write_is_transient_names_the_store_and_writes_nothing(tmp_path: Path) -> None:
    # Given a file store whose connection refuses writes (SQLite's query_only: SQLITE_READONLY)
    path = tmp_path / "tasks.sqlite3"
    runtime = build_runtime(str(write_queue_yaml(tmp_path)), str(path))
    assert runtime.store is not None
    conn = runtime.store._conn
    try:
        runtime.service.add(PULL, [AddRequest(b"kept", name="kept")])
        conn.execute("PRAGMA query_only = 1")
        # When a batch of three tasks is added
        with pytest.raises(StorageUnavailable) as caught:
            runtime.service.add(PULL, [AddRequest(b"p", name=f"t{i}") for i in range(3)])
        # Then the error is TRANSIENT_ERROR naming the file and the cause, and none was written
        assert caught.value.code is ErrorCode.TRANSIENT_ERROR
        assert str(path) in caught.value.message
        assert failures.READ_ONLY in caught.value.message
        conn.execute("PRAGMA query_only = 0")
        assert _names(runtime) == ["kept"]
        # And the same runtime works again once writes are allowed
        runtime.service.add(PULL, [AddRequest(b"p", name="after")])
        assert _names(runtime) == ["after", "kept"]
    finally:
        runtime.close()
    assert _integrity(path) == "ok"


def test_a_bug_in_sql_is_not_dressed_up_as_a_storage_failure() -> None:
    store = SqliteTaskStore()
    with pytest.raises(sqlite3.OperationalError), store.transaction() as tx:
        tx._conn.execute("SELECT * FROM no_such_table")
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorname = "SQLITE_FULL"  # type: ignore[attr-defined]
    assert failures.is_storage_failure(full)
    assert not failures.is_storage_failure(sqlite3.IntegrityError("x"))
    assert not failures.is_storage_failure(sqlite3.ProgrammingError("x"))
    store.close()


def test_a_closed_store_is_a_bug_not_a_storage_failure() -> None:
    store = SqliteTaskStore()
    store.close()
    # a closed store is a bug, not the disk
    with pytest.raises(sqlite3.ProgrammingError), store.transaction():
        pass


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("SQLITE_FULL", failures.DISK_FULL),
        ("SQLITE_BUSY", failures.LOCKED),
        ("SQLITE_CORRUPT", failures.DAMAGED),
        ("SQLITE_NOTADB", failures.DAMAGED),
    ],
)
def test_sqlite_error_names_become_causes_in_words(name: str, cause: str) -> None:
    exc = sqlite3.OperationalError("boom")
    exc.sqlite_errorname = name  # type: ignore[attr-defined]
    error = failures.storage_unavailable(":memory:", exc)
    assert error.cause == cause
    expected = f"task storage :memory: is unavailable: {cause} (boom); nothing was changed"
    assert error.message == expected


# -- a full disk ----------------------------------------------------------------------------------

_NO_MOUNT = mount_skip_reason()
_NO_EXT4 = mount_skip_reason("mkfs.ext4")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if _NO_MOUNT:
        pytest.skip(_NO_MOUNT)
    with tmpfs(tmp_path / "disk", "2m") as directory:
        yield directory


@pytest.mark.e2e  # mounts a file system
def test_a_full_disk_is_transient_atomic_intact_and_recovers(
    small_disk: Path, tmp_path: Path
) -> None:
    path = small_disk / "tasks.sqlite3"
    runtime = build_runtime(str(write_queue_yaml(tmp_path)), str(path))
    try:
        runtime.service.add(PULL, [AddRequest(b"kept", name="kept")])
        filler = fill(small_disk)
        # When a batch that needs space is added on the full disk
        with pytest.raises(TaskQueueError) as caught:
            runtime.service.add(PULL, [AddRequest(BIG, name=f"big{i}") for i in range(3)])
        # Then: TRANSIENT_ERROR naming the store and "disk full"; nothing of the batch stored
        assert caught.value.code is ErrorCode.TRANSIENT_ERROR
        assert str(path) in caught.value.message
        assert failures.DISK_FULL in caught.value.message
        assert _names(runtime) == ["kept"]
        assert _integrity(path) == "ok"
        # And once space is back the same runtime (no restart) stores the batch
        filler.unlink()
        runtime.service.add(PULL, [AddRequest(BIG, name=f"big{i}") for i in range(3)])
        assert _names(runtime) == ["big0", "big1", "big2", "kept"]
    finally:
        runtime.close()
    assert _integrity(path) == "ok"


@pytest.mark.e2e
def test_the_shim_raises_transient_error_on_a_full_disk_and_recovers(
    small_disk: Path, tmp_path: Path
) -> None:
    path = small_disk / "tasks.sqlite3"
    runtime = build_runtime(str(write_queue_yaml(tmp_path)), str(path))
    server = ServerThread(runtime_app(runtime)).start()
    previous = backends.use(RemoteBackend(server.address))
    try:
        queue = Queue(PULL)
        queue.add(Task(payload=b"kept", method="PULL", name="kept"))
        filler = fill(small_disk)
        with pytest.raises(TransientError, match="disk is full") as caught:
            queue.add([Task(payload=BIG, method="PULL", name=f"big{i}") for i in range(3)])
        assert str(path) in str(caught.value)
        filler.unlink()
        queue.add([Task(payload=BIG, method="PULL", name=f"big{i}") for i in range(3)])
        assert len(queue.lease_tasks(60, 10)) == 4
    finally:
        backends.use(previous)
        server.stop()
        runtime.close()
    assert _integrity(path) == "ok"


# -- a file system that turns read-only -----------------------------------------------------------


@pytest.mark.e2e
def test_a_file_system_turning_read_only_is_transient_and_corrupts_nothing(
    tmp_path: Path,
) -> None:
    if _NO_EXT4:
        pytest.skip(_NO_EXT4)
    directory = tmp_path / "ext4"
    with ext4_loop(directory, tmp_path / "ext4.img") as device:
        path = directory / "tasks.sqlite3"
        runtime = build_runtime(str(write_queue_yaml(tmp_path)), str(path))
        try:
            runtime.service.add(PULL, [AddRequest(b"kept", name="kept")])
            turn_read_only(device)  # ext4 remounts itself read-only under the open files
            with pytest.raises(TaskQueueError) as caught:
                runtime.service.add(PULL, [AddRequest(b"p", name=f"t{i}") for i in range(3)])
            assert caught.value.code is ErrorCode.TRANSIENT_ERROR
            assert str(path) in caught.value.message
            assert failures.READ_ONLY in caught.value.message
            # reads still answer, and show nothing of the failed batch
            assert _names(runtime) == ["kept"]
            assert runtime.service.stats([PULL])[0].tasks == 1
        finally:
            runtime.close()
        assert _integrity(path) == "ok"
