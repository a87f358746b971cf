"""The worker processes of the reliability runs: ``python -m bench.reliability.workers ROLE
CONFIG_JSON``. Each prints one JSON line of counters on stdout when it ends.

Roles:

* ``producer``: adds ``tasks`` named pull tasks (``t-000000`` ...) in batches, logging
  ADDED with the ETA the server stored; then creates ``done_file``;
* ``consumer``: leases batches; per task extends (``p_extend``), then releases
  (``p_release``, ``modify_task_lease(task, 0)``), abandons (``p_abandon``: the lease
  expires and someone else gets the task) or deletes it; every acknowledged step is logged.
  An abandoned task is tried again (extend) once its lease has expired: the server must
  refuse (``late_refused``). It stops once ``done_file`` exists and the queue is empty;
* ``soak``: a mixed load (adds, leases, extends, deletes, purges, stats) until
  ``deadline_s``, tolerating the errors ``--inject-faults`` makes (counted by name).

``mode`` is ``shim`` (our shim, remote backend, JSON ``/v1``) or ``sdk`` (Google's SDK over
``/rpc_http``). The config is JSON: see :func:`run_producer` and the others for the keys.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections import Counter
from typing import Any

from bench import emulator_api
from bench.reliability.events import ADDED, DELETED, EXTENDED, LEASED, RELEASED, Event, EventLog

SHIM = "shim"
SDK = "sdk"
PAYLOAD = b"p" * 64
_EMPTY_POLL_PAUSE_S = 0.02


def connect(mode: str, address: str) -> Any:
    """The ``taskqueue`` module of ``mode`` (``shim`` or ``sdk``) talking to ``address``."""
    if mode == SHIM:
        return emulator_api.install_remote(address)
    if mode == SDK:
        return emulator_api.install_sdk(address)
    raise ValueError(f"mode must be {SHIM} or {SDK}, not {mode!r}")


def eta_usec(task: Any) -> int:
    """A task's ETA in integer microseconds (the lease token after a lease), as both
    Google's SDK and the shim compute it."""
    return round(float(task.eta_posix) * 1e6)


def wall_usec() -> int:
    return time.time_ns() // 1000


def run_producer(config: dict[str, Any]) -> dict[str, Any]:
    """Add ``tasks`` tasks to ``queue`` in batches of ``batch``; keys: ``mode``, ``address``,
    ``queue``, ``tasks``, ``batch``, ``log``, ``done_file``."""
    tq = connect(config["mode"], config["address"])
    queue = tq.Queue(config["queue"])
    log = EventLog(config["log"])
    total, batch = int(config["tasks"]), int(config["batch"])
    for first in range(0, total, batch):
        tasks = [
            tq.Task(name=f"t-{i:06d}", method="PULL", payload=PAYLOAD)
            for i in range(first, min(first + batch, total))
        ]
        queue.add(tasks)
        for task in tasks:
            log.write(Event(ADDED, task.name, "producer", eta_usec(task), eta_usec(task)))
    log.close()
    with open(config["done_file"], "w"):
        pass
    return {"worker": "producer", "added": total}


class Consumer:
    """One consumer's loop (see the module's ``consumer`` role)."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.tq = connect(config["mode"], config["address"])
        self.queue = self.tq.Queue(config["queue"])
        self.name = str(config["worker"])
        self.log = EventLog(config["log"])
        self.lease_seconds = float(config["lease_seconds"])
        self.lease_usec = int(self.lease_seconds * 1e6)
        self.batch = int(config["batch"])
        self.p_extend = float(config["p_extend"])
        self.p_release = float(config["p_release"])
        self.p_abandon = float(config["p_abandon"])
        self.rng = random.Random(config["seed"])
        self.done_file = str(config["done_file"])
        self.deadline = time.monotonic() + float(config["deadline_s"])
        self.abandoned: list[tuple[float, Any]] = []
        self.counts: Counter[str] = Counter()

    def run(self) -> dict[str, Any]:
        while time.monotonic() < self.deadline:
            self._retry_abandoned()
            tasks = self.queue.lease_tasks(self.lease_seconds, self.batch)
            if tasks:
                self._work(tasks)
            elif self._finished():
                break
            else:
                self.counts["empty_leases"] += 1
                time.sleep(_EMPTY_POLL_PAUSE_S)
        self.log.close()
        return {"worker": self.name, **self.counts}

    def _finished(self) -> bool:
        return os.path.exists(self.done_file) and self.queue.fetch_statistics().tasks == 0

    def _work(self, tasks: list[Any]) -> None:
        to_delete = []
        for task in tasks:
            token = eta_usec(task)
            self._write(LEASED, task, token - self.lease_usec, token)
            self.counts["leased"] += 1
            if self.rng.random() < self.p_extend and not self._modify(task, self.lease_seconds):
                continue
            choice = self.rng.random()
            if choice < self.p_release:
                self._modify(task, 0)
            elif choice < self.p_release + self.p_abandon:
                self.abandoned.append((time.monotonic() + self.lease_seconds * 1.5, task))
                self.counts["abandoned"] += 1
            else:
                to_delete.append(task)
        if to_delete:
            self.queue.delete_tasks(to_delete)
            acked = wall_usec()
            for task in to_delete:
                if task.was_deleted:
                    self._write(DELETED, task, acked, None)
                else:
                    self.counts["delete_refused"] += 1

    def _modify(self, task: Any, seconds: float) -> bool:
        """Extend (``seconds`` > 0) or release (0) ``task``'s lease; log it if acknowledged.
        False if the server said the lease had expired, or that someone deleted the task
        after it expired."""
        prev = eta_usec(task)
        try:
            self.queue.modify_task_lease(task, seconds)
        except (self.tq.TaskLeaseExpiredError, self.tq.TombstonedTaskError) as exc:
            self.counts[f"refused:{type(exc).__name__}"] += 1
            return False
        token = eta_usec(task)
        if seconds:
            self._write(EXTENDED, task, token - int(seconds * 1e6), token, prev)
            self.counts["extended"] += 1
        else:
            self._write(RELEASED, task, token, token, prev)
            self.counts["released"] += 1
        return True

    def _retry_abandoned(self) -> None:
        """Extend the abandoned tasks whose leases have expired: the server must refuse."""
        now = time.monotonic()
        due = [task for when, task in self.abandoned if when <= now]
        self.abandoned = [(when, task) for when, task in self.abandoned if when > now]
        for task in due:
            if self._modify(task, self.lease_seconds):
                self.counts["late_accepted"] += 1  # logged: the checker judges it
            else:
                self.counts["late_refused"] += 1

    def _write(
        self, kind: str, task: Any, at_usec: int, token: int | None, prev: int | None = None
    ) -> None:
        self.log.write(Event(kind, task.name, self.name, at_usec, token, prev))


def run_soak(config: dict[str, Any]) -> dict[str, Any]:
    """Mixed load on ``queue`` until ``deadline_s`` seconds have passed; keys: ``mode``,
    ``address``, ``queue``, ``worker``, ``seed``, ``deadline_s``, ``batch``. Errors from
    injected faults are counted by class name and the loop goes on."""
    tq = connect(config["mode"], config["address"])
    from google.appengine.runtime import apiproxy_errors

    tolerated = (tq.Error, apiproxy_errors.Error)  # what injected faults raise
    queue = tq.Queue(config["queue"])
    rng = random.Random(config["seed"])
    batch = int(config["batch"])
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + float(config["deadline_s"])
    while time.monotonic() < deadline:
        try:
            _soak_step(tq, queue, rng, batch, counts)
        except tolerated as exc:
            counts[f"error:{type(exc).__name__}"] += 1
    return {"worker": str(config["worker"]), **counts}


def _soak_step(tq: Any, queue: Any, rng: random.Random, batch: int, counts: Counter[str]) -> None:
    """One step of the soak: mostly adds and lease/extend/delete rounds, sometimes stats,
    rarely a purge (the queue shrinks at once; the adds refill it)."""
    roll = rng.random()
    if roll < 0.45:
        tags = [f"tag{rng.randrange(4)}" for _ in range(batch)]
        queue.add(
            [tq.Task(method="PULL", payload=PAYLOAD * rng.randrange(1, 8), tag=t) for t in tags]
        )
        counts["added"] += batch
    elif roll < 0.93:
        tasks = queue.lease_tasks(30, batch)
        for task in tasks[: len(tasks) // 3]:
            queue.modify_task_lease(task, 60)
            counts["extended"] += 1
        if tasks:
            queue.delete_tasks(tasks)
        counts["deleted"] += len(tasks)
    elif roll < 0.995:
        queue.fetch_statistics()
        counts["stats"] += 1
    else:
        queue.purge()
        counts["purged"] += 1


ROLES = {"producer": run_producer, "soak": run_soak}


def main(argv: list[str]) -> int:
    role, config = argv[0], json.loads(argv[1])
    result = Consumer(config).run() if role == "consumer" else ROLES[role](config)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
