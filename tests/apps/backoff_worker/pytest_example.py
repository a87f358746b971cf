# test_worker.py
from typing import Any

import pytest
import worker

from shims import testing

# The production behaviours for every test here: 10 leases per queue per second return tasks
# (the others none) and a new task can be leased one second after it was added.
pytestmark = pytest.mark.taskqueue(lease_rate_limit=10, add_visibility_delay=1)


def run_worker(taskqueue_clock: Any, count: int, **options: Any) -> list[str]:
    """Run the worker until it has handled ``count`` tasks; its back-off moves the test
    clock instead of sleeping, so the test takes milliseconds and its timing is exact."""
    handled: list[str] = []
    worker.work(
        "pull-queue",
        lambda task: handled.append(task.name),
        stop=lambda: len(handled) >= count,
        sleep=taskqueue_clock.advance,
        **options,
    )
    return handled


def test_the_worker_backs_off_on_errors_and_retries(taskqueue: Any, taskqueue_clock: Any) -> None:
    queue = taskqueue.Queue("pull-queue")
    queue.add([taskqueue.Task(payload=str(n), method="PULL") for n in range(5)])
    testing.fail_next("lease", "TransientError", count=2)
    testing.fail_next("lease", "DeadlineExceededError")
    testing.fail_next("delete", "TransientError")
    start = taskqueue_clock.now()

    handled = run_worker(taskqueue_clock, 5)

    assert sorted(handled) == ["task1", "task2", "task3", "task4", "task5"]
    assert testing.pending_faults() == []  # the worker met every fault...
    assert taskqueue.QueueStatistics.fetch("pull-queue").tasks == 0  # ...and deleted every task
    # it backed off 0.5 s, 1 s and 2 s after the three failed leases, 0.1 s after the delete
    assert taskqueue_clock.now() - start == 3_600_000


def test_the_worker_copes_with_the_lease_rate_limit(taskqueue: Any, taskqueue_clock: Any) -> None:
    queue = taskqueue.Queue("pull-queue")
    queue.add([taskqueue.Task(payload=str(n), method="PULL") for n in range(25)])
    taskqueue_clock.advance(1)  # past the visibility delay

    handled = run_worker(taskqueue_clock, 25, batch=1)  # one task a lease: 25 leases

    assert len(set(handled)) == 25
    # in each second the 11th lease got no tasks and the worker backed off: twice in the
    # first second (at 0 s and 0.5 s), once in the next (its back-off was reset by then)
    assert testing.rate_limited_leases("pull-queue") == 3
