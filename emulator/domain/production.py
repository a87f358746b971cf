"""The opt-in production behaviours, as one frozen :class:`ProductionOptions`.

Google's "Leasing Pull Tasks" pages tell workers to cope with things the emulator does not do
unless asked, so that by default it stays deterministic:

* ``lease_rate_limit``: at most N LeaseTasks calls per queue and second of the emulator's
  clock return tasks; the others return none (production: 10);
* ``add_visibility_delay_seconds``: a new pull task becomes leasable no earlier than this
  long after it was added ("a short delay before tasks recently added ... become available");
* ``fault_rates`` / ``fault_seed``: calls fail at random with ``TransientError``,
  ``DeadlineExceededError`` or any error code, replayably.

:func:`resolve_production` combines the settings: a value given explicitly wins (``0`` and
``none`` switch a behaviour off), ``like_production`` fills in production's figures
(:mod:`emulator.domain.limits`) for the ones not given. The ``parse_*`` functions read the
text of a flag or an environment variable and the ``check_*`` functions the values of an API;
both raise ``ValueError`` with a message that does not name the setting (the caller does).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from emulator.domain.faults import FaultRate, format_fault_spec, parse_fault_spec
from emulator.domain.limits import (
    MAX_ADD_VISIBILITY_DELAY_SECONDS,
    PRODUCTION_ADD_VISIBILITY_DELAY_SECONDS,
    PRODUCTION_FAULT_SPEC,
    PRODUCTION_LEASE_RATE_LIMIT,
)

#: Largest seed of the random fault mode.
MAX_FAULT_SEED = 2**63 - 1
_T = TypeVar("_T")


@dataclass(frozen=True)
class ProductionOptions:
    """Which production behaviours are on (all off by default).

    ``lease_rate_limit`` is None for no limit; ``fault_seed`` None means a seed chosen at
    start (and logged) when there are ``fault_rates``.
    """

    lease_rate_limit: int | None = None
    add_visibility_delay_seconds: float = 0.0
    fault_rates: tuple[FaultRate, ...] = ()
    fault_seed: int | None = None

    @property
    def enabled(self) -> bool:
        """True if any behaviour is on."""
        return bool(
            self.lease_rate_limit or self.add_visibility_delay_seconds > 0 or self.fault_rates
        )

    def describe(self) -> list[str]:
        """One line per behaviour that is on, in the words of the flags (for the banner)."""
        lines = []
        if self.lease_rate_limit:
            lines.append(f"lease rate limit: {self.lease_rate_limit} per queue per second")
        if self.add_visibility_delay_seconds > 0:
            lines.append(f"add visibility delay: {self.add_visibility_delay_seconds:g} s")
        if self.fault_rates:
            seed = "chosen at start" if self.fault_seed is None else str(self.fault_seed)
            lines.append(f"injected faults: {format_fault_spec(self.fault_rates)} (seed {seed})")
        return lines


def check_lease_rate_limit(value: object) -> int:
    """``value`` if it is a whole number of leases per second, 0 meaning no limit."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(_RATE_PROBLEM.format(value))
    return value


def parse_lease_rate_limit(text: str) -> int:
    """The limit written as ``text`` (``10``; ``0`` or ``off`` for none)."""
    if text.strip().lower() == "off":
        return 0
    return _parsed(text, int, check_lease_rate_limit, _RATE_PROBLEM)


def check_visibility_delay(value: object) -> float:
    """``value`` if it is a number of seconds in [0, MAX_ADD_VISIBILITY_DELAY_SECONDS]."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= MAX_ADD_VISIBILITY_DELAY_SECONDS
    ):
        raise ValueError(_DELAY_PROBLEM.format(value))
    return float(value)


def parse_visibility_delay(text: str) -> float:
    """The delay written as ``text`` (seconds, e.g. ``1`` or ``0.5``)."""
    return _parsed(text, float, check_visibility_delay, _DELAY_PROBLEM)


def check_fault_seed(value: object) -> int:
    """``value`` if it is a whole number in [0, MAX_FAULT_SEED]."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FAULT_SEED:
        raise ValueError(_SEED_PROBLEM.format(value))
    return value


def parse_fault_seed(text: str) -> int:
    """The seed written as ``text``."""
    return _parsed(text, int, check_fault_seed, _SEED_PROBLEM)


_RATE_PROBLEM = "must be a whole number of leases per queue per second (0: no limit), not {!r}"
_DELAY_PROBLEM = (
    f"must be a number of seconds from 0 to {MAX_ADD_VISIBILITY_DELAY_SECONDS}, not {{!r}}"
)
_SEED_PROBLEM = f"must be a whole number from 0 to {MAX_FAULT_SEED}, not {{!r}}"


def _parsed(
    text: str, convert: Callable[[str], object], check: Callable[[object], _T], problem: str
) -> _T:
    """``check(convert(text))``; a failure of either names ``text`` as it was written."""
    try:
        return check(convert(text))
    except ValueError:
        raise ValueError(problem.format(text)) from None


def check_fault_rates(value: object) -> tuple[FaultRate, ...]:
    """``value`` as fault rates: an ``--inject-faults`` spec or a sequence of FaultRate."""
    if isinstance(value, str):
        return parse_fault_spec(value)
    if isinstance(value, list | tuple) and all(isinstance(r, FaultRate) for r in value):
        return tuple(value)
    raise ValueError(f"must be a spec like 'lease=TRANSIENT_ERROR:0.05', not {value!r}")


def resolve_production(
    *,
    like_production: bool = False,
    lease_rate_limit: object = None,
    add_visibility_delay: object = None,
    inject_faults: object = None,
    inject_faults_seed: object = None,
) -> ProductionOptions:
    """The options for these settings; None means "not given".

    A setting given explicitly wins; ``like_production`` fills in production's figures for
    the others (10 leases per queue per second, a 1 s visibility delay, random
    TRANSIENT_ERROR and DEADLINE_EXCEEDED faults on lease); without it they are off.

    Raises:
        ValueError: a value is unusable; the message names the parameter.
    """
    rate = _given(lease_rate_limit, check_lease_rate_limit, "lease_rate_limit")
    delay = _given(add_visibility_delay, check_visibility_delay, "add_visibility_delay")
    rates = _given(inject_faults, check_fault_rates, "inject_faults")
    seed = _given(inject_faults_seed, check_fault_seed, "inject_faults_seed")
    if like_production:
        rate = PRODUCTION_LEASE_RATE_LIMIT if rate is None else rate
        delay = PRODUCTION_ADD_VISIBILITY_DELAY_SECONDS if delay is None else delay
        rates = parse_fault_spec(PRODUCTION_FAULT_SPEC) if rates is None else rates
    return ProductionOptions(
        lease_rate_limit=rate or None,
        add_visibility_delay_seconds=delay or 0.0,
        fault_rates=rates or (),
        fault_seed=seed,
    )


def _given(value: object, check: Callable[[object], _T], name: str) -> _T | None:
    if value is None:
        return None
    try:
        return check(value)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
