"""Soak: ``workers`` processes put mixed load (adds, leases, extends, deletes, purges, stats;
:func:`bench.reliability.workers.run_soak`) on one server for ``seconds``, optionally with
``--inject-faults SPEC``; the queue is then drained and left idle for ``idle_seconds``.
The server's RSS and the database's size (with ``-wal`` and ``-shm``) are sampled every
``sample_seconds`` throughout (written to ``soak-samples.jsonl`` under the run's root); the
result is their least-squares slope per phase.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import emulator_api, targets
from bench.reliability import cluster, workers

LOAD = "load"
DRAIN = "drain"
IDLE = "idle"
_DRAIN_ATTEMPTS = 10_000


@dataclass(frozen=True)
class Sample:
    """One reading: seconds since the start, server RSS and database size in MiB."""

    t_s: float
    phase: str
    rss_mib: float
    db_mib: float


@dataclass
class SoakResult:
    """The samples, the workers' counters, and what the drain removed."""

    samples: list[Sample] = field(default_factory=list)
    workers: list[dict[str, Any]] = field(default_factory=list)
    drained: int = 0
    final_tasks: int = -1

    def slope(self, phase: str, attr: str, *, second_half: bool = False) -> float:
        """Least-squares slope of ``attr`` (``rss_mib`` or ``db_mib``) over ``phase`` (or its
        second half: the steady state), in MiB per minute (0.0 with fewer than two samples)."""
        points = [(s.t_s, getattr(s, attr)) for s in self.samples if s.phase == phase]
        if second_half:
            points = points[len(points) // 2 :]
        if len(points) < 2 or len({t for t, _ in points}) < 2:
            return 0.0
        xs, ys = zip(*points, strict=True)
        return float(statistics.linear_regression(xs, ys).slope) * 60

    def peak(self, attr: str) -> float:
        return max((getattr(s, attr) for s in self.samples), default=0.0)

    def last(self, phase: str, attr: str) -> float:
        values = [getattr(s, attr) for s in self.samples if s.phase == phase]
        return values[-1] if values else 0.0

    def summary(self) -> str:
        totals: dict[str, int] = {}
        for counts in self.workers:
            for key, value in counts.items():
                if isinstance(value, int):
                    totals[key] = totals.get(key, 0) + value
        ops = ", ".join(f"{k} {v}" for k, v in sorted(totals.items()))
        return (
            f"{len(self.samples)} samples; ops: {ops}; drained {self.drained}, "
            f"left {self.final_tasks}; RSS peak {self.peak('rss_mib'):.1f} MiB, "
            f"idle end {self.last(IDLE, 'rss_mib'):.1f} MiB, "
            f"slope load {self.slope(LOAD, 'rss_mib'):+.3f} / load 2nd half "
            f"{self.slope(LOAD, 'rss_mib', second_half=True):+.3f} / idle "
            f"{self.slope(IDLE, 'rss_mib'):+.3f} MiB/min; DB peak {self.peak('db_mib'):.2f} MiB, "
            f"idle end {self.last(IDLE, 'db_mib'):.2f} MiB, slope load 2nd half "
            f"{self.slope(LOAD, 'db_mib', second_half=True):+.4f} / idle "
            f"{self.slope(IDLE, 'db_mib'):+.4f} MiB/min"
        )


class Sampler:
    """A thread reading the server's RSS and the database size every ``every_s``."""

    def __init__(self, pid: int, db: str, every_s: float) -> None:
        self.pid, self.db, self.every_s = pid, db, every_s
        self.phase = LOAD
        self.samples: list[Sample] = []
        self._start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every_s)

    def sample(self) -> None:
        rss = targets.proc_memory_mib(self.pid)["vmrss_mib"]
        now = time.monotonic() - self._start
        self.samples.append(Sample(now, self.phase, rss, targets.db_size_mib(self.db)))

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join()
        return self.samples


def run(
    root: str,
    *,
    seconds: float,
    workers_count: int = 3,
    faults: str | None = None,
    idle_seconds: float | None = None,
    sample_seconds: float = 1.0,
    mode: str = workers.SHIM,
) -> SoakResult:
    """Soak one server under ``root`` (see the module); the server is stopped afterwards."""
    queue_yaml = cluster.write_queue_yaml(root)
    db = os.path.join(root, "soak.db")
    extra = ["--inject-faults", faults] if faults else []
    server = targets.Server(db, queue_yaml, extra)
    result = SoakResult()
    try:
        sampler = Sampler(server.pid, db, sample_seconds).start()
        procs = [
            cluster.spawn("soak", _config(mode, server.address, i, seconds))
            for i in range(workers_count)
        ]
        result.workers = cluster.collect(procs, seconds + 300)
        sampler.phase = DRAIN
        call = emulator_api.json_client(server.address)
        result.drained = drain(call)
        sampler.phase = IDLE
        idle_end = time.monotonic() + (idle_seconds if idle_seconds is not None else seconds / 3)
        while time.monotonic() < idle_end:
            status, body = call("GET", f"/v1/queues/{cluster.QUEUE}/stats", None)
            if status == 200:
                result.final_tasks = int(body["tasks"])
            time.sleep(sample_seconds)
        sampler.sample()
        result.samples = sampler.stop()
    finally:
        server.stop()
    write_samples(result.samples, os.path.join(root, "soak-samples.jsonl"))
    return result


def write_samples(samples: list[Sample], path: str) -> None:
    """One JSON object a line: ``t_s``, ``phase``, ``rss_mib``, ``db_mib``."""
    with open(path, "w", encoding="utf-8") as f:
        for sample in samples:
            f.write(json.dumps(dataclasses.asdict(sample)) + "\n")


def _config(mode: str, address: str, index: int, seconds: float) -> dict[str, Any]:
    return {
        "mode": mode,
        "address": address,
        "queue": cluster.QUEUE,
        "worker": f"soak{index}",
        "seed": index,
        "deadline_s": seconds,
        "batch": 10,
    }


def drain(call: Callable[[str, str, Any], tuple[int, Any]]) -> int:
    """Lease and delete every ready task of the queue, then purge what workers left leased
    (retrying injected faults); return how many the leases and deletes removed. Raises
    RuntimeError if the queue is not empty after many attempts."""
    deleted = 0
    path = f"/v1/queues/{cluster.QUEUE}"
    for _ in range(_DRAIN_ATTEMPTS):
        status, body = call("POST", f"{path}/lease", {"lease_seconds": 60, "max_tasks": 1000})
        if status == 200 and body["tasks"]:
            names = [task["name"] for task in body["tasks"]]
            status, _ = call("POST", f"{path}/delete", {"names": names})
            deleted += len(names) if status == 200 else 0
        elif status == 200:
            call("POST", f"{path}/purge", {})
            status, stats = call("GET", f"{path}/stats", None)
            if status == 200 and stats["tasks"] == 0:
                return deleted
    raise RuntimeError(f"the queue was not empty after {_DRAIN_ATTEMPTS} drain attempts")
