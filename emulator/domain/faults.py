"""Injected faults: which calls can fail, with which errors, and the random mode's spec.

A fault makes a call fail *before* the service runs, so it changes nothing. Two sources:

* a :class:`FaultRule` (``shims.testing.fail_next(call, error, count, queue)``,
  ``POST /_emulator/faults``): the next ``count`` matching calls fail;
* :class:`FaultRate` s (``--inject-faults lease=TRANSIENT_ERROR:0.05,...``): each matching call
  fails with that probability, drawn from a seedable random generator.

Errors are named as in the error vocabulary: :data:`DEADLINE_EXCEEDED` (the SDK's
``apiproxy_errors.DeadlineExceededError``) or any :class:`ErrorCode` name but OK and SKIPPED;
``TransientError`` and ``DeadlineExceededError`` are accepted for the two a worker must handle.
The parsers raise ``ValueError`` with a message that names the field and what is wrong.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from emulator.domain.errors import DEADLINE_EXCEEDED, ErrorCode
from emulator.domain.limits import MAX_FAULT_COUNT


class FaultCall(enum.Enum):
    """A call that can be made to fail, named as ``fail_next`` takes it."""

    ADD = "add"
    LEASE = "lease"
    MODIFY_LEASE = "modify_lease"
    DELETE = "delete"
    PURGE = "purge"
    STATS = "stats"

    @property
    def rpc_name(self) -> str:
        """The SDK's RPC for the call (``lease`` covers ``lease_tasks_by_tag`` too)."""
        return _RPC_NAMES[self]


_RPC_NAMES: Final = MappingProxyType(
    {
        FaultCall.ADD: "BulkAdd",
        FaultCall.LEASE: "QueryAndOwnTasks",
        FaultCall.MODIFY_LEASE: "ModifyTaskLease",
        FaultCall.DELETE: "Delete",
        FaultCall.PURGE: "PurgeQueue",
        FaultCall.STATS: "FetchQueueStats",
    }
)
#: Every error a fault may raise: the deadline first, then the codes of the vocabulary.
FAULT_ERRORS: Final = (
    DEADLINE_EXCEEDED,
    *(c.name for c in ErrorCode if c not in (ErrorCode.OK, ErrorCode.SKIPPED)),
)
#: Other spellings accepted for the errors a worker must handle (the SDK's class names).
ERROR_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {"TransientError": ErrorCode.TRANSIENT_ERROR.name, "DeadlineExceededError": DEADLINE_EXCEEDED}
)
#: ``--inject-faults`` values that mean "no random faults" (to override ``--like-production``).
NO_FAULTS: Final = ("none", "off")


def fault_call(text: object) -> FaultCall:
    """The :class:`FaultCall` named ``text``.

    Raises:
        ValueError: not one of add, lease, modify_lease, delete, purge, stats.
    """
    for call in FaultCall:
        if text == call.value:
            return call
    names = ", ".join(c.value for c in FaultCall)
    raise ValueError(f"call must be one of {names}, not {text!r}")


def fault_error(text: object) -> str:
    """The error name ``text`` stands for (an alias becomes its code name).

    Raises:
        ValueError: not DEADLINE_EXCEEDED, an error code name, or an alias.
    """
    if isinstance(text, str):
        name = ERROR_ALIASES.get(text, text)
        if name in FAULT_ERRORS:
            return name
    raise ValueError(_unknown_error(text))


def _unknown_error(text: object) -> str:
    return (
        "error must be TransientError, DeadlineExceededError, DEADLINE_EXCEEDED or a "
        f"TaskQueueServiceError code name (TRANSIENT_ERROR, INTERNAL_ERROR, ...), not {text!r}"
    )


def fault_count(value: object) -> int:
    """``value`` if it is an int in [1, MAX_FAULT_COUNT].

    Raises:
        ValueError: anything else.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_FAULT_COUNT:
        raise ValueError(f"count must be a whole number from 1 to {MAX_FAULT_COUNT}, not {value!r}")
    return value


@dataclass(frozen=True)
class FaultRule:
    """The next ``count`` calls ``call`` (on ``queue``, or on any queue if None) fail with
    ``error``. ``count`` is how many are still to come."""

    call: FaultCall
    error: str
    count: int = 1
    queue: str | None = None

    def __post_init__(self) -> None:
        """Raises ValueError for an unknown error name or a count outside [1, MAX]."""
        if self.error not in FAULT_ERRORS:
            raise ValueError(_unknown_error(self.error))
        fault_count(self.count)

    def matches(self, call: FaultCall, queues: tuple[str, ...]) -> bool:
        """True if a call ``call`` on ``queues`` is one this rule makes fail."""
        return self.call is call and (self.queue is None or self.queue in queues)


@dataclass(frozen=True)
class FaultRate:
    """Each call ``call`` fails with ``error`` with probability ``rate`` (0 < rate <= 1)."""

    call: FaultCall
    error: str
    rate: float

    def __post_init__(self) -> None:
        """Raises ValueError for an unknown error name or a rate outside (0, 1]."""
        if self.error not in FAULT_ERRORS:
            raise ValueError(_unknown_error(self.error))
        if not (math.isfinite(self.rate) and 0 < self.rate <= 1):
            raise ValueError(f"rate must be more than 0 and at most 1, not {self.rate!r}")

    def __str__(self) -> str:
        return f"{self.call.value}={self.error}:{self.rate:g}"


@dataclass(frozen=True)
class InjectedCount:
    """How many calls ``call`` failed with ``error`` (since the last reset or clear)."""

    call: FaultCall
    error: str
    count: int


@dataclass(frozen=True)
class FaultReport:
    """What fault injection holds: rules still pending, faults injected so far, the random
    mode's rates and its seed (None: no random mode)."""

    pending: tuple[FaultRule, ...] = ()
    injected: tuple[InjectedCount, ...] = ()
    rates: tuple[FaultRate, ...] = ()
    seed: int | None = None

    def injected_count(self, call: FaultCall, error: str) -> int:
        """How many calls ``call`` failed with ``error``."""
        return sum(i.count for i in self.injected if i.call is call and i.error == error)


def parse_fault_spec(text: str) -> tuple[FaultRate, ...]:
    """``lease=TRANSIENT_ERROR:0.05,add=DEADLINE_EXCEEDED:0.01`` → its rates, in order.

    ``none`` or ``off`` mean no random faults. The rates of one call add up to at most 1 (a
    call fails with at most one error).

    Raises:
        ValueError: an item that is not ``call=ERROR:RATE``, an unknown call or error, a rate
            outside (0, 1], or rates of one call adding up to more than 1.
    """
    if text.strip().lower() in NO_FAULTS:
        return ()
    rates = tuple(_fault_rate(item.strip()) for item in text.split(","))
    for call in FaultCall:
        total = sum(r.rate for r in rates if r.call is call)
        if total > 1 + 1e-9:
            raise ValueError(f"the rates for {call.value} add up to {total:g}, more than 1")
    return rates


def _fault_rate(item: str) -> FaultRate:
    call_text, equals, rest = item.partition("=")
    error_text, colon, rate_text = rest.rpartition(":")
    if not (equals and colon and call_text and error_text):
        raise ValueError(f"{item!r} is not call=ERROR:RATE (e.g. lease=TRANSIENT_ERROR:0.05)")
    try:
        rate = float(rate_text)
    except ValueError:
        raise ValueError(f"{item!r}: the rate must be a number, not {rate_text!r}") from None
    try:
        return FaultRate(fault_call(call_text.strip()), fault_error(error_text.strip()), rate)
    except ValueError as exc:
        raise ValueError(f"{item!r}: {exc}") from None


def format_fault_spec(rates: tuple[FaultRate, ...]) -> str:
    """The ``--inject-faults`` text of ``rates`` (``none`` for no rates)."""
    return ",".join(str(r) for r in rates) or NO_FAULTS[0]
