"""The SQLite store: durability, isolation under threads and processes, index use, bad files."""

from __future__ import annotations

import multiprocessing
import multiprocessing.queues
import os
import sqlite3
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from emulator.core.pull_queue import LocalQueueService
from emulator.domain.clock import FakeClock
from emulator.domain.errors import ErrorCode
from emulator.domain.model import PeekFilter, StoredTask, TaskState
from emulator.domain.queue_config import RetryParameters
from emulator.store.sqlite import SqliteTaskStore, StoreError
from tests.core_support import (
    CONFIG,
    EVERY_FIELD_TASK,
    PULL,
    World,
    insert_tasks,
    make_world,
    pull,
    query_plan,
    traced_sql,
    vm_steps,
)


def test_tasks_tombstones_pauses_and_counters_survive_a_restart(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    path = str(tmp_path / "db" / "tasks.sqlite3")
    world = make_world(path)
    world.add(pull(b"\x00\xffbin", name="keep", tag="t"), pull(name="gone"), pull())
    world.service.delete(PULL, ["gone"])
    world.service.pause("limited")
    world.tick()
    world.service.lease(PULL, 600, 1)
    world.store.close()

    again = LocalQueueService(SqliteTaskStore(path), world.clock, CONFIG)
    kept = again.get_task(PULL, "keep")
    assert (kept.payload, kept.tag, kept.retry_count) == (b"\x00\xffbin", "t", 1)
    assert again.add(PULL, [pull(name="gone")])[0].code is ErrorCode.TOMBSTONED_TASK
    assert again.stats(["limited"])[0].paused
    assert again.add(PULL, [pull()])[0].name == "task2"
    assert again.stats([PULL])[0].leased_last_minute == 1


def test_a_failed_operation_rolls_back_completely(tmp_path: Path) -> None:
    store = SqliteTaskStore(str(tmp_path / "t.db"))
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.set_paused(PULL, True)
        raise RuntimeError("boom")
    with store.transaction() as tx:
        assert not tx.is_paused(PULL)


def test_concurrent_threads_never_lease_the_same_task(tmp_path: Path) -> None:
    world = make_world(str(tmp_path / "t.db"))
    for start in range(0, 400, 100):
        world.add(*(pull(name=f"t{i}") for i in range(start, start + 100)))
    world.tick()
    got: list[list[str]] = [[] for _ in range(8)]

    def worker(slot: int) -> None:
        while batch := world.service.lease(PULL, 600, 7):
            got[slot].extend(t.name for t in batch)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [name for names in got for name in names]
    assert sorted(every) == sorted(f"t{i}" for i in range(400))
    assert len(every) == len(set(every))


def _lease_all(path: str, now_usec: int, out: multiprocessing.queues.Queue[list[str]]) -> None:
    clock = FakeClock(now_usec)
    service = LocalQueueService(SqliteTaskStore(path), clock, CONFIG)
    names: list[str] = []
    while batch := service.lease(PULL, 600, 5):
        names.extend(t.name for t in batch)
    out.put(names)


@pytest.mark.e2e
def test_concurrent_processes_on_one_file_never_lease_the_same_task(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    world = make_world(path)
    world.add(*(pull(name=f"t{i}") for i in range(100)))
    world.add(*(pull(name=f"u{i}") for i in range(100)))
    world.tick()
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_lease_all, args=(path, world.clock.now_usec(), out)) for _ in range(3)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    every = [name for names in results for name in names]
    assert len(every) == 200 == len(set(every))


def test_every_statement_of_the_lease_paths_uses_an_index() -> None:
    # Given a queue with tagged and untagged tasks, and a trace of the store's own SQL
    world = make_world()
    world.add(*(pull(name=f"t{i}", tag="A" if i % 2 else None) for i in range(20)))
    world.tick()
    conn: sqlite3.Connection = world.store._conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    # When the hot paths run
    world.service.lease(PULL, 60, 3)
    world.service.lease(PULL, 60, 3, group_by_tag=True, tag="A")
    [task] = world.service.lease(PULL, 60, 1, group_by_tag=True)
    world.service.modify_lease(PULL, task.name, task.eta_usec, 30)
    world.service.delete(PULL, [task.name, "t0"])
    world.add(pull(), pull(name="fresh"))
    conn.set_trace_callback(None)
    # Then no statement scans a table or sorts in a temporary b-tree
    queries = [s for s in statements if s.split()[0] in ("SELECT", "UPDATE", "DELETE")]
    assert any("tasks_by_tag" in q for q in queries) and len(queries) > 10
    for sql in queries:
        plan = " | ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "TEMP B-TREE" not in plan, (sql, plan)
        scans = [s for s in plan.split(" | ") if s.startswith("SCAN") and s != "SCAN CONSTANT ROW"]
        assert not scans, (sql, plan)  # a constant row is the SELECT of two EXISTS lookups


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"bogus\.db"):
        SqliteTaskStore(str(bogus))


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        SqliteTaskStore(str(path))


def test_file_store_uses_wal(tmp_path: Path) -> None:
    store = SqliteTaskStore(str(tmp_path / "w.db"))
    with store.transaction() as tx:
        mode = tx._conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert store.location.endswith("w.db")


def test_only_an_explicit_request_creates_the_directory(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "dir" / "tasks.db"
    with pytest.raises(StoreError, match=r"the directory .*typo/dir does not exist"):
        SqliteTaskStore(missing)
    assert not (tmp_path / "typo").exists()
    SqliteTaskStore(missing, create_parent=True).close()
    assert missing.is_file()


def test_a_parent_that_is_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match=r"file is not a directory"):
        SqliteTaskStore(tmp_path / "file" / "sub" / "tasks.db")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in any directory")
def test_a_directory_without_write_permission_is_permission_denied(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="permission denied: cannot write in the directory"):
            SqliteTaskStore(locked / "tasks.db")
    finally:
        locked.chmod(0o700)


@pytest.mark.e2e
def test_a_read_only_file_system_is_named(tmp_path: Path) -> None:
    mount_point = tmp_path / "ro"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        with pytest.raises(StoreError, match="is on a read-only file system"):
            SqliteTaskStore(mount_point / "tasks.db")
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


PEEK_FILTERS = [
    PeekFilter(),
    PeekFilter(tag="A"),
    PeekFilter(tag=""),
    PeekFilter(states=frozenset({TaskState.READY})),
    PeekFilter(states=frozenset({TaskState.DELAYED})),
    PeekFilter(states=frozenset({TaskState.LEASED, TaskState.DELAYED}), tag="A"),
]


def _deep_queue() -> World:
    """3000 tasks: 2000 ready (every other one tagged A), 1000 delayed, and a few leased."""
    world = make_world()
    now = world.clock.now_usec()
    insert_tasks(
        world.store,
        (
            StoredTask(PULL, f"t{i:05d}", now - 3000 + i, tag="A" if i % 2 else None)
            if i < 2000
            else StoredTask(PULL, f"t{i:05d}", now + i, tag="A" if i % 2 else None)
            for i in range(3000)
        ),
    )
    world.service.lease(PULL, 5000, 3)
    return world


@pytest.mark.parametrize("where", PEEK_FILTERS, ids=repr)
def test_a_deep_peek_page_starts_its_index_range_at_the_key(where: PeekFilter) -> None:
    # Given 3000 tasks and a page token deep into the listing
    world = _deep_queue()
    pages = [world.service.peek(PULL, replace(where, limit=10))]
    while len(pages) < 60 and pages[-1].next_page_token:
        pages.append(
            world.service.peek(
                PULL, replace(where, limit=200, page_token=pages[-1].next_page_token)
            )
        )
    deep_token = pages[-1].next_page_token or pages[-2].next_page_token
    # When the first page and the deep page are read
    with vm_steps(world.store) as first_steps:
        world.service.peek(PULL, replace(where, limit=10))
    with traced_sql(world.store) as statements, vm_steps(world.store) as deep_steps:
        deep = world.service.peek(PULL, replace(where, limit=10, page_token=deep_token))
    # Then the deep page searches an index from the key (no OFFSET, scan or sort) and costs
    # about what the first page costs, not the thousands of tasks before it
    [sql] = [s for s in statements if s.startswith("SELECT")]
    plan = query_plan(world.store, sql)
    assert "OFFSET" not in sql.upper()
    assert len(plan) == 1 and plan[0].startswith("SEARCH tasks USING INDEX"), plan
    assert "(eta_usec,name)>" in plan[0] or "eta_usec>" in plan[0], plan
    assert deep.tasks and deep_steps[0] <= first_steps[0] + 5, (first_steps, deep_steps)


def test_every_statement_of_the_statistics_uses_an_index() -> None:
    # Given a queue with ready, leased and delayed tasks
    world = _deep_queue()
    # When its statistics are read
    with traced_sql(world.store) as statements:
        [stats] = world.service.stats([PULL])
    # Then each count is an index search, never a table scan or a sort
    assert (stats.ready, stats.in_flight, stats.delayed) == (1997, 3, 1000)
    queries = [s for s in statements if s.startswith("SELECT")]
    assert len(queries) >= 7
    for sql in queries:
        plan = query_plan(world.store, sql)
        assert all(step.startswith("SEARCH") for step in plan), (sql, plan)


def test_batch_calls_run_a_few_statements_not_a_few_per_task() -> None:
    # Given an empty pull queue and a trace of the store's SQL
    world = make_world()
    with traced_sql(world.store) as added:
        names = world.add(*(pull() for _ in range(100)))
    world.tick()
    with traced_sql(world.store) as leased:
        assert len(world.service.lease(PULL, 60, 100)) == 100
    with traced_sql(world.store) as deleted:
        assert set(world.service.delete(PULL, names)) == {ErrorCode.OK}
    # Then each batch is a handful of statements, none per task: the add is BEGIN, the
    # auto names' upsert, the two name lookups, one multi-row INSERT and COMMIT
    assert len(added) <= 6, added
    assert sum(s.startswith("INSERT INTO tasks") for s in added) == 1
    assert len(leased) <= 10
    assert len(deleted) <= 4, deleted  # BEGIN, DELETE ... RETURNING, the tombstones, COMMIT
    assert world.service.stats([PULL])[0].tasks == 0


def test_a_delete_longer_than_a_statement_chunk_tombstones_every_name_once() -> None:
    # Given 1200 stored tasks (more than two 500-name chunks)
    world = make_world()
    names = [name for _ in range(12) for name in world.add(*(pull() for _ in range(100)))]
    # When they are deleted in one call, with repeats and an unknown name among them
    with traced_sql(world.store) as deleted:
        codes = world.service.delete(PULL, [*names, names[0], "never-added"])
    # Then each stored name is deleted and tombstoned once, in three inserts of tombstones
    assert codes[:1200] == [ErrorCode.OK] * 1200
    assert codes[1200:] == [ErrorCode.TOMBSTONED_TASK, ErrorCode.UNKNOWN_TASK]
    assert sum(s.startswith("INSERT OR IGNORE INTO tombstones") for s in deleted) == 3
    with world.store.transaction() as tx:
        assert tx.taken_names(PULL, names) == (set(), set(names))
    assert [r.code for r in world.service.add(PULL, [pull(name=names[-1])])] == [
        ErrorCode.TOMBSTONED_TASK
    ]


def test_a_single_auto_named_add_is_four_statements_and_skips_used_names() -> None:
    # Given a queue where the next two auto names are taken: one live, one tombstoned
    world = make_world()
    world.add(pull(name="task1", payload=b"mine"), pull(name="task2"))
    world.service.delete(PULL, ["task2"])
    # When one auto-named task is added, and then another
    with traced_sql(world.store) as skipping:
        [first] = world.add(pull())
    with traced_sql(world.store) as statements:
        [second] = world.add(pull())
    # Then neither reuses a live or tombstoned name, and a free name takes four statements:
    # BEGIN, the counter's upsert, the insert that refuses a used name, COMMIT; each used
    # name costs one upsert and one refused insert, which leave the stored rows alone
    assert first == "task3" and second == "task4"
    assert len(statements) == 4, statements
    assert len(skipping) == 8, skipping
    with world.store.transaction() as tx:
        kept = tx.get_task(PULL, "task1")
        assert kept is not None and kept.payload == b"mine"
        assert tx.name_in_use(PULL, "task1") and tx.name_in_use(PULL, "task2")
        assert tx.name_in_use(PULL, "task4") and not tx.name_in_use(PULL, "task5")


def test_a_single_named_add_is_three_statements_and_a_used_name_one_lookup_more() -> None:
    # Given a queue with one stored task and one deleted (tombstoned) one
    world = make_world()
    world.add(pull(name="kept", payload=b"mine"), pull(name="gone"))
    world.service.delete(PULL, ["gone"])
    # When a new name is added, and then each used name once more
    with traced_sql(world.store) as statements:
        [fresh] = world.service.add(PULL, [pull(name="fresh")])
    with traced_sql(world.store) as refused:
        [exists] = world.service.add(PULL, [pull(name="kept", payload=b"other")])
        [tombstoned] = world.service.add(PULL, [pull(name="gone")])
    # Then the new name is BEGIN, the insert that refuses a used name, COMMIT; a refused
    # insert adds the lookup that names its error (the batch path's words), rows untouched
    assert fresh.code is ErrorCode.OK and len(statements) == 3, statements
    assert (exists.code, exists.message) == (
        ErrorCode.TASK_ALREADY_EXISTS,
        "task 'kept' already exists",
    )
    assert tombstoned.code is ErrorCode.TOMBSTONED_TASK
    assert tombstoned.message == "task name 'gone' was used by a deleted task"
    assert len(refused) == 2 * 5, refused
    assert [r.code for r in world.service.add(PULL, [pull(name="kept"), pull(name="gone")])] == [
        ErrorCode.TASK_ALREADY_EXISTS,
        ErrorCode.TOMBSTONED_TASK,
    ]
    with world.store.transaction() as tx:
        kept = tx.get_task(PULL, "kept")
        assert kept is not None and kept.payload == b"mine" and tx.get_task(PULL, "gone") is None


def test_a_single_lease_is_five_statements_and_checks_the_pause_only_when_empty() -> None:
    # Given a queue with one ready task, leased once already (that lease pruned the log)
    world = make_world()
    world.add(pull(), pull())
    world.tick()
    world.service.lease(PULL, 60, 1)
    # When the other task is leased, and then the empty queue is asked again
    with traced_sql(world.store) as leased:
        assert len(world.service.lease(PULL, 60, 1)) == 1
    with traced_sql(world.store) as empty:
        assert world.service.lease(PULL, 60, 1) == []
    # Then the lease is BEGIN, the read (which sees the pause too), the update, the lease
    # record and COMMIT; only the empty answer looks at the pause on its own
    assert len(leased) == 5, leased
    assert not any(s.startswith("SELECT paused") for s in leased)
    assert sum(s.startswith("SELECT paused") for s in empty) == 1, empty


def test_insert_tasks_of_one_shape_is_one_insert_per_hundred() -> None:
    # Given 250 pull tasks with a tag each (one row shape: the same NULL columns)
    tasks = [
        StoredTask(queue=PULL, name=f"n{i}", eta_usec=i, payload=b"p" * i, tag=f"t{i % 3}")
        for i in range(250)
    ]
    # When they are inserted in one call, then three INSERT statements (100, 100, 50 rows)
    # stored them all exactly
    assert _inserts_storing_exactly(tasks) == 3


def test_insert_tasks_stores_a_long_mixed_batch_exactly_in_one_insert_per_hundred() -> None:
    # Given 250 tasks whose fields all differ (more than two chunks of rows)
    tasks = [
        StoredTask(
            queue=PULL,
            name=f"n{i}",
            eta_usec=1000 - i,
            payload=bytes([i % 256]) * (i % 7),
            tag=None if i % 3 else f"t{i}",
            created_usec=i,
            retry_parameters=RetryParameters(task_retry_limit=i) if i % 5 == 0 else None,
        )
        for i in range(250)
    ]
    # When they are inserted in one call, then each row shape (tag or not, retry parameters
    # or not: 17, 67, 33 and 133 tasks) is one INSERT per 100 rows, five in all, and every
    # field of every task (empty payloads included) is stored
    assert _inserts_storing_exactly(tasks) == 5


def _inserts_storing_exactly(tasks: list[StoredTask]) -> int:
    """How many INSERT statements one ``insert_tasks(tasks)`` took, after checking that
    every task reads back equal."""
    store = SqliteTaskStore(":memory:")
    with traced_sql(store) as statements, store.transaction() as tx:
        tx.insert_tasks(tasks)
    with store.transaction() as tx:
        assert [tx.get_task(t.queue, t.name) for t in tasks] == tasks
    return sum(s.startswith("INSERT INTO tasks") for s in statements)


def test_insert_if_name_free_refuses_a_live_or_tombstoned_name() -> None:
    store = SqliteTaskStore(":memory:")
    with store.transaction() as tx:
        assert tx.insert_if_name_free(StoredTask(queue=PULL, name="a", eta_usec=1, payload=b"1"))
        assert not tx.insert_if_name_free(StoredTask(queue=PULL, name="a", eta_usec=2))
        tx.insert_task(StoredTask(queue=PULL, name="b", eta_usec=1))
        assert tx.delete_task(PULL, "b", tombstone_usec=1)
        assert not tx.insert_if_name_free(StoredTask(queue=PULL, name="b", eta_usec=1))
        assert tx.insert_if_name_free(StoredTask(queue="other", name="b", eta_usec=1))
        kept = tx.get_task(PULL, "a")
        assert kept is not None and (kept.eta_usec, kept.payload) == (1, b"1")
        assert tx.get_task(PULL, "b") is None and tx.get_task("other", "b") is not None


def test_every_field_of_a_task_survives_the_store() -> None:
    """A task with every field set to a value of its own comes back equal (the row reader
    passes the columns positionally, so a field order change must show here)."""
    task = EVERY_FIELD_TASK
    store = SqliteTaskStore(":memory:")
    with store.transaction() as tx:
        tx.insert_task(task)
        tx.insert_task(replace(task, name="http", url=None, http_url="https://example.com/x"))
    with store.transaction() as tx:
        assert tx.get_task(PULL, "every-field") == task
        assert tx.get_task(PULL, "http") == replace(
            task, name="http", url=None, http_url="https://example.com/x"
        )


@pytest.mark.parametrize(("fsync", "synchronous"), [(False, 0), (True, 1)])
def test_fsync_chooses_whether_checkpoints_sync_the_file(
    tmp_path: Path, fsync: bool, synchronous: int
) -> None:
    """``synchronous``: OFF (0) by default, NORMAL (1, WAL synced at each checkpoint) with
    ``fsync``; either way a committed task is in the file for the next process."""
    path = tmp_path / "tasks.db"
    store = SqliteTaskStore(path, fsync=fsync)
    assert store.fsync is fsync
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == synchronous
    with store.transaction() as tx:
        tx.insert_task(StoredTask(queue=PULL, name="kept", eta_usec=1))
    reader = sqlite3.connect(path)
    assert reader.execute("SELECT name FROM tasks").fetchall() == [("kept",)]
    reader.close()
    store.close()
