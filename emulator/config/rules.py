"""Production's queue rules: what App Engine refused at deployment that ``queueinfo.py`` allows.

From Java's ``QueueXml`` (legacy-taskqueue-api.md §5): a pull queue takes no ``rate``,
``bucket_size``, ``max_concurrent_requests`` or ``target``, and no retry parameter but
``task_retry_limit``; a push queue needs a ``rate`` and takes no ``acl``. Pure: the rules
look at which keys an entry sets; :mod:`emulator.config.queue_yaml` says where they are.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from emulator.domain.queue_config import QueueMode

#: Keys only a push queue may set, in the order they are checked.
PUSH_ONLY_KEYS: Final = ("rate", "bucket_size", "max_concurrent_requests", "target")
#: ``retry_parameters`` keys only a push queue may set, in the order they are checked.
PUSH_ONLY_RETRY_KEYS: Final = (
    "task_age_limit",
    "min_backoff_seconds",
    "max_backoff_seconds",
    "max_doublings",
)


@dataclass(frozen=True)
class Violation:
    """A broken rule: the (dotted) key at fault and why; ``missing`` if the key is absent."""

    key: str
    message: str
    missing: bool = False


def check_queue(mode: QueueMode, keys: Collection[str]) -> Violation | None:
    """The first rule a queue entry of ``mode`` breaks, or None.

    ``keys`` are the keys the entry sets to a value (null counts as unset), nested ones
    dotted: ``retry_parameters.max_doublings``.
    """
    if mode is QueueMode.PULL:
        return _pull_queue_violation(keys)
    return _push_queue_violation(keys)


def _pull_queue_violation(keys: Collection[str]) -> Violation | None:
    for key in PUSH_ONLY_KEYS:
        if key in keys:
            return Violation(key, f"{key!r} is not allowed on a pull queue")
    for key in PUSH_ONLY_RETRY_KEYS:
        dotted = f"retry_parameters.{key}"
        if dotted in keys:
            return Violation(
                dotted,
                f"{key!r} is not allowed on a pull queue: task retry limit is supported"
                " for pull queues, but no other retry parameters",
            )
    return None


def _push_queue_violation(keys: Collection[str]) -> Violation | None:
    if "acl" in keys:
        return Violation("acl", "'acl' is only allowed on a pull queue")
    if "rate" not in keys:
        return Violation("rate", "A queue rate is required for push queue", missing=True)
    return None
