"""How long a deleted task's name stays tombstoned: ``--tombstone-ttl``.

By default a tombstone is kept forever (as the SDK's dev stub does). Production forgot the
names of deleted tasks after about 9 days (``PRODUCTION_TOMBSTONE_TTL``); with a TTL, a
tombstone older than it is pruned in the background and its name can be used again. ``0``
keeps none for longer than the pruner's next pass.
"""

from __future__ import annotations

import re
from typing import Final

#: What production did (about 9 days), for the docs and ``--tombstone-ttl 9d``.
PRODUCTION_TOMBSTONE_TTL: Final = "9d"
#: The longest TTL accepted (beyond it, keep them forever by leaving the setting out).
MAX_TOMBSTONE_TTL_SECONDS: Final = 3650 * 86_400
_UNITS: Final = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART: Final = re.compile(r"(\d{1,9})([dhms])")
_PROBLEM: Final = (
    "must be a duration such as 9d, 36h, 90m, 1d12h or 45s (a bare number is seconds; "
    "0: forget at the next pruning pass), at most 3650d, not {!r}"
)


def parse_duration(text: str) -> int:
    """Whole seconds written as ``text``: ``9d``, ``36h``, ``1d12h``, ``90m``, ``45s``, ``45``.

    Raises:
        ValueError: ``text`` is no such duration or is longer than 3650 days; the message
            does not name the setting (the caller does).
    """
    value = text.strip().lower()
    if value.isdigit() and len(value) <= 12:
        seconds = int(value)
    else:
        parts = _PART.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise ValueError(_PROBLEM.format(text))
        units = [u for _, u in parts]
        if len(set(units)) != len(units):
            raise ValueError(_PROBLEM.format(text))
        seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds > MAX_TOMBSTONE_TTL_SECONDS:
        raise ValueError(_PROBLEM.format(text))
    return seconds


def format_duration(seconds: int) -> str:
    """``seconds`` in the largest units that divide it (``777600`` → ``9d``, ``0`` → ``0s``)."""
    if seconds == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
