"""``LocalQueueService``: App Engine pull-queue semantics over a :class:`TaskStore`.

Pure: time comes from the injected clock (read once per operation), configuration from an
injected provider, data from the store's transactions. Each public method is one
transaction, so it is atomic with respect to every other operation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from emulator.core import validation
from emulator.core.paging import decode_page_token, encode_page_token
from emulator.domain.clock import Clock
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import (
    AUTO_TASK_NAME_PREFIX,
    LEASE_WINDOW_HOUR_USEC,
    LEASE_WINDOW_MINUTE_USEC,
    usec_from_seconds,
)
from emulator.domain.model import (
    AddRequest,
    AddResult,
    LeasedTask,
    PeekFilter,
    QueueStats,
    ReadyTask,
    StoredTask,
    TaskPage,
)
from emulator.domain.queue_config import QueueConfig, QueueMode, QueuesConfig
from emulator.store.protocol import StoreTransaction, TaskStore

ConfigProvider = Callable[[], QueuesConfig]
_log = logging.getLogger("emulator.core")


class LocalQueueService:
    """The reference implementation of :class:`emulator.core.service.QueueService`."""

    def __init__(
        self, store: TaskStore, clock: Clock, config: ConfigProvider | QueuesConfig
    ) -> None:
        self._store = store
        self._clock = clock
        self._config: ConfigProvider = (
            (lambda: config) if isinstance(config, QueuesConfig) else config
        )
        self._lease_log_pruned_before: int | None = None

    def config(self) -> QueuesConfig:
        return self._config()

    def now_usec(self) -> int:
        return self._clock.now_usec()

    def queue(self, queue_name: str) -> QueueConfig:
        return self._queue(queue_name)

    def _queue(self, name: str) -> QueueConfig:
        validation.check_queue_name(name)
        config = self._config()
        queue = config.get(name)
        if queue is None:
            raise TaskQueueError(ErrorCode.UNKNOWN_QUEUE, unknown_queue_message(name, config))
        return queue

    def _pull_queue(self, name: str) -> QueueConfig:
        return validation.check_pull_queue(self._queue(name))

    # -- add ---------------------------------------------------------------------------------

    def add(self, queue_name: str, requests: Sequence[AddRequest]) -> list[AddResult]:
        queue = self._queue(queue_name)
        validation.check_batch_size(len(requests))
        now = self._clock.now_usec()
        wrong_mode = any(r.mode not in (None, queue.mode) for r in requests)
        with self._store.transaction() as tx:
            etas = [_eta(r, now) for r in requests]
            problems = [
                validation.check_add_request(queue, r, eta, now)
                for r, eta in zip(requests, etas, strict=True)
            ]
            if len(requests) == 1 and problems[0] is None and not wrong_mode:
                return [_store_one(tx, queue, requests[0], etas[0], now)]  # the common add
            names, auto_named = _batch_names(tx, queue.name, requests, problems)
            if wrong_mode or any(p is not None for p in problems):
                # nothing is stored; the advanced auto-name counter commits, as the stub's does
                results = _unstored_results(names, problems)
            else:
                results = _store_batch(tx, queue, requests, names, etas, auto_named, now)
        if wrong_mode and all(p is None for p in problems):
            raise TaskQueueError(
                ErrorCode.INVALID_QUEUE_MODE,
                f"queue {queue.name!r} is a {queue.mode.label} queue; "
                f"{_other_mode(queue.mode)} tasks cannot be added to it",
            )
        return results

    # -- lease -------------------------------------------------------------------------------

    def lease(
        self,
        queue_name: str,
        lease_seconds: float,
        max_tasks: int,
        *,
        group_by_tag: bool = False,
        tag: str | None = None,
    ) -> list[LeasedTask]:
        queue = self._pull_queue(queue_name)
        lease_usec = usec_from_seconds(validation.check_lease_seconds(lease_seconds))
        validation.check_max_tasks(max_tasks)
        validation.check_lease_tag(group_by_tag, tag)
        now = self._clock.now_usec()
        with self._store.transaction() as tx:
            candidates = _lease_candidates(tx, queue.name, now, max_tasks, group_by_tag, tag)
            if not candidates:  # a paused queue has none: its error comes before "empty"
                _check_running(tx, queue.name)
            chosen = _within_retry_limit(tx, queue, candidates, now)
            eta = now + lease_usec
            if chosen:
                tx.mark_leased(queue.name, [t.name for t in chosen], eta, now)
                tx.record_leases(queue.name, now, len(chosen))
            self._prune_lease_log(tx, now - LEASE_WINDOW_HOUR_USEC)
        return [
            LeasedTask(t.name, eta, t.retry_count + 1, t.payload, t.tag, t.created_usec)
            for t in chosen
        ]

    def _prune_lease_log(self, tx: StoreTransaction, before_usec: int) -> None:
        """Drop lease records older than ``before_usec`` (the statistics' hour), at most once
        per minute of the clock: statistics count only records inside their window, so the
        ones that linger are never counted; a clock set back prunes at once."""
        last = self._lease_log_pruned_before
        if last is None or not last <= before_usec < last + LEASE_WINDOW_MINUTE_USEC:
            tx.prune_lease_log(before_usec)
            self._lease_log_pruned_before = before_usec

    def modify_lease(
        self, queue_name: str, task_name: str, eta_usec: int, lease_seconds: float
    ) -> int:
        return self.change_lease(queue_name, task_name, eta_usec, lease_seconds).eta_usec

    def change_lease(
        self, queue_name: str, task_name: str, eta_usec: int, lease_seconds: float
    ) -> StoredTask:
        queue = self._pull_queue(queue_name)
        lease_usec = usec_from_seconds(validation.check_lease_seconds(lease_seconds))
        now = self._clock.now_usec()
        with self._store.transaction() as tx:
            _check_running(tx, queue.name)
            task = _held_task(tx, queue.name, task_name, eta_usec, now)
            new_eta = now + lease_usec
            tx.set_eta(queue.name, task.name, new_eta)
            return replace(task, eta_usec=new_eta)

    def acknowledge(self, queue_name: str, task_name: str, eta_usec: int) -> None:
        queue = self._pull_queue(queue_name)
        now = self._clock.now_usec()
        with self._store.transaction() as tx:
            task = _held_task(tx, queue.name, task_name, eta_usec, now)
            tx.delete_task(queue.name, task.name, tombstone_usec=now)

    # -- delete, purge, pause ----------------------------------------------------------------

    def delete(self, queue_name: str, task_names: Sequence[str]) -> list[ErrorCode]:
        queue = self._queue(queue_name)
        now = self._clock.now_usec()
        with self._store.transaction() as tx:
            return _delete_batch(tx, queue.name, task_names, now)

    def purge(self, queue_name: str) -> int:
        queue = self._queue(queue_name)
        now = self._clock.now_usec()
        with self._store.transaction() as tx:
            return tx.delete_all(queue.name, tombstone_usec=now)

    def pause(self, queue_name: str) -> None:
        queue = self._queue(queue_name)
        with self._store.transaction() as tx:
            tx.set_paused(queue.name, True)

    def resume(self, queue_name: str) -> None:
        queue = self._queue(queue_name)
        with self._store.transaction() as tx:
            tx.set_paused(queue.name, False)

    # -- statistics and peeking ----------------------------------------------------------------

    def stats(self, queue_names: Sequence[str]) -> list[QueueStats]:
        config = self._config()
        now = self._clock.now_usec()
        with self._store.transaction() as tx:
            return [_stats_one(tx, config.get(name), name, now) for name in queue_names]

    def peek(self, queue_name: str, where: PeekFilter) -> TaskPage:
        queue = self._queue(queue_name)
        validation.check_peek_limit(where.limit)
        after = decode_page_token(where.page_token) if where.page_token else None
        now = self._clock.now_usec()
        with self._store.transaction() as tx:
            tasks = tx.page_tasks(
                queue.name,
                now_usec=now,
                states=where.states,
                tag=where.tag,
                after=after,
                limit=where.limit + 1,
            )
        more = len(tasks) > where.limit
        tasks = tasks[: where.limit]
        token = encode_page_token(tasks[-1].eta_usec, tasks[-1].name) if more else None
        return TaskPage(tasks=tasks, next_page_token=token, now_usec=now)

    def get_task(self, queue_name: str, task_name: str) -> StoredTask:
        queue = self._queue(queue_name)
        with self._store.transaction() as tx:
            return _existing_task(tx, queue.name, task_name)

    # -- test support --------------------------------------------------------------------------

    def flush_queue(self, queue_name: str) -> None:
        queue = self._queue(queue_name)
        with self._store.transaction() as tx:
            tx.delete_all(queue.name, tombstone_usec=None)
            tx.clear_tombstones(queue.name)

    def forget_task(self, queue_name: str, task_name: str) -> bool:
        queue = self._queue(queue_name)
        with self._store.transaction() as tx:
            existed = tx.delete_task(queue.name, task_name, tombstone_usec=None)
            tx.clear_tombstones(queue.name, [task_name])
            return existed

    def reset(self) -> None:
        with self._store.transaction() as tx:
            tx.reset()


# -- helpers (pure functions over a transaction) ------------------------------------------------


NO_QUEUE_YAML_HINT = (
    "no queue.yaml is loaded, so only the push queue 'default' exists; give one with "
    "shims.install(queue_yaml=PATH), TASKQUEUE_EMULATOR_QUEUE_YAML=PATH, "
    "taskqueue-emulator --queue-yaml PATH, or pytest --taskqueue-yaml PATH "
    "(ini option taskqueue_yaml)"
)


def unknown_queue_message(name: str, config: QueuesConfig) -> str:
    """Why ``name`` is not a queue: not in the loaded file, or no file loaded at all."""
    if config.source is None:
        return f"queue {name!r} is unknown: {NO_QUEUE_YAML_HINT}"
    return f"queue {name!r} is not defined in {config.source}"


def _other_mode(mode: QueueMode) -> str:
    return QueueMode.PUSH.label if mode is QueueMode.PULL else QueueMode.PULL.label


def _eta(request: AddRequest, now: int) -> int:
    if request.eta_usec is not None:
        return request.eta_usec
    if request.countdown_seconds is not None:
        return now + usec_from_seconds(request.countdown_seconds)
    return now


def _next_auto_name(tx: StoreTransaction) -> str:
    """``task<N>`` for the next value of the auto-name counter (free or not)."""
    return f"{AUTO_TASK_NAME_PREFIX}{tx.next_auto_name_id()}"


def _choose_name(tx: StoreTransaction, queue: str, taken: set[str]) -> str:
    """The next ``task<N>`` name that is free in ``queue`` (never a live or tombstoned name)."""
    while True:
        name = _next_auto_name(tx)
        if name not in taken and not tx.name_in_use(queue, name):
            return name


def _store_one(
    tx: StoreTransaction, config: QueueConfig, request: AddRequest, eta: int, now: int
) -> AddResult:
    """Store one valid task with the result :func:`_store_batch` would give it, in one insert
    that refuses a used name: an unnamed task tries each next ``task<N>`` (exactly the name
    :func:`_choose_name` would give); a named one whose insert is refused costs one lookup,
    to tell TASK_ALREADY_EXISTS from TOMBSTONED_TASK."""
    name = request.name or _next_auto_name(tx)
    while not tx.insert_if_name_free(_new_task(config, request, name, eta, now)):
        if request.name:
            live, _ = tx.taken_names(config.name, [name])
            return _name_used(name, tombstoned=name not in live)
        name = _next_auto_name(tx)
    return AddResult(ErrorCode.OK, name, eta_usec=eta, created_usec=now)


def _name_used(name: str, *, tombstoned: bool) -> AddResult:
    """The refusal of an add whose explicit name is stored, or was used by a deleted task."""
    if tombstoned:
        message = f"task name {name!r} was used by a deleted task"
        return AddResult(ErrorCode.TOMBSTONED_TASK, name, message)
    return AddResult(ErrorCode.TASK_ALREADY_EXISTS, name, f"task {name!r} already exists")


def _choose_names(tx: StoreTransaction, queue: str, count: int, taken: set[str]) -> list[str]:
    """The next ``count`` free auto names, exactly those ``count`` calls of
    :func:`_choose_name` would give, in a few statements instead of four per name: the ids
    are reserved as one block, the block's taken names skipped (they are rare: a user would
    have to name a task ``task<N>``), and any shortfall is chosen one by one after it."""
    if count <= 1:  # one name: the one-by-one choice is the cheaper statements
        return [_choose_name(tx, queue, taken) for _ in range(count)]
    last = tx.reserve_auto_name_ids(count)
    block = [f"{AUTO_TASK_NAME_PREFIX}{n}" for n in range(last - count + 1, last + 1)]
    live, tombstoned = tx.taken_names(queue, block)
    unavailable = taken | live | tombstoned
    names = [name for name in block if name not in unavailable]
    while len(names) < count:
        names.append(_choose_name(tx, queue, taken))
    return names


def _batch_names(
    tx: StoreTransaction,
    queue: str,
    requests: Sequence[AddRequest],
    problems: Sequence[validation.Problem],
) -> tuple[list[str], set[str]]:
    """Each request's name, in order: its own, else (when it is valid) a chosen auto name,
    else ``""``; and the set of names chosen here, which are known to be free in ``queue``."""
    unnamed = sum(1 for r, p in zip(requests, problems, strict=True) if p is None and not r.name)
    chosen = _choose_names(tx, queue, unnamed, {r.name for r in requests if r.name})
    auto_names = iter(chosen)
    names = [
        r.name or (next(auto_names) if p is None else "")
        for r, p in zip(requests, problems, strict=True)
    ]
    return names, set(chosen)


def _unstored_results(
    names: Sequence[str], problems: Sequence[validation.Problem]
) -> list[AddResult]:
    """The results of a batch that is refused as a whole: each invalid request's error, and
    SKIPPED for the valid ones."""
    return [
        AddResult(ErrorCode.SKIPPED, name)
        if problem is None
        else AddResult(problem[0], name or None, problem[1])
        for name, problem in zip(names, problems, strict=True)
    ]


def _store_batch(
    tx: StoreTransaction,
    config: QueueConfig,
    requests: Sequence[AddRequest],
    names: Sequence[str],
    etas: Sequence[int],
    auto_named: set[str],
    now: int,
) -> list[AddResult]:
    """Insert validated tasks (one statement for the batch), in order, as one by one would:
    an explicit name that is stored (or was stored earlier in this batch) gets
    TASK_ALREADY_EXISTS, one used by a deleted task TOMBSTONED_TASK. Auto names are free."""
    explicit = [name for name in names if name not in auto_named]
    live, tombstoned = tx.taken_names(config.name, explicit) if explicit else (set(), set())
    results: list[AddResult] = []
    tasks: list[StoredTask] = []
    for request, name, eta in zip(requests, names, etas, strict=True):
        if name in live or name in tombstoned:
            results.append(_name_used(name, tombstoned=name not in live))
            continue
        live.add(name)
        tasks.append(_new_task(config, request, name, eta, now))
        results.append(AddResult(ErrorCode.OK, name, eta_usec=eta, created_usec=now))
    tx.insert_tasks(tasks)
    return results


def _new_task(
    config: QueueConfig, request: AddRequest, name: str, eta: int, now: int
) -> StoredTask:
    return StoredTask(
        queue=config.name,
        name=name,
        eta_usec=eta,
        payload=request.payload,
        tag=request.tag or None,
        created_usec=now,
        mode=request.mode if request.mode is not None else config.mode,
        method=request.method,
        url=request.url,
        headers=request.headers,
        retry_parameters=request.retry_parameters,
        dispatch_deadline_usec=request.dispatch_deadline_usec,
        http_url=request.http_url,
    )


def _check_running(tx: StoreTransaction, queue: str) -> None:
    if tx.is_paused(queue):
        raise TaskQueueError(ErrorCode.QUEUE_PAUSED, f"queue {queue!r} is paused")


def _lease_candidates(
    tx: StoreTransaction, queue: str, now: int, max_tasks: int, group_by_tag: bool, tag: str | None
) -> list[ReadyTask]:
    """The tasks a lease would take, before the retry limit is applied (stub §4.3, §4.4).

    Grouping by the oldest task's tag reads that one task first, then only the tasks of its
    tag (reading a whole window and then the tag's tasks read twice the rows); only an
    untagged oldest task needs the window, whose untagged tasks are the answer."""
    if group_by_tag and tag:
        return tx.ready_tasks_with_tag(queue, tag, now, max_tasks)
    if not group_by_tag:
        return tx.ready_tasks(queue, now, max_tasks)
    oldest = tx.ready_tasks(queue, now, 1)
    if not oldest:
        return []
    if oldest[0].tag:
        return tx.ready_tasks_with_tag(queue, oldest[0].tag, now, max_tasks)
    return [task for task in tx.ready_tasks(queue, now, max_tasks) if not task.tag]


def _within_retry_limit(
    tx: StoreTransaction, queue: QueueConfig, candidates: list[ReadyTask], now: int
) -> list[ReadyTask]:
    """The candidates a lease may take, in order: each task over its retry limit (its own
    retry parameters', else the queue's) is deleted (and tombstoned at ``now``) instead,
    with a warning, as the stub does."""
    queue_limit = queue.lease_limit()
    chosen: list[ReadyTask] = []
    for task in candidates:
        params = task.retry_parameters
        limit = queue_limit if params is None else params.lease_limit()
        if limit is None or limit > task.retry_count:
            chosen.append(task)
            continue
        _log.warning(
            "Task %s in queue %s cannot be leased again after %d leases.",
            task.name,
            queue.name,
            task.retry_count,
        )
        tx.delete_task(queue.name, task.name, tombstone_usec=now)
    return chosen


def _existing_task(tx: StoreTransaction, queue: str, name: str) -> StoredTask:
    task = tx.get_task(queue, name)
    if task is not None:
        return task
    if tx.is_tombstoned(queue, name):
        raise TaskQueueError(ErrorCode.TOMBSTONED_TASK, f"task {name!r} has been deleted")
    raise TaskQueueError(ErrorCode.UNKNOWN_TASK, f"task {name!r} does not exist")


def _held_task(tx: StoreTransaction, queue: str, name: str, eta_usec: int, now: int) -> StoredTask:
    """The task whose current lease token is ``eta_usec`` and whose lease has not ended.

    Raises:
        TaskQueueError: TOMBSTONED_TASK, UNKNOWN_TASK, or TASK_LEASE_EXPIRED for a token that
            is not the task's ETA (its lease changed) or a lease that has ended (``eta <= now``).
    """
    task = _existing_task(tx, queue, name)
    if task.eta_usec != eta_usec:
        raise TaskQueueError(
            ErrorCode.TASK_LEASE_EXPIRED,
            f"task {name!r} is not leased with ETA {eta_usec} (its lease changed)",
        )
    if task.eta_usec <= now:  # the lease has ended: the task is leasable again
        raise TaskQueueError(
            ErrorCode.TASK_LEASE_EXPIRED, f"the lease on task {name!r} has expired"
        )
    return task


def _delete_batch(
    tx: StoreTransaction, queue: str, names: Sequence[str], now: int
) -> list[ErrorCode]:
    """Delete (and tombstone) the named tasks in one statement, with the codes deleting them
    one by one gives, in order: OK for a name's first occurrence if it existed, else
    TOMBSTONED_TASK if its name is tombstoned (by this call or before), else UNKNOWN_TASK."""
    deleted = tx.delete_tasks(queue, names, tombstone_usec=now)
    missing = [name for name in dict.fromkeys(names) if name not in deleted]
    tombstoned = tx.taken_names(queue, missing)[1] if missing else set()
    codes: list[ErrorCode] = []
    seen: set[str] = set()
    for name in names:
        if name in deleted and name not in seen:
            codes.append(ErrorCode.OK)
        elif name in deleted or name in tombstoned:
            codes.append(ErrorCode.TOMBSTONED_TASK)
        else:
            codes.append(ErrorCode.UNKNOWN_TASK)
        seen.add(name)
    return codes


def _stats_one(tx: StoreTransaction, queue: QueueConfig | None, name: str, now: int) -> QueueStats:
    if queue is None:
        return QueueStats(queue=name, exists=False)
    pull = queue.mode is QueueMode.PULL
    return QueueStats(
        queue=name,
        tasks=tx.count_tasks(name),
        oldest_eta_usec=tx.oldest_eta(name),
        leased_last_minute=tx.leases_since(name, now - LEASE_WINDOW_MINUTE_USEC + 1),
        leased_last_hour=tx.leases_since(name, now - LEASE_WINDOW_HOUR_USEC + 1),
        in_flight=tx.count_leased(name, now) if pull else 0,
        enforced_rate=None if pull else queue.rate_per_second,
        paused=tx.is_paused(name),
        ready=tx.count_ready(name, now),
        delayed=tx.count_delayed(name, now),
    )
