"""The one source of time: clocks that return integer microseconds since the epoch.

The core reads ``clock.now_usec()`` once per operation and never calls ``time.time()``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from emulator.domain.limits import usec_from_seconds

#: Moves an ETA computed on a client's clock onto the emulator's clock.
EtaTranslation = Callable[[int], int]


class Clock(Protocol):
    """Anything that tells the current time in integer microseconds since the epoch."""

    def now_usec(self) -> int:
        """Return the current time; never decreases for a given clock."""
        ...


class SystemClock:
    """The wall clock."""

    def now_usec(self) -> int:
        return time.time_ns() // 1000


class FakeClock:
    """A clock that only moves when told to; for tests.

    Starts at ``start_usec`` (default: 2026-01-01T00:00:00Z) so tests are deterministic.
    """

    DEFAULT_START_USEC = 1_767_225_600 * 1_000_000

    def __init__(self, start_usec: int = DEFAULT_START_USEC) -> None:
        self._now = start_usec
        self._lock = threading.Lock()

    def now_usec(self) -> int:
        with self._lock:
            return self._now

    def set(self, now_usec: int) -> None:
        """Set the time to ``now_usec``."""
        with self._lock:
            self._now = now_usec

    def advance(self, seconds: float) -> None:
        """Move the time forward by ``seconds`` (may be fractional)."""
        with self._lock:
            self._now += usec_from_seconds(seconds)


class ControllableClock:
    """The system clock unless a test freezes or shifts it (``/_emulator/clock``).

    * ``freeze(now_usec)`` stops the clock at ``now_usec``;
    * ``advance(seconds)`` moves it forward, frozen or not;
    * ``unfreeze()`` returns to real time (keeping no offset).
    Thread-safe. Advancing by a negative amount is refused with ``ValueError``.
    """

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._frozen: int | None = None
        self._offset = 0
        self._lock = threading.Lock()

    def now_usec(self) -> int:
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return self._base.now_usec() + self._offset

    @property
    def frozen(self) -> bool:
        """True while the clock is stopped."""
        with self._lock:
            return self._frozen is not None

    @property
    def controlled(self) -> bool:
        """True while a test has frozen or shifted the clock (it is not the wall clock)."""
        with self._lock:
            return self._frozen is not None or self._offset != 0

    def client_eta_translation(self, client_now_usec: int | None) -> EtaTranslation | None:
        """How to read ETAs that a client computed on its own clock, or None for "as they are".

        Google's SDK and Go stamp every task with their wall-clock time (``now`` when no ETA
        or countdown was given). While this clock is the wall clock those ETAs are used as
        they are; under test control they are moved onto this clock: an ETA ``d`` after the
        client's now (``client_now_usec``, else the wall clock at this call) becomes ``d``
        after this clock's now. So a task added without an ETA is ready at the frozen instant
        it was added, and one with a countdown of N seconds N seconds after the client built
        it (the time the client took to send it, well under a millisecond, counts).
        """
        with self._lock:
            if self._frozen is None and self._offset == 0:
                return None
            wall = self._base.now_usec()
            now = self._frozen if self._frozen is not None else wall + self._offset
        skew = now - (wall if client_now_usec is None else client_now_usec)
        return lambda eta_usec: eta_usec + skew

    def freeze(self, now_usec: int) -> None:
        """Stop the clock at ``now_usec``."""
        with self._lock:
            self._frozen = now_usec

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``; raises ``ValueError`` if negative."""
        if seconds < 0:
            raise ValueError("advance_seconds must not be negative")
        delta = usec_from_seconds(seconds)
        with self._lock:
            if self._frozen is not None:
                self._frozen += delta
            else:
                self._offset += delta

    def unfreeze(self) -> None:
        """Return to the system clock with no offset."""
        with self._lock:
            self._frozen = None
            self._offset = 0
