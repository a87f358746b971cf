"""The lease rate limit (``--lease-rate-limit N``): production's "10 LeaseTasks per queue per
second", on the emulator's clock.

Production: "if you generate more than 10 LeaseTasks requests per queue per second, only the
first 10 requests will return results; beyond that, OK is returned with zero results".
:class:`RateLimitedService` counts lease calls (``lease_tasks`` and ``lease_tasks_by_tag``)
per queue in one-second windows of the injected clock (``[k s, k+1 s)``): the first N of a
window go to the service; the others return ``[]`` without touching the store, once the
request has passed the checks that need no store (arguments, a configured pull queue), so a
bad request still gets its error. Rate-limited calls are counted in the queue's statistics
(``rate_limited_leases_last_minute``) and reported by a WARNING at most once per queue per
:data:`RATE_LIMIT_WARNING_INTERVAL_SECONDS` of emulator time.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import replace

from emulator.core import validation
from emulator.core.forwarding import ForwardingService
from emulator.core.service import QueueService
from emulator.domain.clock import Clock
from emulator.domain.limits import (
    RATE_LIMIT_STATS_WINDOWS,
    RATE_LIMIT_WARNING_INTERVAL_SECONDS,
    USEC_PER_SECOND,
)
from emulator.domain.model import LeasedTask, QueueStats

_log = logging.getLogger("emulator.rate_limit")


class LeaseRateLimiter:
    """Lease calls per queue and one-second window, and the calls refused. Thread-safe.

    Memory stays bounded: admitted calls are kept for the current window only, refused ones
    as one counter per queue and window for the last :data:`RATE_LIMIT_STATS_WINDOWS`.
    """

    def __init__(self, limit: int, logger: logging.Logger = _log) -> None:
        """``limit``: lease calls per queue per second that return tasks (at least 1)."""
        if limit < 1:
            raise ValueError(f"the lease rate limit must be at least 1, not {limit}")
        self.limit = limit
        self._log = logger
        self._lock = threading.Lock()
        self._window: int | None = None
        self._admitted: dict[str, int] = {}
        self._refused: dict[str, deque[list[int]]] = {}  # queue → [window, count], oldest first
        self._warned: dict[str, tuple[int, int]] = {}  # queue → (window warned in, refused since)

    def admit(self, queue: str, now_usec: int) -> bool:
        """Count one lease call on ``queue`` at ``now_usec``; True if it is within the limit."""
        window = now_usec // USEC_PER_SECOND
        with self._lock:
            if window != self._window:
                self._window = window
                self._admitted.clear()
            count = self._admitted.get(queue, 0)
            if count >= self.limit:
                return False
            self._admitted[queue] = count + 1
            return True

    def refuse(self, queue: str, now_usec: int) -> None:
        """Record a call on ``queue`` answered with no tasks; warn if the queue's last warning
        is :data:`RATE_LIMIT_WARNING_INTERVAL_SECONDS` or more ago (or there was none)."""
        window = now_usec // USEC_PER_SECOND
        with self._lock:
            windows = self._refused.setdefault(queue, deque())
            if windows and windows[-1][0] == window:
                windows[-1][1] += 1
            else:
                windows.append([window, 1])
            self._prune(windows, window)
            last, since = self._warned.get(queue, (window, 0))
            since += 1
            due = queue not in self._warned or not (
                0 <= window - last < RATE_LIMIT_WARNING_INTERVAL_SECONDS
            )
            self._warned[queue] = (window, 0) if due else (last, since)
        if due:
            self._log.warning(
                "lease rate limit: %d lease call(s) on queue %r beyond %d per second were "
                "answered with no tasks (--lease-rate-limit %d); a worker should back off when "
                "a lease returns nothing",
                since,
                queue,
                self.limit,
                self.limit,
            )

    def refused_last_minute(self, queue: str, now_usec: int) -> int:
        """Calls on ``queue`` answered with no tasks in the last 60 one-second windows (the
        current one included)."""
        window = now_usec // USEC_PER_SECOND
        with self._lock:
            windows = self._refused.get(queue)
            if not windows:
                return 0
            self._prune(windows, window)
            return sum(count for w, count in windows if w <= window)

    def reset(self) -> None:
        """Forget every count (as after a restart)."""
        with self._lock:
            self._window = None
            self._admitted.clear()
            self._refused.clear()
            self._warned.clear()

    @staticmethod
    def _prune(windows: deque[list[int]], window: int) -> None:
        while windows and windows[0][0] <= window - RATE_LIMIT_STATS_WINDOWS:
            windows.popleft()


class RateLimitedService(ForwardingService):
    """``inner`` with at most ``limit`` lease calls per queue per second returning tasks.

    Lease calls beyond the limit return ``[]`` after the checks that need no store (they
    raise what the service would: INVALID_QUEUE_NAME, UNKNOWN_QUEUE, INVALID_QUEUE_MODE,
    INVALID_REQUEST). Statistics of configured queues carry
    ``rate_limited_leases_last_minute``; :meth:`reset` forgets the counts.
    """

    def __init__(
        self, inner: QueueService, clock: Clock, limit: int, logger: logging.Logger = _log
    ) -> None:
        super().__init__(inner)
        self._clock = clock
        self._limiter = LeaseRateLimiter(limit, logger)

    def lease(
        self,
        queue_name: str,
        lease_seconds: float,
        max_tasks: int,
        *,
        group_by_tag: bool = False,
        tag: str | None = None,
    ) -> list[LeasedTask]:
        now = self._clock.now_usec()
        if self._limiter.admit(queue_name, now):
            return super().lease(
                queue_name, lease_seconds, max_tasks, group_by_tag=group_by_tag, tag=tag
            )
        validation.check_pull_queue(self.queue(queue_name))
        validation.check_lease_seconds(lease_seconds)
        validation.check_max_tasks(max_tasks)
        validation.check_lease_tag(group_by_tag, tag)
        self._limiter.refuse(queue_name, now)
        return []

    def stats(self, queue_names: Sequence[str]) -> list[QueueStats]:
        stats = super().stats(queue_names)
        now = self._clock.now_usec()
        return [
            replace(
                one,
                rate_limited_leases_last_minute=self._limiter.refused_last_minute(one.queue, now),
            )
            if one.exists
            else one
            for one in stats
        ]

    def reset(self) -> None:
        self._limiter.reset()
        super().reset()
