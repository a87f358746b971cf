"""Task rows in SQL: what a task binds, the statements of each row shape, and exact storage."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.domain.model import ReadyTask, StoredTask
from emulator.domain.queue_config import QueueMode, RetryParameters
from emulator.store import sqlite_rows
from emulator.store.sqlite import SqliteTaskStore
from tests.core_support import EVERY_FIELD_TASK, PULL, traced_sql

#: The values Python's sqlite3 binds without its adapter registry (see sqlite_rows).
_DIRECT = (int, str, bytearray)

PULL_TASK = StoredTask(queue=PULL, name="p", eta_usec=5, payload=b"\x00\xff", created_usec=2)
TAGGED = StoredTask(queue=PULL, name="t", eta_usec=6, payload=b"x", tag="blue", retry_count=3)
#: Every nullable column set: a row of no NULLs.
PUSH_TASK = replace(EVERY_FIELD_TASK, http_url="https://example.com/work")
EMPTY_PAYLOAD = StoredTask(queue=PULL, name="e", eta_usec=8)


@pytest.mark.parametrize("task", [PULL_TASK, TAGGED, PUSH_TASK, EMPTY_PAYLOAD])
def test_a_row_binds_only_values_sqlite_takes_directly(task: StoredTask) -> None:
    shape, values = sqlite_rows.encode(task)
    # no None and no bytes reach the binding: NULL columns are in the shape instead
    assert all(type(v) in _DIRECT for v in values), values
    assert bin(shape).count("1") + len(values) == sqlite_rows.COLUMN_COUNT
    # the statement has a placeholder for each value and a NULL literal for each bit
    sql = sqlite_rows.insert_rows(shape, 1)
    assert sql.count("?") == len(values)
    assert sql.count("NULL") == bin(shape).count("1")
    numbered = sqlite_rows.insert_if_name_free(shape)
    assert f"?{len(values)}" in numbered and f"?{len(values) + 1}" not in numbered


def test_a_pull_task_without_a_tag_has_eight_null_columns() -> None:
    shape, values = sqlite_rows.encode(PULL_TASK)
    assert bin(shape).count("1") == 8  # tag, leased_at and the six push fields
    assert values == [PULL, "p", 5, bytearray(b"\x00\xff"), 0, 2, int(QueueMode.PULL)]


@pytest.mark.parametrize("insert", ["insert_tasks", "insert_if_name_free"])
def test_every_row_shape_round_trips_exactly(insert: str) -> None:
    store = SqliteTaskStore(":memory:")
    tasks = [PULL_TASK, TAGGED, PUSH_TASK, EMPTY_PAYLOAD]
    with store.transaction() as tx:
        if insert == "insert_tasks":
            tx.insert_tasks(tasks)
        else:
            assert all(tx.insert_if_name_free(t) for t in tasks)
    with store.transaction() as tx:
        assert [tx.get_task(t.queue, t.name) for t in tasks] == tasks
        # an empty payload is stored as an empty BLOB, not NULL (the column is NOT NULL)
        stored = tx.get_task(PULL, "e")
        assert stored is not None and stored.payload == b""


def test_by_shape_groups_rows_in_order_and_chunks_each_group() -> None:
    rows: list[sqlite_rows.Row] = [(0, [i]) for i in range(150)]
    rows += [(1, ["a"]), (0, [150]), (1, ["b"])]
    groups = sqlite_rows.by_shape(rows)
    assert [(shape, len(chunk)) for shape, chunk in groups] == [(0, 100), (0, 51), (1, 2)]
    assert [v[0] for _, chunk in groups[:2] for v in chunk] == list(range(151))
    assert groups[2][1] == [["a"], ["b"]]


def test_a_lease_reads_what_it_needs_of_each_ready_task_in_order() -> None:
    # Given two ready tasks of one tag and a third of another, with retry parameters
    store = SqliteTaskStore(":memory:")
    limit = RetryParameters(task_retry_limit=2)
    tasks = [
        StoredTask(queue=PULL, name="b", eta_usec=1, payload=b"\x00", tag="x", retry_count=1),
        StoredTask(queue=PULL, name="a", eta_usec=1, tag="y", created_usec=9),
        StoredTask(queue=PULL, name="c", eta_usec=2, tag="x", retry_parameters=limit),
        StoredTask(queue=PULL, name="later", eta_usec=50, tag="x"),
    ]
    with store.transaction() as tx:
        tx.insert_tasks(tasks)
    with traced_sql(store) as statements, store.transaction() as tx:
        ready = tx.ready_tasks(PULL, 10, 10)
        tagged = tx.ready_tasks_with_tag(PULL, "x", 10, 1)
    # Then each read names only the lease's columns, and the tasks come in (eta, name) order
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 2 and all(sqlite_rows.READY_COLUMNS in s for s in reads)
    assert ready == [
        ReadyTask("a", b"", "y", 0, 9),
        ReadyTask("b", b"\x00", "x", 1, 0),
        ReadyTask("c", b"", "x", 0, 0, limit),
    ]
    assert tagged == [ReadyTask("b", b"\x00", "x", 1, 0)]


def _task(i: int, fields: int) -> StoredTask:
    """Task ``n<i>`` with each nullable field set when its bit of ``fields`` is (values vary
    with ``i``; an empty payload and header list on every seventh)."""
    has = [bool(fields & (1 << bit)) for bit in range(8)]
    return StoredTask(
        queue=PULL if i % 2 else "push",
        name=f"n{i}",
        eta_usec=2**62 - i,
        payload=bytes([i % 256]) * (i % 7),
        tag=f"t{i}\u00e9" if has[0] else None,
        retry_count=i % 5,
        created_usec=i,
        mode=QueueMode.PULL if i % 3 else QueueMode.PUSH,
        method="POST" if has[1] else None,
        url=f"/u/{i}" if has[2] else None,
        headers=(("X-N", str(i)),) * (i % 7 % 3) if has[3] else (),
        retry_parameters=RetryParameters(task_retry_limit=i % 9) if has[4] else None,
        dispatch_deadline_usec=i * 1000 if has[5] else None,
        leased_at_usec=i + 1 if has[6] else None,
        http_url=f"https://h/{i}" if has[7] else None,
    )


@st.composite
def _tasks(draw: st.DrawFn) -> list[StoredTask]:
    """A batch of up to 250 tasks of one to four row shapes, interleaved at random."""
    shapes = draw(st.lists(st.integers(min_value=0, max_value=255), min_size=1, max_size=4))
    count = draw(st.integers(min_value=0, max_value=250))
    return [_task(i, draw(st.sampled_from(shapes))) for i in range(count)]


@given(tasks=_tasks())
def test_any_mixed_batch_is_stored_exactly(tasks: list[StoredTask]) -> None:
    # Given a batch whose tasks have any mix of row shapes, inserted in one call
    store = SqliteTaskStore(":memory:")
    with store.transaction() as tx:
        tx.insert_tasks(tasks)
    # Then every task is stored with every field as it was, and nothing else is stored
    with store.transaction() as tx:
        assert [tx.get_task(t.queue, t.name) for t in tasks] == tasks
        assert tx.count_tasks(PULL) + tx.count_tasks("push") == len(tasks)
