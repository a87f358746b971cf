"""One piece of work repeated on a daemon thread: the console's depth sampler and the
tombstone pruner are both one :class:`Periodic`."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Periodic:
    """Calls ``work`` at once, then every ``interval_seconds`` of real time, on a daemon
    thread named ``name``, from :meth:`start` until :meth:`stop` (both idempotent).

    ``work`` must not raise: a failure it does not handle ends the thread.
    """

    def __init__(self, work: Callable[[], object], interval_seconds: float, name: str) -> None:
        self._work = work
        self._interval = interval_seconds
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (a no-op if it is running)."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (up to ``timeout`` seconds); a no-op if stopped."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._work()
            if self._stop.wait(self._interval):
                return
