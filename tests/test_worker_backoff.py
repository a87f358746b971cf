"""A worker loop that catches, backs off and retries provably survives the production
behaviours: four worker threads and a producer thread run ``tests/apps/backoff_worker/worker.py``
(the worker of docs/TESTING.md) against an emulator with the lease rate limit, the visibility
delay, random faults on add, lease and delete, and faults armed with ``fail_next``, on the
embedded and on the remote backend. Every task is processed and deleted exactly once, and
every injected fault was seen by exactly one caller.

Time is the emulator's test clock, never a sleep: :class:`VirtualTime` lets the threads
sleep on it and moves it, from the test, to the earliest wake-up once every thread sleeps.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import shims
from emulator.domain.faults import parse_fault_spec
from emulator.domain.limits import USEC_PER_SECOND, usec_from_seconds
from emulator.domain.production import ProductionOptions
from shims import testing
from tests.conftest import BackendFactory
from tests.shim_support import PULL, T0, shim_world

WORKER = Path(__file__).resolve().parent / "apps" / "backoff_worker" / "worker.py"
TASKS = 48
WORKERS = 4
#: Real seconds after which a stuck run fails (a hang guard; it never decides a pass).
HANG_GUARD_SECONDS = 120.0


class VirtualTime:
    """Threads that sleep on the emulator's test clock (``testing.advance_clock``).

    :meth:`sleep` blocks its thread until the clock has reached the thread's wake-up
    instant. :meth:`drive` (the test's thread) waits until every running thread sleeps, then
    moves the clock to the earliest wake-up and wakes the threads due then; it returns when
    every thread has finished. So time passes only while all threads wait, as it does for
    threads that sleep instead of working.
    """

    def __init__(self, now_usec: int, threads: int) -> None:
        self._cond = threading.Condition()
        self._now = now_usec
        self._running = threads
        self._wakeups: list[int] = []  # one per sleeping thread
        self.slept = Counter[float]()

    def sleep(self, seconds: float) -> None:
        with self._cond:
            wake = self._now + usec_from_seconds(seconds)
            self._wakeups.append(wake)
            self.slept[seconds] += 1
            self._cond.notify_all()
            while self._now < wake:
                self._cond.wait()

    def finished(self) -> None:
        """The calling thread is done (it will not sleep again)."""
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    def drive(self, on_tick: Callable[[], None] = lambda: None) -> None:
        """Move the clock until every thread has finished (``on_tick`` after each move)."""
        give_up = time.monotonic() + HANG_GUARD_SECONDS
        with self._cond:
            while self._running:
                if len(self._wakeups) < self._running:  # someone is working
                    if not self._cond.wait(timeout=1.0) and time.monotonic() > give_up:
                        pytest.fail(f"threads stuck: {self._running} running")
                    continue
                wake = min(self._wakeups)
                testing.advance_clock((wake - self._now) / USEC_PER_SECOND)
                self._now = testing.now_usec()
                assert self._now == wake
                self._wakeups = [w for w in self._wakeups if w > wake]
                on_tick()
                self._cond.notify_all()


def load_worker() -> ModuleType:
    """``worker.py``, imported afresh while the shim is installed (its ``taskqueue`` and
    ``apiproxy_errors`` are then the shim's)."""
    spec = importlib.util.spec_from_file_location("backoff_worker_under_test", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def worker() -> Iterator[ModuleType]:
    installed_here = not shims.is_installed()
    if installed_here:
        shims.install()
    try:
        yield load_worker()
    finally:
        if installed_here:
            shims.uninstall()


class Run:
    """What the threads saw: tasks handled, errors retried, by (call, error)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.handled: Counter[str] = Counter()
        self.retried: Counter[tuple[str, str]] = Counter()
        self.failures: list[BaseException] = []

    def handle(self, task: Any) -> None:
        with self.lock:
            self.handled[task.name] += 1

    def on_retry(self, call: str, error: Exception) -> None:
        name = (
            "DEADLINE_EXCEEDED"
            if type(error).__name__ == "DeadlineExceededError"
            else ("TRANSIENT_ERROR")
        )
        with self.lock:
            self.retried[(call, name)] += 1

    def done(self) -> bool:
        with self.lock:
            return len(self.handled) == TASKS


def thread(clock: VirtualTime, run: Run, target: Callable[[], None]) -> threading.Thread:
    def body() -> None:
        try:
            target()
        except BaseException as exc:  # reported by the test, never lost in a thread
            with run.lock:
                run.failures.append(exc)
        finally:
            clock.finished()

    return threading.Thread(target=body, daemon=True)


def produce(worker: ModuleType, clock: VirtualTime, run: Run) -> None:
    """Add TASKS named tasks in batches of 6, one batch a second, retrying failed adds."""
    taskqueue = worker.taskqueue
    queue = taskqueue.Queue(PULL)
    for first in range(0, TASKS, 6):
        batch = [
            taskqueue.Task(payload=str(n).encode(), method="PULL", name=f"job-{n:03}")
            for n in range(first, first + 6)
        ]
        backoff = worker.Backoff()
        while True:
            try:
                queue.add(batch)
                break
            except worker.RETRYABLE as error:
                run.on_retry("add", error)
                clock.sleep(backoff.next())
        clock.sleep(1)


OPTIONS = ProductionOptions(
    lease_rate_limit=3,
    add_visibility_delay_seconds=1,
    fault_rates=parse_fault_spec(
        "add=TRANSIENT_ERROR:0.15,add=DEADLINE_EXCEEDED:0.1,"
        "lease=TRANSIENT_ERROR:0.15,lease=DEADLINE_EXCEEDED:0.1,"
        "delete=TRANSIENT_ERROR:0.05,delete=DEADLINE_EXCEEDED:0.05"
    ),
    fault_seed=2024,
)


@pytest.mark.filterwarnings(r"ignore:shims\.install\(\). Google's SDK module:RuntimeWarning")
def test_workers_that_back_off_process_every_task_exactly_once(
    production_backend: BackendFactory, worker: ModuleType
) -> None:
    backend = production_backend(OPTIONS)
    run = Run()
    with shim_world(backend, T0):
        testing.fail_next("lease", "TransientError", count=3)
        testing.fail_next("lease", "DeadlineExceededError", count=2)
        testing.fail_next("delete", "DeadlineExceededError", count=2)
        testing.fail_next("add", "TransientError")
        clock = VirtualTime(testing.now_usec(), WORKERS + 1)
        threads = [thread(clock, run, lambda: produce(worker, clock, run))]
        threads += [
            thread(
                clock,
                run,
                lambda: worker.work(
                    PULL,
                    run.handle,
                    stop=run.done,
                    sleep=clock.sleep,
                    batch=2,
                    on_retry=run.on_retry,
                ),
            )
            for _ in range(WORKERS)
        ]
        refused: list[int] = []
        for t in threads:
            t.start()

        clock.drive(on_tick=lambda: refused.append(testing.rate_limited_leases(PULL)))

        for t in threads:
            t.join(timeout=HANG_GUARD_SECONDS)
        injected = testing.injected_faults()
        pending = testing.pending_faults()
        left = worker.taskqueue.QueueStatistics.fetch(PULL).tasks

    assert run.failures == []
    # every task was handled once and deleted: a re-lease after a lost delete would show
    assert run.handled == Counter({f"job-{n:03}": 1 for n in range(TASKS)})
    assert left == 0
    # every fault was seen by exactly one caller, which backed off and retried
    assert pending == []
    assert dict(run.retried) == injected
    assert {call for call, _ in injected} == {"add", "lease", "delete"}
    assert {error for _, error in injected} == {"TRANSIENT_ERROR", "DEADLINE_EXCEEDED"}
    # the rate limit refused leases (each refusal returned no tasks and made a worker wait)
    assert max(refused) > 0
    assert clock.slept[0.5] > 0
