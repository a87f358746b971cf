"""Lease exclusivity under load: one producer and N consumers (separate processes) against
one server, two servers sharing one SQLite file, or Google's SDK over ``/rpc_http``; every
event logged; :mod:`bench.reliability.checker` judges the histories.

Modes: ``one`` (shim → one server), ``two`` (shim → two servers on one file, consumers
alternate), ``sdk`` (Google's SDK → one server's ``/rpc_http``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from bench.reliability import checker, cluster, events, workers

ONE = "one"
TWO = "two"
SDK = "sdk"
MODES = (ONE, TWO, SDK)


@dataclass(frozen=True)
class Plan:
    """The size and mix of a run (defaults: the full run of docs/RELIABILITY.md)."""

    mode: str = ONE
    tasks: int = 10_000
    consumers: int = 4
    lease_seconds: float = 2.0
    batch: int = 10
    p_extend: float = 0.2
    p_release: float = 0.1
    p_abandon: float = 0.01
    timeout_s: float = 1800.0


@dataclass
class Outcome:
    """A run's checker report, the workers' counters, and its duration."""

    plan: Plan
    report: checker.Report
    workers: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        totals: dict[str, int] = {}
        for counts in self.workers:
            for key, value in counts.items():
                if isinstance(value, int) and key != "added":
                    totals[key] = totals.get(key, 0) + value
        worker_counts = ", ".join(f"{k} {v}" for k, v in sorted(totals.items()))
        return (
            f"mode {self.plan.mode}: {self.plan.consumers} consumers, {self.seconds:.1f} s; "
            f"{self.report.summary()}; workers: {worker_counts}"
        )


def run(plan: Plan, root: str) -> Outcome:
    """Run ``plan`` with its files under ``root`` (an empty directory); the servers are
    stopped afterwards, whatever happens."""
    queue_yaml = cluster.write_queue_yaml(root)
    log_dir = os.path.join(root, "events")
    os.makedirs(log_dir)
    servers = cluster.start_servers(
        2 if plan.mode == TWO else 1, os.path.join(root, "q.db"), queue_yaml
    )
    try:
        start = time.perf_counter()
        procs = [cluster.spawn("producer", _producer(plan, servers[0].address, root, log_dir))]
        for i in range(plan.consumers):
            address = servers[i % len(servers)].address
            procs.append(cluster.spawn("consumer", _consumer(plan, i, address, root, log_dir)))
        results = cluster.collect(procs, plan.timeout_s)
        seconds = time.perf_counter() - start
    finally:
        cluster.stop_servers(servers)
    report = checker.check(events.read_events(events.log_files(log_dir)))
    return Outcome(plan, report, results, seconds)


def _mode(plan: Plan) -> str:
    return workers.SDK if plan.mode == SDK else workers.SHIM


def _producer(plan: Plan, address: str, root: str, log_dir: str) -> dict[str, Any]:
    return {
        "mode": _mode(plan),
        "address": address,
        "queue": cluster.QUEUE,
        "tasks": plan.tasks,
        "batch": 50,
        "log": os.path.join(log_dir, "producer.jsonl"),
        "done_file": os.path.join(root, "added"),
    }


def _consumer(plan: Plan, index: int, address: str, root: str, log_dir: str) -> dict[str, Any]:
    return {
        "mode": _mode(plan),
        "address": address,
        "queue": cluster.QUEUE,
        "worker": f"w{index}",
        "log": os.path.join(log_dir, f"w{index}.jsonl"),
        "lease_seconds": plan.lease_seconds,
        "batch": plan.batch,
        "p_extend": plan.p_extend,
        "p_release": plan.p_release,
        "p_abandon": plan.p_abandon,
        "seed": index,
        "done_file": os.path.join(root, "added"),
        "deadline_s": plan.timeout_s,
    }
