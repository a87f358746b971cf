"""Shared builders for core and store tests: a service over an in-memory store and a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from emulator.core.pull_queue import LocalQueueService
from emulator.domain.clock import FakeClock
from emulator.domain.model import AddRequest
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
