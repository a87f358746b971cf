"""The storage contract the core relies on: atomic transactions of domain-level verbs.

The core runs each operation as one ``with store.transaction() as tx:`` block. Inside it,
no other transaction (thread or process) observes or changes the same data: that is what
makes "no task is ever leased by two callers at once" true. Leaving the block normally
commits; an exception rolls everything back.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from emulator.domain.model import ReadyTask, StoredTask, TaskState


class StoreTransaction(Protocol):
    """Verbs available inside one transaction. Ordering is always (eta_usec, name)."""

    def get_task(self, queue: str, name: str) -> StoredTask | None:
        """The stored task, or None."""
        ...

    def is_tombstoned(self, queue: str, name: str) -> bool:
        """True if ``name`` was used in ``queue`` and its task has since been deleted."""
        ...

    def name_in_use(self, queue: str, name: str) -> bool:
        """True if ``name`` is stored in ``queue`` or tombstoned there, in one lookup."""
        ...

    def insert_task(self, task: StoredTask) -> None:
        """Store a new task; the caller has checked the name is free and not tombstoned."""
        ...

    def insert_if_name_free(self, task: StoredTask) -> bool:
        """Store ``task`` unless its name is stored or tombstoned in its queue, in one
        statement; whether it was stored (nothing changes when it was not)."""
        ...

    def insert_tasks(self, tasks: Sequence[StoredTask]) -> None:
        """Store new tasks, in order (one statement for a batch); as :meth:`insert_task`."""
        ...

    def taken_names(self, queue: str, names: Sequence[str]) -> tuple[set[str], set[str]]:
        """Which of ``names`` are stored in ``queue`` and which are tombstoned there, as
        ``(live, tombstoned)``: one lookup for a whole batch of adds."""
        ...

    def ready_tasks(self, queue: str, now_usec: int, limit: int) -> list[ReadyTask]:
        """The first ``limit`` tasks with ``eta_usec <= now_usec`` (ready), any tag, in
        ``(eta_usec, name)`` order; none while the queue is paused (in the same statement: a
        lease's check comes free)."""
        ...

    def ready_tasks_with_tag(
        self, queue: str, tag: str, now_usec: int, limit: int
    ) -> list[ReadyTask]:
        """The first ``limit`` tasks tagged ``tag`` with ``eta_usec <= now_usec``; none while
        the queue is paused, as :meth:`ready_tasks`."""
        ...

    def set_eta(self, queue: str, name: str, eta_usec: int) -> None:
        """Move one task's ETA (a lease change); its retry count stays."""
        ...

    def mark_leased(self, queue: str, names: Sequence[str], eta_usec: int, now_usec: int) -> None:
        """Lease the named tasks: ETA := ``eta_usec``, retry count + 1, leased at ``now_usec``."""
        ...

    def delete_task(self, queue: str, name: str, *, tombstone_usec: int | None) -> bool:
        """Remove a task; with a ``tombstone_usec`` (the operation's now) remember its name
        as tombstoned at that instant, with None forget it. True if it existed."""
        ...

    def delete_tasks(
        self, queue: str, names: Sequence[str], *, tombstone_usec: int | None
    ) -> set[str]:
        """Remove the named tasks (a batch delete, one statement); with a ``tombstone_usec``
        remember the names of those that existed, tombstoned at that instant. Returns the
        names that existed."""
        ...

    def delete_all(self, queue: str, *, tombstone_usec: int | None) -> int:
        """Remove every task of ``queue`` (tombstoning the names at ``tombstone_usec`` unless it
        is None); return the count."""
        ...

    def clear_tombstones(self, queue: str, names: Sequence[str] | None = None) -> None:
        """Forget tombstones of ``queue``: the given names, or all of them."""
        ...

    def prune_tombstones(self, before_usec: int, limit: int) -> int:
        """Forget at most ``limit`` tombstones (of any queue) made before ``before_usec``,
        the oldest first; return how many. Their names can be used again."""
        ...

    def count_tasks(self, queue: str) -> int:
        """Every stored task of ``queue``."""
        ...

    def count_leased(self, queue: str, now_usec: int) -> int:
        """Tasks with ``eta_usec > now_usec`` and ``retry_count > 0`` (leased right now)."""
        ...

    def count_ready(self, queue: str, now_usec: int) -> int:
        """Tasks with ``eta_usec <= now_usec`` (a lease could take them now)."""
        ...

    def count_delayed(self, queue: str, now_usec: int) -> int:
        """Tasks with ``eta_usec > now_usec`` and ``retry_count = 0`` (never leased, not due)."""
        ...

    def oldest_eta(self, queue: str) -> int | None:
        """The smallest ETA in ``queue``, or None if it is empty."""
        ...

    def record_leases(self, queue: str, now_usec: int, count: int) -> None:
        """Remember that ``count`` tasks were leased at ``now_usec`` (for statistics)."""
        ...

    def leases_since(self, queue: str, since_usec: int) -> int:
        """How many tasks were leased at or after ``since_usec``."""
        ...

    def prune_lease_log(self, before_usec: int) -> None:
        """Forget lease records older than ``before_usec``."""
        ...

    def next_auto_name_id(self) -> int:
        """Advance and return the counter behind auto names (1, 2, ...); survives restarts."""
        ...

    def reserve_auto_name_ids(self, count: int) -> int:
        """Advance the auto-name counter by ``count`` at once; return its new value (the ids
        reserved are ``value - count + 1 .. value``), as ``count`` calls of
        :meth:`next_auto_name_id` would."""
        ...

    def is_paused(self, queue: str) -> bool:
        """Whether ``queue`` is paused."""
        ...

    def set_paused(self, queue: str, paused: bool) -> None:
        """Pause or resume ``queue``."""
        ...

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
        """Tasks after the (eta, name) key ``after``, filtered by state (empty = all) and tag
        (None = any, ``''`` = untagged), at most ``limit``."""
        ...

    def reset(self) -> None:
        """Remove all data: tasks, tombstones, lease records, pauses, counters."""
        ...


class TaskStore(Protocol):
    """A durable (or in-memory) home for tasks."""

    def transaction(self) -> AbstractContextManager[StoreTransaction]:
        """Begin an exclusive transaction; commit on normal exit, roll back on exception."""
        ...

    def close(self) -> None:
        """Release the store's resources; the store is unusable afterwards."""
        ...

    @property
    def location(self) -> str:
        """Where the data lives: a file path or ``:memory:``."""
        ...
