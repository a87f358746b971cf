"""Value types that cross the service interface: requests, results, task views, statistics."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from emulator.domain.errors import ErrorCode
from emulator.domain.fast_init import fast_init
from emulator.domain.queue_config import QueueMode, RetryParameters


class TaskState(enum.Enum):
    """Where a stored task stands at a given instant (derived from its ETA, never stored).

    * ``READY``: ``eta <= now``; a lease may take it. A task added without an ETA is ready
      at the instant it was added, and a lease of L seconds taken at T ends at T + L.
    * ``LEASED``: ``eta > now`` and it has been leased at least once (``retry_count > 0``);
      its holder may still change the lease.
    * ``DELAYED``: ``eta > now`` and never leased (a countdown or an ETA in the future).
    """

    READY = "ready"
    LEASED = "leased"
    DELAYED = "delayed"


@fast_init
@dataclass(frozen=True)
class AddRequest:
    """One task to add. ``name`` None or ``''`` asks the service to choose one.

    The ETA is ``eta_usec`` if given, else now + ``countdown_seconds`` if given, else now.
    ``mode`` must match the queue's mode (None: whatever the queue's is). ``url``, ``method``
    and ``headers`` only mean something for push tasks; ``tag`` only for pull tasks.
    ``retry_parameters`` are per-task retry options (Go clients send them for pull tasks).
    ``http_url`` is the absolute ``http(s)://`` URL of a push task for an HTTP target (Cloud
    Tasks' ``http_request``); such a task has no ``url`` (that is App Engine's relative one).
    """

    payload: bytes = b""
    name: str | None = None
    eta_usec: int | None = None
    countdown_seconds: float | None = None
    tag: str | None = None
    mode: QueueMode | None = QueueMode.PULL
    method: str | None = None
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    retry_parameters: RetryParameters | None = None
    dispatch_deadline_usec: int | None = None
    http_url: str | None = None


@fast_init
@dataclass(frozen=True)
class AddResult:
    """The outcome for one :class:`AddRequest`, in request order.

    ``code`` is OK, SKIPPED (the batch was rejected because of another task), or an error.
    ``name`` is the task's name (the chosen one for auto-named tasks) whenever it is known;
    ``eta_usec`` is the stored ETA of an added task (the service's clock decides "now");
    ``created_usec`` the instant it was stored.
    """

    code: ErrorCode
    name: str | None = None
    message: str = ""
    eta_usec: int | None = None
    created_usec: int | None = None


@fast_init
@dataclass(frozen=True)
class LeasedTask:
    """A task handed out by a lease. ``eta_usec`` is the lease expiry, and the lease token;
    ``created_usec`` is when the task was added."""

    name: str
    eta_usec: int
    retry_count: int
    payload: bytes
    tag: str | None = None
    created_usec: int = 0


@fast_init
@dataclass(frozen=True)
class ReadyTask:
    """What a lease reads of a ready task: what its retry limit and its answer need, and no
    more (reading and building all fifteen columns of 1000 stored tasks took 28M
    instructions, fetching these six 9M)."""

    name: str
    payload: bytes
    tag: str | None
    retry_count: int
    created_usec: int
    retry_parameters: RetryParameters | None = None


@fast_init
@dataclass(frozen=True)
class StoredTask:
    """A task as stored. ``eta_usec`` is when it becomes leasable (or its lease expiry);
    ``http_url`` as in :class:`AddRequest`."""

    queue: str
    name: str
    eta_usec: int
    payload: bytes = b""
    tag: str | None = None
    retry_count: int = 0
    created_usec: int = 0
    mode: QueueMode = QueueMode.PULL
    method: str | None = None
    url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    retry_parameters: RetryParameters | None = None
    dispatch_deadline_usec: int | None = None
    leased_at_usec: int | None = None
    http_url: str | None = None

    def state(self, now_usec: int) -> TaskState:
        """This task's state at ``now_usec``."""
        if self.eta_usec <= now_usec:
            return TaskState.READY
        return TaskState.LEASED if self.retry_count > 0 else TaskState.DELAYED


@dataclass(frozen=True)
class QueueStats:
    """Statistics of one queue.

    ``tasks`` counts every stored task (ready, leased, delayed); ``oldest_eta_usec`` is the
    smallest ETA (a leased task's ETA is its lease expiry), None when empty.
    ``leased_last_minute`` / ``leased_last_hour`` count tasks handed out by leases in those
    windows (the SDK's ``executed_last_minute``); ``in_flight`` counts tasks leased right now.
    ``exists`` is False for a name that is not configured (everything else is then zero/None).
    ``ready`` counts tasks a lease could take now (``eta <= now``) and ``delayed`` those
    never leased whose ETA is still ahead (``eta > now``, ``retry_count == 0``), so
    ``tasks == ready + in_flight + delayed``; None when the service cannot tell.
    ``rate_limited_leases_last_minute`` counts lease calls that ``--lease-rate-limit``
    answered with no tasks in the last 60 one-second windows; None when there is no limit.
    """

    queue: str
    tasks: int = 0
    oldest_eta_usec: int | None = None
    leased_last_minute: int | None = None
    leased_last_hour: int | None = None
    in_flight: int | None = None
    enforced_rate: float | None = None
    paused: bool = False
    exists: bool = True
    ready: int | None = None
    delayed: int | None = None
    rate_limited_leases_last_minute: int | None = None


@dataclass(frozen=True)
class TaskPage:
    """One page of a peek listing; ``next_page_token`` is None on the last page."""

    tasks: list[StoredTask] = field(default_factory=list)
    next_page_token: str | None = None
    now_usec: int = 0


@dataclass(frozen=True)
class PeekFilter:
    """What a peek listing returns: tasks in ``states`` (all if empty) with ``tag`` (any if
    None; ``''`` means untagged), ordered by (eta, name), at most ``limit`` per page."""

    states: frozenset[TaskState] = frozenset()
    tag: str | None = None
    limit: int = 100
    page_token: str | None = None
