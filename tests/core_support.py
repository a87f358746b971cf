"""Shared builders for core and store tests: a service over an in-memory store and a fake clock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from emulator.core.pull_queue import LocalQueueService
from emulator.domain.clock import FakeClock
from emulator.domain.model import AddRequest, StoredTask
from emulator.domain.queue_config import QueueConfig, QueueMode, QueuesConfig, RetryParameters
from emulator.store.sqlite import SqliteTaskStore

PULL = "pull-q"
LIMITED = "limited"
PUSH = "push-q"

CONFIG = QueuesConfig.build(
    [
        QueueConfig(PULL, QueueMode.PULL),
        QueueConfig(LIMITED, QueueMode.PULL, retry_parameters=RetryParameters(task_retry_limit=2)),
        QueueConfig(PUSH, QueueMode.PUSH, rate="5/s", rate_per_second=5.0),
    ]
)

#: A stored push task with every field set to a value of its own but ``http_url`` (an
#: HTTP-target task has no relative ``url``).
EVERY_FIELD_TASK = StoredTask(
    queue=PULL,
    name="every-field",
    eta_usec=11,
    payload=b"\x00p",
    tag="t",
    retry_count=2,
    created_usec=3,
    mode=QueueMode.PUSH,
    method="PUT",
    url="/work",
    headers=(("a", "1"), ("b", "2")),
    retry_parameters=RetryParameters(task_retry_limit=4, min_backoff_seconds=0.5),
    dispatch_deadline_usec=15_000_000,
    leased_at_usec=7,
)


@dataclass
class World:
    """A service, its fake clock and its store."""

    service: LocalQueueService
    clock: FakeClock
    store: SqliteTaskStore

    def add(self, *requests: AddRequest, queue: str = PULL) -> list[str]:
        """Add tasks and return their names, asserting every add succeeded."""
        results = self.service.add(queue, list(requests))
        assert all(r.code.name == "OK" for r in results), results
        return [r.name or "" for r in results]

    def tick(self, seconds: float = 1) -> None:
        self.clock.advance(seconds)


def make_world(location: str = ":memory:", config: QueuesConfig = CONFIG) -> World:
    clock = FakeClock()
    store = SqliteTaskStore(location)
    return World(LocalQueueService(store, clock, config), clock, store)


def pull(payload: bytes = b"p", **fields: Any) -> AddRequest:
    """A pull-task request with ``fields`` of :class:`AddRequest` set."""
    return replace(AddRequest(payload=payload, mode=QueueMode.PULL), **fields)


# -- what the store's SQL does (index use, work done), read from SQLite itself -----------------


@contextmanager
def traced_sql(store: SqliteTaskStore) -> Iterator[list[str]]:
    """The statements the store runs inside the block, as SQLite expands them."""
    conn: sqlite3.Connection = store._conn
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        conn.set_trace_callback(None)


def query_plan(store: SqliteTaskStore, sql: str) -> list[str]:
    """SQLite's ``EXPLAIN QUERY PLAN`` steps for one traced statement."""
    return [row[-1] for row in store._conn.execute("EXPLAIN QUERY PLAN " + sql)]


@contextmanager
def vm_steps(store: SqliteTaskStore) -> Iterator[list[int]]:
    """How much work SQLite does inside the block: its virtual machine's instructions, in
    thousands (``[n]`` once the block ends). A count, not a time: the same on any machine."""
    conn: sqlite3.Connection = store._conn
    counted = [0]

    def tick() -> int:
        counted[0] += 1
        return 0

    conn.set_progress_handler(tick, 1000)
    try:
        yield counted
    finally:
        conn.set_progress_handler(None, 0)


def insert_tasks(store: SqliteTaskStore, tasks: Iterable[StoredTask]) -> None:
    """Store tasks directly, in one transaction (seeding large queues quickly)."""
    with store.transaction() as tx:
        for task in tasks:
            tx.insert_task(task)
