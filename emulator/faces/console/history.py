"""Queue depth over time: a bounded ring buffer of samples per queue, and the sampler thread.

A sample is (instant, ready, leased, delayed) for one queue, taken from
:meth:`QueueService.stats` and stamped with :meth:`QueueService.now_usec`, so a test clock
moves the chart as it moves the queue. Samples fall into buckets of
:data:`SAMPLE_INTERVAL_SECONDS`: a later sample in the same bucket replaces the earlier one,
so the window always spans :data:`WINDOW_SECONDS` however often pages are viewed, and each
queue keeps at most ``WINDOW_SECONDS / SAMPLE_INTERVAL_SECONDS + 1`` samples (361, a few
kilobytes). Only configured queues are kept. If the clock goes backwards (a test clock set
to an earlier instant), samples after the new "now" are dropped.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from emulator.core.service import QueueService
from emulator.domain.limits import USEC_PER_SECOND
from emulator.domain.model import QueueStats
from emulator.periodic import Periodic

#: How often the sampler thread samples every queue (seconds of the service's clock are
#: bucketed by this too).
SAMPLE_INTERVAL_SECONDS: Final = 10
#: How far back the chart looks (seconds).
WINDOW_SECONDS: Final = 3600

_log = logging.getLogger("emulator.console")


@dataclass(frozen=True)
class DepthSample:
    """One queue's counts at one instant (epoch microseconds of the service's clock)."""

    at_usec: int
    ready: int
    leased: int
    delayed: int


class DepthHistory:
    """The recent samples of every queue; safe to use from several threads."""

    def __init__(
        self,
        interval_seconds: int = SAMPLE_INTERVAL_SECONDS,
        window_seconds: int = WINDOW_SECONDS,
    ) -> None:
        if interval_seconds <= 0 or window_seconds < interval_seconds:
            raise ValueError("need 0 < interval_seconds <= window_seconds")
        self.interval_usec = interval_seconds * USEC_PER_SECOND
        self.window_usec = window_seconds * USEC_PER_SECOND
        self._capacity = window_seconds // interval_seconds + 1
        self._lock = threading.Lock()
        self._samples: dict[str, deque[DepthSample]] = {}

    def record(self, now_usec: int, stats: Iterable[QueueStats]) -> None:
        """Add a sample at ``now_usec`` for each queue in ``stats`` (unconfigured ones are
        skipped): it replaces a sample of the same bucket, and drops any later one."""
        with self._lock:
            for one in stats:
                if one.exists:
                    self._record_one(one.queue, _sample(now_usec, one))

    def _record_one(self, queue: str, sample: DepthSample) -> None:
        samples = self._samples.setdefault(queue, deque(maxlen=self._capacity))
        while samples and samples[-1].at_usec > sample.at_usec:
            samples.pop()  # the clock went backwards
        bucket = sample.at_usec // self.interval_usec
        if samples and samples[-1].at_usec // self.interval_usec == bucket:
            samples.pop()
        samples.append(sample)

    def keep_only(self, queues: Iterable[str]) -> None:
        """Forget the queues not named (removed from the configuration)."""
        keep = set(queues)
        with self._lock:
            for name in [name for name in self._samples if name not in keep]:
                del self._samples[name]

    def series(self, queue: str, now_usec: int) -> list[DepthSample]:
        """The samples of ``queue`` in the window ending at ``now_usec``, oldest first."""
        start = now_usec - self.window_usec
        with self._lock:
            samples = list(self._samples.get(queue, ()))
        return [s for s in samples if start <= s.at_usec <= now_usec]

    def queues(self) -> list[str]:
        """The queues that have samples."""
        with self._lock:
            return sorted(self._samples)


def _sample(now_usec: int, stats: QueueStats) -> DepthSample:
    return DepthSample(
        at_usec=now_usec,
        ready=stats.ready or 0,
        leased=stats.in_flight or 0,
        delayed=stats.delayed or 0,
    )


class DepthSampler:
    """Samples every configured queue into a :class:`DepthHistory` every ``interval_seconds``
    (of real time) on a daemon thread, from :meth:`start` until :meth:`stop`.

    A failing sample (the backend is unreachable, the store is closing) is logged and
    skipped; the thread goes on.
    """

    def __init__(
        self,
        service: QueueService,
        history: DepthHistory,
        interval_seconds: float = SAMPLE_INTERVAL_SECONDS,
    ) -> None:
        self._service = service
        self._history = history
        self._failing = False
        self._periodic = Periodic(
            self._sample_logging_failures, interval_seconds, "taskqueue-emulator-console-sampler"
        )

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._periodic.running

    def sample(self) -> None:
        """Take one sample of every configured queue now (in the caller's thread).

        Raises whatever the service raises.
        """
        names: Sequence[str] = list(self._service.config().queues)
        now = self._service.now_usec()
        stats = self._service.stats(names)
        self._history.keep_only(names)
        self._history.record(now, stats)

    def start(self) -> None:
        """Start the thread (a no-op if it is running); it samples at once, then every
        interval."""
        self._periodic.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (up to ``timeout`` seconds); a no-op if stopped."""
        self._periodic.stop(timeout)

    def _sample_logging_failures(self) -> None:
        try:
            self.sample()
        except Exception as exc:  # the thread must outlive a failing backend
            if not self._failing:
                _log.warning("console: depth sample failed (%s: %s)", type(exc).__name__, exc)
            self._failing = True
        else:
            self._failing = False
