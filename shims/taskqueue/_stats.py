"""``QueueStatistics``: the state of one or more queues.

Input handling follows ``taskqueue.QueueStatistics`` of Google's ``appengine-python-standard``
(Apache-2.0, Copyright 2007 Google LLC). The numbers are real, not the stub's random ones:
``tasks`` counts every stored task, ``oldest_eta_usec`` is the smallest ETA (a lease expiry
for a leased task), ``executed_last_minute`` counts tasks leased in the last minute,
``in_flight`` counts tasks leased now (pull queues), ``enforced_rate`` is the configured rate
of a push queue (None for pull queues). A queue that is not configured gives
``tasks=0`` and None everywhere else, as in Google's stub.
"""

from __future__ import annotations

from typing import Any, ClassVar

from emulator.domain.model import QueueStats
from shims.taskqueue._calls import make_async_call
from shims.taskqueue._errors import InvalidQueueError
from shims.taskqueue._queue import Queue
from shims.taskqueue._rpc import UserRPC, _ValidateDeadline, check_translated, create_rpc


class QueueStatistics:
    """Represents the current state of a queue."""

    _ATTRS: ClassVar[list[str]] = [
        "queue",
        "tasks",
        "oldest_eta_usec",
        "executed_last_minute",
        "in_flight",
        "enforced_rate",
    ]

    def __init__(
        self,
        queue: Any,
        tasks: int,
        oldest_eta_usec: int | None = None,
        executed_last_minute: int | None = None,
        in_flight: int | None = None,
        enforced_rate: float | None = None,
    ) -> None:
        self.queue = queue
        self.tasks = tasks
        self.oldest_eta_usec = oldest_eta_usec
        self.executed_last_minute = executed_last_minute
        self.in_flight = in_flight
        self.enforced_rate = enforced_rate

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueueStatistics):
            return NotImplemented
        return all(getattr(self, attr) == getattr(other, attr) for attr in self._ATTRS)

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, QueueStatistics):
            return NotImplemented
        return any(getattr(self, attr) != getattr(other, attr) for attr in self._ATTRS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        properties = ", ".join(f"{attr}={getattr(self, attr)!r}" for attr in self._ATTRS)
        return f"QueueStatistics({properties})"

    @classmethod
    def _from_stats(cls, queue: Queue, stats: QueueStats) -> QueueStatistics:
        if not stats.exists:
            return cls(queue, 0)
        return cls(
            queue,
            stats.tasks,
            oldest_eta_usec=stats.oldest_eta_usec,
            executed_last_minute=stats.leased_last_minute,
            in_flight=stats.in_flight,
            enforced_rate=stats.enforced_rate,
        )

    @classmethod
    def fetch_async(cls, queue_or_queues: Any, rpc: UserRPC | None = None) -> UserRPC:
        """Asynchronously get the statistics of a queue (a ``Queue`` or a name) or of an
        iterable of queues (only ``Queue`` objects or only names).

        ``get_result()`` gives one ``QueueStatistics`` for a single input, else a list in
        request order.

        Raises:
          TypeError: names and ``Queue`` objects are mixed.
        """
        wants_list = True
        if isinstance(queue_or_queues, str):
            queue_or_queues = [queue_or_queues]
            wants_list = False
        try:
            queues = list(queue_or_queues)
        except TypeError:
            queues = [queue_or_queues]
            wants_list = False
        has_names = any(isinstance(q, str) for q in queues)
        if has_names and any(isinstance(q, Queue) for q in queues):
            raise TypeError(
                "queue_or_queues must contain either strings or queue instances, not both."
            )
        if has_names:
            queues = [Queue(name) for name in queues]
        return cls._fetch_multiple_queues(queues, wants_list, rpc)

    @classmethod
    def fetch(cls, queue_or_queues: Any, deadline: Any = 10) -> Any:
        """Get the statistics of one queue or of several (see :meth:`fetch_async`).

        An empty input returns ``[]`` without calling the emulator.
        """
        _ValidateDeadline(deadline)
        if not queue_or_queues:
            return []
        rpc = create_rpc(deadline)
        cls.fetch_async(queue_or_queues, rpc)
        return rpc.get_result()

    @classmethod
    def _fetch_multiple_queues(
        cls, queues: list[Queue], multiple: bool, rpc: UserRPC | None
    ) -> UserRPC:
        requested_app_id = queues[0]._app
        for queue in queues:
            if queue._app != requested_app_id:
                raise InvalidQueueError("Inconsistent app ids requested.")
        names = [queue.name for queue in queues]

        def result_hook(rpc: UserRPC) -> Any:
            stats: list[QueueStats] = check_translated(rpc)
            assert len(stats) == len(queues), f"Expected {len(queues)} results, got {len(stats)}"
            result = [cls._from_stats(q, s) for q, s in zip(queues, stats, strict=True)]
            return result if multiple else result[0]

        return make_async_call(
            "FetchQueueStats",
            lambda backend, deadline: backend.stats(names, deadline=deadline),
            result_hook,
            rpc,
        )
