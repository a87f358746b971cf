# worker.py
"""Lease tasks, handle them, delete them; back off on errors and empty leases.

What Google's "Leasing Pull Tasks" pages ask of a worker: catch TransientError and
DeadlineExceededError from lease_tasks() and back off; back off when a lease returns no
tasks (the queue is empty, the tasks are not visible yet, or more than 10 leases a second
were asked for, which production answers with no tasks).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from google.appengine.api import taskqueue
from google.appengine.runtime import apiproxy_errors

RETRYABLE = (taskqueue.TransientError, apiproxy_errors.DeadlineExceededError)


class Backoff:
    """Exponential back-off: ``first``, twice that, ... at most ``most`` seconds."""

    def __init__(self, first: float = 0.5, most: float = 30.0) -> None:
        self.first, self.most, self.delay = first, most, first

    def next(self) -> float:
        """The delay to wait now (the following one doubles)."""
        delay, self.delay = self.delay, min(self.delay * 2, self.most)
        return delay

    def reset(self) -> None:
        self.delay = self.first


def work(
    queue_name: str,
    handle: Callable[[taskqueue.Task], None],
    *,
    stop: Callable[[], bool],
    sleep: Callable[[float], None] = time.sleep,
    lease_seconds: int = 60,
    batch: int = 10,
    on_retry: Callable[[str, Exception], None] | None = None,
) -> None:
    """Until ``stop()``: lease up to ``batch`` tasks, ``handle`` each, delete them.

    ``sleep`` waits between attempts (a test passes its clock's ``advance``); ``on_retry``
    hears of every error that made the worker back off (``"lease"`` or ``"delete"``).
    """
    queue = taskqueue.Queue(queue_name)
    backoff = Backoff()
    while not stop():
        try:
            tasks = queue.lease_tasks(lease_seconds, batch)
        except RETRYABLE as error:
            if on_retry:
                on_retry("lease", error)
            sleep(backoff.next())
            continue
        if not tasks:
            sleep(backoff.next())
            continue
        backoff.reset()
        for task in tasks:
            handle(task)
        delete(queue, tasks, sleep=sleep, on_retry=on_retry)


def delete(
    queue: taskqueue.Queue,
    tasks: Sequence[taskqueue.Task],
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = 8,
    on_retry: Callable[[str, Exception], None] | None = None,
) -> bool:
    """Delete ``tasks``, retrying quickly (well within their lease); False if it gave up,
    in which case they come back once their lease ends, so ``handle`` must be idempotent."""
    backoff = Backoff(first=0.1, most=2.0)
    for _ in range(attempts):
        try:
            queue.delete_tasks(list(tasks))
            return True
        except RETRYABLE as error:
            if on_retry:
                on_retry("delete", error)
            sleep(backoff.next())
    return False
