"""What the differential suites share: Hypothesis settings, how one call's outcome is
compared across Google's SDK and ours, and the step that moves clocks off a boundary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings

#: How far both clocks move to step off an instant where an ETA equals now.
DODGE_SECONDS = 0.125

#: Example and step counts come from the Hypothesis profile (tests/conftest.py).
SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

#: ``(exception class name or None, value)``
Outcome = tuple[str | None, Any]


def outcome(call: Callable[[], Any]) -> Outcome:
    """Run ``call``: ``(None, value)``, or ``(exception class name, None)`` if it raised.

    Exceptions are compared by type name, since Google's module tree and ours define
    classes of the same names."""
    try:
        return None, call()
    except Exception as exc:
        return type(exc).__name__, None
