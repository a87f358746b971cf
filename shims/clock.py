"""The shim's client-side clock: what ``Task`` reads for "now".

Google's SDK reads ``time.time()`` when a ``Task`` is built (its provisional ETA and the
"ETA too far in the future" check). The shim reads :func:`now` instead, which is the wall
clock unless :mod:`shims.testing` has pointed it at the emulator's controlled clock, so a test
that freezes or advances the emulator's time sees the same time on the client side.
The server's clock, not this one, decides the stored ETA of a task added without one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

ClockSource = Callable[[], int]

_lock = threading.Lock()
_source: ClockSource | None = None


def set_source(source: ClockSource | None) -> None:
    """Read the time from ``source`` (integer microseconds), or from the wall clock if None."""
    global _source
    with _lock:
        _source = source


def now_usec() -> int:
    """The current client time in integer microseconds since the epoch."""
    with _lock:
        source = _source
    return source() if source is not None else time.time_ns() // 1000


def now() -> float:
    """The current client time in float seconds since the epoch (``time.time()``'s shape)."""
    with _lock:
        source = _source
    return source() / 1e6 if source is not None else time.time()
