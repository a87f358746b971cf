"""Validated, immutable queue configuration (what queue.yaml says, after checking).

Pure value types: :mod:`emulator.config` builds them from a file; the core reads them.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from emulator.domain.limits import DEFAULT_BUCKET_SIZE, DEFAULT_QUEUE, DEFAULT_QUEUE_RATE


class QueueMode(enum.IntEnum):
    """``TaskQueueMode.Mode``: push queues dispatch to URLs, pull queues are leased."""

    PUSH = 0
    PULL = 1

    @property
    def label(self) -> str:
        """``'push'`` or ``'pull'``, as written in queue.yaml."""
        return self.name.lower()


#: Each mode's number to the mode: a dict lookup, cheaper than the enum's call per row/task.
_MODES_BY_NUMBER: Final[Mapping[int, QueueMode]] = MappingProxyType({int(m): m for m in QueueMode})


def queue_mode(number: int) -> QueueMode:
    """The :class:`QueueMode` numbered ``number`` (as stored, or on the wire).

    Raises:
        ValueError: no mode has that number (the enum's own message).
    """
    mode = _MODES_BY_NUMBER.get(number)
    return QueueMode(number) if mode is None else mode


@dataclass(frozen=True)
class RetryParameters:
    """``retry_parameters`` of a queue (or of a task, when a client sends them).

    ``task_age_limit_sec`` is whole seconds (queue.yaml ``2d`` is 172800).
    """

    task_retry_limit: int | None = None
    task_age_limit_sec: int | None = None
    min_backoff_seconds: float | None = None
    max_backoff_seconds: float | None = None
    max_doublings: int | None = None

    def to_dict(self) -> dict[str, int | float]:
        """The parameters that are set, by field name, in field order.

        The one mapping of retry parameters: the store keeps it as JSON, the JSON face
        renames ``task_age_limit_sec`` to queue.yaml's ``task_age_limit``, and ``/rpc_http``
        and testbed's helpers use the SDK's names (:data:`SDK_RETRY_FIELD_NAMES`).
        """
        values = ((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))
        return {name: value for name, value in values if value is not None}

    @classmethod
    def from_dict(cls, values: Mapping[str, object]) -> RetryParameters:
        """The inverse of :meth:`to_dict`: absent keys and None values are unset.

        Raises:
            ValueError: an unknown key, or a value that is not an integer (the limits and
                ``max_doublings``) or a number (the backoffs); a bool is neither.
        """
        unknown = sorted(set(values) - _RETRY_FIELDS)
        if unknown:
            raise ValueError(f"unknown retry parameter {unknown[0]!r}")
        return cls(
            task_retry_limit=_optional_int(values, "task_retry_limit"),
            task_age_limit_sec=_optional_int(values, "task_age_limit_sec"),
            min_backoff_seconds=_optional_number(values, "min_backoff_seconds"),
            max_backoff_seconds=_optional_number(values, "max_backoff_seconds"),
            max_doublings=_optional_int(values, "max_doublings"),
        )

    def lease_limit(self) -> int | None:
        """How many leases a task gets before the next lease deletes it, or None for no limit.

        Mirrors the stub's ``Retry.CanRetry(retry_count + 1, age_usec=0)``: with only a retry
        limit set it applies; with an age limit set too the check always passes.
        """
        if self.task_retry_limit is None or self.task_age_limit_sec is not None:
            return None
        return self.task_retry_limit


_RETRY_FIELDS: Final = frozenset(f.name for f in dataclasses.fields(RetryParameters))
#: Each :class:`RetryParameters` field's name in the SDK's ``TaskQueueRetryParameters``
#: message (the ``/rpc_http`` wire and the dicts of testbed's helpers).
SDK_RETRY_FIELD_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "task_retry_limit": "retry_limit",
        "task_age_limit_sec": "age_limit_sec",
        "min_backoff_seconds": "min_backoff_sec",
        "max_backoff_seconds": "max_backoff_sec",
        "max_doublings": "max_doublings",
    }
)


def _optional_int(values: Mapping[str, object], key: str) -> int | None:
    value = values.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ValueError(f"retry parameter {key!r} must be an integer, not {value!r}")


def _optional_number(values: Mapping[str, object], key: str) -> float | None:
    value = values.get(key)
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    raise ValueError(f"retry parameter {key!r} must be a number, not {value!r}")


@dataclass(frozen=True)
class AclEntry:
    """One ``acl`` entry: exactly one of ``user_email`` / ``writer_email`` is set."""

    user_email: str | None = None
    writer_email: str | None = None


@dataclass(frozen=True)
class QueueConfig:
    """One queue as configured. ``rate_per_second`` is the parsed ``rate`` (``10/m`` → 0.1667)."""

    name: str
    mode: QueueMode = QueueMode.PUSH
    rate: str | None = None
    rate_per_second: float | None = None
    bucket_size: int | None = None
    max_concurrent_requests: int | None = None
    retry_parameters: RetryParameters | None = None
    acl: tuple[AclEntry, ...] = ()
    target: str | None = None
    #: 1-based line of the queue's entry in its file, or None for built-in queues.
    line: int | None = None

    def lease_limit(self) -> int | None:
        """The queue's ``task_retry_limit`` as a lease limit (see RetryParameters.lease_limit)."""
        if self.retry_parameters is None:
            return None
        return self.retry_parameters.lease_limit()


def default_queue() -> QueueConfig:
    """The push queue ``default`` that every app has (5/s, bucket 5)."""
    return QueueConfig(
        name=DEFAULT_QUEUE,
        mode=QueueMode.PUSH,
        rate=DEFAULT_QUEUE_RATE,
        rate_per_second=5.0,
        bucket_size=DEFAULT_BUCKET_SIZE,
    )


@dataclass(frozen=True)
class QueuesConfig:
    """The whole configuration: every queue by name (``default`` always present)."""

    queues: Mapping[str, QueueConfig] = field(
        default_factory=lambda: MappingProxyType({DEFAULT_QUEUE: default_queue()})
    )
    total_storage_limit_bytes: int | None = None
    application: str | None = None
    resume_paused_queues: bool | None = None
    #: Path of the file this came from, or None for the built-in configuration.
    source: str | None = None

    def get(self, name: str) -> QueueConfig | None:
        """The queue called ``name``, or None."""
        return self.queues.get(name)

    @staticmethod
    def build(
        queues: list[QueueConfig],
        *,
        total_storage_limit_bytes: int | None = None,
        application: str | None = None,
        resume_paused_queues: bool | None = None,
        source: str | None = None,
    ) -> QueuesConfig:
        """Make a config from queues; adds the built-in ``default`` unless one is given."""
        by_name = {DEFAULT_QUEUE: default_queue()}
        by_name.update({q.name: q for q in queues})
        return QueuesConfig(
            queues=MappingProxyType(dict(sorted(by_name.items()))),
            total_storage_limit_bytes=total_storage_limit_bytes,
            application=application,
            resume_paused_queues=resume_paused_queues,
            source=source,
        )
