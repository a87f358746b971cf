"""``TaskRetryOptions``: per-task retry settings, validated as Google's SDK does.

Follows ``taskqueue.TaskRetryOptions`` of Google's ``appengine-python-standard``
(Apache-2.0, Copyright 2007 Google LLC). For pull tasks the SDK never sends these options
(the queue's ``task_retry_limit`` applies); the shim does the same.
"""

from __future__ import annotations

import math
from typing import Any

from emulator.domain.queue_config import RetryParameters
from shims.taskqueue._errors import InvalidTaskRetryOptionsError

#: A frozenset built in the SDK's order, so ``repr`` lists attributes in the SDK's order.
_KWARGS = frozenset(
    [
        "min_backoff_seconds",
        "max_backoff_seconds",
        "task_age_limit",
        "max_doublings",
        "task_retry_limit",
    ]
)


def _non_negative(value: Any, message: str) -> Any:
    if value is not None and value < 0:
        raise InvalidTaskRetryOptionsError(message)
    return value


class TaskRetryOptions:
    """The options used to decide when a failed task will be retried."""

    def __init__(self, **kwargs: Any) -> None:
        """Validate and store the options.

        Args:
          min_backoff_seconds, max_backoff_seconds: the retry interval bounds.
          task_age_limit: seconds after creation after which a task is not retried
              (rounded up to an integer).
          max_doublings: how often the interval doubles before it grows linearly.
          task_retry_limit: how many times a task is retried (for pull tasks: leased).

        Raises:
          TypeError: an unknown keyword argument.
          InvalidTaskRetryOptionsError: a negative value, or max backoff below min backoff.
        """
        unknown = set(kwargs) - _KWARGS
        if unknown:
            raise TypeError("Invalid arguments: {}".format(", ".join(unknown)))
        self.__min_backoff_seconds = _non_negative(
            kwargs.get("min_backoff_seconds"), "The minimum retry interval cannot be negative"
        )
        self.__max_backoff_seconds = _non_negative(
            kwargs.get("max_backoff_seconds"), "The maximum retry interval cannot be negative"
        )
        if (
            self.__min_backoff_seconds is not None
            and self.__max_backoff_seconds is not None
            and self.__max_backoff_seconds < self.__min_backoff_seconds
        ):
            raise InvalidTaskRetryOptionsError(
                "The maximum retry interval cannot be less than the minimum retry interval"
            )
        self.__max_doublings = _non_negative(
            kwargs.get("max_doublings"),
            "The maximum number of retry interval doublings cannot be negative",
        )
        self.__task_retry_limit = _non_negative(
            kwargs.get("task_retry_limit"), "The maximum number of retries cannot be negative"
        )
        age_limit = _non_negative(
            kwargs.get("task_age_limit"), "The expiry countdown cannot be negative"
        )
        self.__task_age_limit = None if age_limit is None else math.ceil(age_limit)

    @property
    def min_backoff_seconds(self) -> Any:
        """The minimum number of seconds to wait before retrying a task."""
        return self.__min_backoff_seconds

    @property
    def max_backoff_seconds(self) -> Any:
        """The maximum number of seconds to wait before retrying a task."""
        return self.__max_backoff_seconds

    @property
    def task_age_limit(self) -> int | None:
        """The number of seconds after which a failed task will not be retried."""
        return self.__task_age_limit

    @property
    def max_doublings(self) -> Any:
        """The number of times that the retry interval will be doubled."""
        return self.__max_doublings

    @property
    def task_retry_limit(self) -> Any:
        """The number of times that a failed task will be retried."""
        return self.__task_retry_limit

    def __repr__(self) -> str:
        properties = ", ".join(f"{name}={getattr(self, name)!r}" for name in _KWARGS)
        return f"TaskRetryOptions({properties})"

    def _retry_parameters(self) -> RetryParameters:
        """The options as the emulator's :class:`RetryParameters` (sent for push tasks)."""
        return RetryParameters(
            task_retry_limit=self.__task_retry_limit,
            task_age_limit_sec=self.__task_age_limit,
            min_backoff_seconds=self.__min_backoff_seconds,
            max_backoff_seconds=self.__max_backoff_seconds,
            max_doublings=self.__max_doublings,
        )
