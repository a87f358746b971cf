"""Limits, patterns and singletons of ``google.appengine.api.taskqueue``, named as in the SDK.

The numbers come from :mod:`emulator.domain.limits`, the one home of every limit; this module adds
the SDK's own spellings (timedeltas, ``$``-anchored patterns quoted in its messages).

Values follow Google's ``appengine-python-standard`` ``taskqueue.py`` (Apache-2.0,
Copyright 2007 Google LLC); see legacy-taskqueue-api.md §3.
"""

from __future__ import annotations

import datetime
import re
from typing import Final

from emulator.domain import limits
from emulator.domain.limits import (
    MAX_LEASE_SECONDS,
    MAX_PULL_TASK_SIZE_BYTES,
    MAX_PUSH_TASK_SIZE_BYTES,
    MAX_QUEUE_NAME_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TASK_NAME_LENGTH,
    MAX_TASK_SIZE_BYTES,
    MAX_TASKS_PER_ADD,
    MAX_TASKS_PER_LEASE,
    MAX_TRANSACTIONAL_REQUEST_SIZE_BYTES,
    MAX_URL_LENGTH,
)


class _DefaultAppVersionSingleton:
    def __repr__(self) -> str:
        return "<DefaultApplicationVersion>"


class _UnknownAppVersionSingleton:
    def __repr__(self) -> str:
        return "<UnknownApplicationVersion>"


class _UTCTimeZone(datetime.tzinfo):
    """UTC time zone (the SDK's own, so ``repr(task.eta)`` reads the same)."""

    ZERO = datetime.timedelta(0)

    def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
        return self.ZERO

    def dst(self, dt: datetime.datetime | None) -> datetime.timedelta:
        return self.ZERO

    def tzname(self, dt: datetime.datetime | None) -> str:
        return "UTC"

    def __repr__(self) -> str:
        return "_UTCTimeZone()"


_UTC: Final = _UTCTimeZone()

MAX_DISPATCH_DEADLINE: Final = datetime.timedelta(microseconds=limits.MAX_DISPATCH_DEADLINE_USEC)
MIN_DISPATCH_DEADLINE: Final = datetime.timedelta(microseconds=limits.MIN_DISPATCH_DEADLINE_USEC)

DEFAULT_APP_VERSION: Final = _DefaultAppVersionSingleton()
_UNKNOWN_APP_VERSION: Final = _UnknownAppVersionSingleton()

_DEFAULT_QUEUE: Final = limits.DEFAULT_QUEUE
_DEFAULT_QUEUE_PATH: Final = "/_ah/queue"
_MAX_COUNTDOWN_SECONDS: Final = limits.MAX_ETA_SECONDS

_NON_POST_HTTP_METHODS: Final = frozenset(["GET", "HEAD", "PUT", "DELETE"])
_BODY_METHODS: Final = frozenset(["POST", "PUT", "PULL"])

_TASK_NAME_PATTERN: Final = rf"^[a-zA-Z0-9_-]{{1,{MAX_TASK_NAME_LENGTH}}}$"
_TASK_NAME_RE: Final = re.compile(_TASK_NAME_PATTERN)
_QUEUE_NAME_PATTERN: Final = rf"^[a-zA-Z0-9-]{{1,{MAX_QUEUE_NAME_LENGTH}}}$"
_QUEUE_NAME_RE: Final = re.compile(_QUEUE_NAME_PATTERN)

#: Deadline (seconds) of a call made without one, as the SDK's HTTP transport uses.
DEFAULT_RPC_DEADLINE: Final = limits.DEFAULT_API_DEADLINE_SECONDS


__all__ = [
    "DEFAULT_APP_VERSION",
    "DEFAULT_RPC_DEADLINE",
    "MAX_DISPATCH_DEADLINE",
    "MAX_LEASE_SECONDS",
    "MAX_PULL_TASK_SIZE_BYTES",
    "MAX_PUSH_TASK_SIZE_BYTES",
    "MAX_QUEUE_NAME_LENGTH",
    "MAX_TAG_LENGTH",
    "MAX_TASKS_PER_ADD",
    "MAX_TASKS_PER_LEASE",
    "MAX_TASK_NAME_LENGTH",
    "MAX_TASK_SIZE_BYTES",
    "MAX_TRANSACTIONAL_REQUEST_SIZE_BYTES",
    "MAX_URL_LENGTH",
    "MIN_DISPATCH_DEADLINE",
]
