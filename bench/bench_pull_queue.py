"""Throughput and memory of the pull-queue cycle, as ratios against Google's testbed stub.

Each configuration runs in its own process (so memory readings don't mix) through the same
legacy API calls: add N tasks in batches of 100, then lease 100 at a time and delete them
until the queue is empty. Printed: seconds per phase, tasks/s, the peak RSS growth while the
N tasks are stored, and each figure's ratio to the stub measured in the same run.

    python bench/bench_pull_queue.py [--tasks 5000]

Benchmarks never fail a build: this prints, it does not assert.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

QUEUE_YAML = "queue:\n- name: bench\n  mode: pull\n"
CONFIGS = ("google-stub", "shim-embedded-memory", "shim-embedded-file", "shim-remote-http")


def _rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _taskqueue_for(config: str, root: str) -> tuple[Any, Callable[[], None]]:
    """The ``taskqueue`` module to drive and a cleanup function."""
    yaml_path = os.path.join(root, "queue.yaml")
    if config == "google-stub":
        from google.appengine.api import taskqueue
        from google.appengine.ext import testbed

        bed = testbed.Testbed()
        bed.activate()
        bed.init_taskqueue_stub(root_path=root)
        return taskqueue, bed.deactivate
    from emulator.domain.limits import MEMORY_STORAGE
    from shims import backends
    from shims import taskqueue as shim

    if config == "shim-remote-http":
        from emulator.app import runtime_app
        from emulator.server import ServerThread
        from emulator.wiring import build_runtime

        runtime = build_runtime(yaml_path, MEMORY_STORAGE)
        server = ServerThread(runtime_app(runtime)).start()
        os.environ[backends.ENV_HOST] = server.address
        return shim, server.stop
    storage = MEMORY_STORAGE if config.endswith("memory") else os.path.join(root, "tasks.sqlite3")
    backends.configure_embedded(yaml_path, storage)
    return shim, backends.close_all


def run_one(config: str, tasks: int) -> dict[str, float]:
    """Run the workload in this process and return its measurements."""
    with tempfile.TemporaryDirectory() as root:
        with open(os.path.join(root, "queue.yaml"), "w") as f:
            f.write(QUEUE_YAML)
        taskqueue, cleanup = _taskqueue_for(config, root)
        queue = taskqueue.Queue("bench")
        queue.add([taskqueue.Task(payload=b"warm-up", method="PULL")])
        queue.purge()
        rss_before = _rss_kib()
        start = time.perf_counter()
        for first in range(0, tasks, 100):
            batch = [
                taskqueue.Task(payload=b"x" * 100, method="PULL", tag=f"t{i % 10}")
                for i in range(first, min(first + 100, tasks))
            ]
            queue.add(batch)
        added = time.perf_counter()
        rss_growth = _rss_kib() - rss_before
        done = 0
        while True:
            leased = queue.lease_tasks(600, 100)
            if not leased:
                break
            queue.delete_tasks(leased)
            done += len(leased)
        finished = time.perf_counter()
        cleanup()
    return {
        "add_s": added - start,
        "lease_delete_s": finished - added,
        "leased": done,
        "rss_growth_kib": max(rss_growth, 1),
    }


def _measure(config: str, tasks: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--config", config, "--tasks", str(tasks)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--config", choices=CONFIGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.config:
        print(json.dumps(run_one(args.config, args.tasks)))
        return
    results = {config: _measure(config, args.tasks) for config in CONFIGS}
    base = results["google-stub"]
    print(f"{args.tasks} pull tasks; ratios are (this / Google's stub); lower is better")
    print(
        f"{'configuration':24} {'add s':>8} {'ratio':>6} {'lease+delete s':>15} {'ratio':>6} "
        f"{'RSS growth KiB':>15} {'ratio':>6} {'leased':>7}"
    )
    for config, r in results.items():
        print(
            f"{config:24} {r['add_s']:8.3f} {r['add_s'] / base['add_s']:6.2f} "
            f"{r['lease_delete_s']:15.3f} {r['lease_delete_s'] / base['lease_delete_s']:6.2f} "
            f"{r['rss_growth_kib']:15.0f} {r['rss_growth_kib'] / base['rss_growth_kib']:6.2f} "
            f"{r['leased']:7.0f}"
        )


if __name__ == "__main__":
    main()
