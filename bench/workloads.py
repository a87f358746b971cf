"""The workloads, written once against the legacy ``taskqueue`` API.

Google's SDK (with the testbed stub or with our ``/rpc_http``) and our shim (embedded or
remote) expose the same module, so one :class:`LegacyQueue` drives every target and each
workload measures exactly the same calls. Timings use ``time.perf_counter``.
"""

from __future__ import annotations

import datetime
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

PAYLOAD = b"x" * 100
TAGS = 10
LEASE_SECONDS = 600


@dataclass(frozen=True)
class Sizes:
    """How much work each workload does (``quick()`` for smoke runs)."""

    depths: tuple[int, ...] = (1_000, 100_000, 1_000_000)
    #: The depth at which the issue's ratio targets are judged.
    ref_depth: int = 100_000
    #: Deepest queue seeded on Google's stub (its add path makes 1M very slow).
    stub_max_depth: int = 100_000
    add_calls: int = 100
    lease_size: int = 1000
    lease_reps: int = 10
    tag_calls: int = 50
    tag_size: int = 100
    single_calls: int = 500
    worker_cycles: int = 200
    worker_batch: int = 10
    workers: int = 4
    startup_runs: int = 5
    install_runs: int = 5

    @staticmethod
    def quick() -> Sizes:
        return Sizes(
            depths=(100, 400),
            ref_depth=400,
            stub_max_depth=400,
            add_calls=3,
            lease_size=50,
            lease_reps=2,
            tag_calls=3,
            tag_size=10,
            single_calls=10,
            worker_cycles=5,
            worker_batch=5,
            workers=2,
            startup_runs=1,
            install_runs=1,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> Sizes:
        data = dict(data)
        data["depths"] = tuple(data["depths"])
        return Sizes(**data)


def past_eta(hours: float) -> datetime.datetime:
    """An aware UTC datetime ``hours`` ago (seeded and topped-up tasks are ready at once)."""
    return datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours)


class LegacyQueue:
    """One pull queue through a legacy ``taskqueue`` module (Google's or our shim)."""

    def __init__(self, taskqueue: Any, queue_name: str) -> None:
        self._tq = taskqueue
        self.queue = taskqueue.Queue(queue_name)
        self._counter = 0

    def tasks(self, n: int, eta: datetime.datetime | None = None) -> list[Any]:
        out = []
        for _ in range(n):
            self._counter += 1
            tag = f"t{self._counter % TAGS}"
            if eta is None:
                out.append(self._tq.Task(payload=PAYLOAD, method="PULL", tag=tag))
            else:
                out.append(self._tq.Task(payload=PAYLOAD, method="PULL", tag=tag, eta=eta))
        return out

    def add(self, n: int, eta: datetime.datetime | None = None) -> None:
        """Add ``n`` tasks in calls of at most 100 (untimed helper)."""
        for first in range(0, n, 100):
            self.queue.add(self.tasks(min(100, n - first), eta))

    def lease(self, n: int) -> list[Any]:
        return list(self.queue.lease_tasks(LEASE_SECONDS, n))

    def lease_by_tag(self, n: int) -> list[Any]:
        return list(self.queue.lease_tasks_by_tag(LEASE_SECONDS, n))

    def delete(self, tasks: Sequence[Any]) -> None:
        if tasks:
            self.queue.delete_tasks(list(tasks))


def summary(latencies: Sequence[float], items_per_call: float = 1.0) -> dict[str, float]:
    """Latency percentiles (ms) and throughput of a list of per-call durations (s)."""
    ordered = sorted(latencies)
    total = sum(ordered)
    n = len(ordered)
    return {
        "calls": n,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(n - 1, round(0.99 * (n - 1)))],
        "mean_ms": 1000 * total / n,
        "calls_per_s": n / total if total else 0.0,
        "items_per_s": n * items_per_call / total if total else 0.0,
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run_suite(
    q: LegacyQueue, sizes: Sizes, floor_call: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """Every per-depth workload on a queue that already holds the seeded tasks.

    With ``floor_call`` (one call of the floor endpoint), each single-task call is followed
    by one timed floor call, and each single workload also records
    ``paired_floor_calls_per_s``: the floor measured in the same seconds as the target, so
    their ratio does not move with the machine between two phases of a run.
    """
    out: dict[str, Any] = {}
    # Warm-up: one call of each kind (connections, caches, lazy imports).
    q.add(1)
    q.delete(q.lease(1))

    # add, 100 tasks per call.
    lat = []
    for _ in range(sizes.add_calls):
        batch = q.tasks(100)
        lat.append(timed(lambda b=batch: q.queue.add(b))[0])  # type: ignore[misc]
    out["add100"] = summary(lat, 100)

    # lease + delete, lease_size per call; each rep first tops the queue up (untimed) with
    # tasks older than the seeded ones, so the depth stays where it was.
    lease_lat, delete_lat, leased = [], [], 0
    for _ in range(sizes.lease_reps):
        q.add(sizes.lease_size, eta=past_eta(3))
        dt, tasks = timed(lambda: q.lease(sizes.lease_size))
        lease_lat.append(dt)
        leased += len(tasks)
        delete_lat.append(timed(lambda t=tasks: q.delete(t))[0])  # type: ignore[misc]
    total = sum(lease_lat) + sum(delete_lat)
    out["lease_delete"] = {
        "tasks": leased,
        "tasks_per_s": leased / total if total else 0.0,
        "lease_p50_ms": 1000 * statistics.median(lease_lat),
        "delete_p50_ms": 1000 * statistics.median(delete_lat),
        "tasks_per_lease": leased / sizes.lease_reps,
    }

    # lease_tasks_by_tag(tag_size) with no tag: the oldest task's tag decides.
    lat, got = [], 0
    for _ in range(sizes.tag_calls):
        dt, tasks = timed(lambda: q.lease_by_tag(sizes.tag_size))
        lat.append(dt)
        got += len(tasks)
        q.delete(tasks)
    out["lease_by_tag"] = {**summary(lat), "tasks_per_call": got / sizes.tag_calls}

    # Single-task calls: add one, lease one, delete one.
    paired = _Paired(floor_call)
    lat = []
    for _ in range(sizes.single_calls):
        task = q.tasks(1)[0]
        lat.append(paired.timed(lambda t=task: q.queue.add(t))[0])  # type: ignore[misc]
    out["single_add"] = paired.summary(lat)
    lat, leased_tasks = [], []
    for _ in range(sizes.single_calls):
        dt, tasks = paired.timed(lambda: q.lease(1))
        lat.append(dt)
        leased_tasks.extend(tasks)
    out["single_lease"] = paired.summary(lat)
    lat = [paired.timed(lambda t=task: q.delete([t]))[0] for task in leased_tasks]  # type: ignore[misc]
    out["single_delete"] = paired.summary(lat) if lat else {}
    return out


class _Paired:
    """Times a target's calls, each followed by one timed floor call (if there is a floor)."""

    def __init__(self, floor_call: Callable[[], Any] | None) -> None:
        self._floor_call = floor_call
        self._floor: list[float] = []

    def timed(self, fn: Callable[[], Any]) -> tuple[float, Any]:
        out = timed(fn)
        if self._floor_call is not None:
            self._floor.append(timed(self._floor_call)[0])
        return out

    def summary(self, latencies: Sequence[float]) -> dict[str, float]:
        """The target's :func:`summary`, with the floor calls since the last summary."""
        out = summary(latencies)
        if self._floor:
            out["paired_floor_calls_per_s"] = summary(self._floor)["calls_per_s"]
            self._floor = []
        return out


def worker_loop(q: LegacyQueue, cycles: int, batch: int) -> dict[str, float]:
    """A pull worker: lease ``batch`` tasks and delete them, ``cycles`` times."""
    start = time.perf_counter()
    done = 0
    for _ in range(cycles):
        tasks = q.lease(batch)
        q.delete(tasks)
        done += len(tasks)
    return {"start": start, "end": time.perf_counter(), "tasks": done}


def aggregate(runs: Sequence[dict[str, float]]) -> dict[str, float]:
    """Aggregate throughput of workers that ran at the same time (perf_counter is
    CLOCK_MONOTONIC on Linux, so timestamps from different processes compare)."""
    start = min(r["start"] for r in runs)
    end = max(r["end"] for r in runs)
    tasks = sum(r["tasks"] for r in runs)
    return {
        "workers": len(runs),
        "tasks": tasks,
        "seconds": end - start,
        "tasks_per_s": tasks / (end - start) if end > start else 0.0,
    }
