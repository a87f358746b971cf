"""``CloudTasksQueueService``: the ``QueueService`` interface forwarded to Cloud Tasks.

Where things come from (docs/MIGRATION.md):

* the queues' names, modes and retry settings (:meth:`queue`, :meth:`config`) come from the
  queue.yaml this service loads, as for the local service: a queue missing there is
  UNKNOWN_QUEUE before any call is made, and its mode picks the API (pull: ``tasks_v2beta2``;
  push: ``tasks_v2``, statistics through ``tasks_v2beta3``);
* tasks, leases, tombstones, pauses and statistics live in Cloud Tasks; nothing is kept here.

Semantics as the legacy API has them, with Cloud Tasks' differences (docs/COMPATIBILITY.md):
a lease is held for whole seconds (rounded up); ``purge`` returns the count of tasks the
queue's statistics showed just before; ``peek`` filters a page of ListTasks on this side;
``flush_queue``, ``forget_task`` and ``reset`` have no Cloud Tasks equivalent and raise
INVALID_REQUEST saying so. Every failure is a ``TaskQueueError`` through :mod:`.errors`.
Nothing is atomic across tasks: each CreateTask or DeleteTask stands alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

from google.cloud import tasks_v2, tasks_v2beta2, tasks_v2beta3
from google.protobuf import field_mask_pb2

from emulator.cloudtasks import mapping
from emulator.cloudtasks.clients import CloudTasksClients
from emulator.cloudtasks.errors import CALLS, is_google_error, translate
from emulator.cloudtasks.target import CloudTasksTarget
from emulator.core import validation
from emulator.domain.clock import Clock
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import usec_from_seconds
from emulator.domain.model import (
    AddRequest,
    AddResult,
    LeasedTask,
    PeekFilter,
    QueueStats,
    StoredTask,
    TaskPage,
)
from emulator.domain.queue_config import QueueConfig, QueueMode, QueuesConfig

#: What GetQueue asks for when statistics are wanted (``stats`` only comes when asked).
_STATS_MASK: Final = field_mask_pb2.FieldMask(paths=["name", "state", "stats"])
#: Per-task outcomes of an add; any other failure fails the call.
_PER_TASK: Final = frozenset(
    {
        ErrorCode.TASK_ALREADY_EXISTS,
        ErrorCode.TOMBSTONED_TASK,
        ErrorCode.INVALID_TASK_NAME,
        ErrorCode.INVALID_ETA,
        ErrorCode.TASK_TOO_LARGE,
        ErrorCode.INVALID_TAG,
        ErrorCode.INVALID_REQUEST,
    }
)
_PER_NAME: Final = frozenset({ErrorCode.UNKNOWN_TASK, ErrorCode.TOMBSTONED_TASK})


class CloudTasksQueueService:
    """A :class:`~emulator.core.service.QueueService` over Cloud Tasks at ``target``.

    ``config`` gives the queue.yaml in force (a ``ConfigWatcher``'s ``current``); ``clock``
    is what "now" means for countdowns and :meth:`now_usec` (Cloud Tasks' own clock decides
    when a task without an ETA is due). The caller owns ``clients`` unless it calls
    :meth:`close`.
    """

    def __init__(
        self,
        clients: CloudTasksClients,
        target: CloudTasksTarget,
        config: Callable[[], QueuesConfig],
        clock: Clock,
    ) -> None:
        self._clients = clients
        self._target = target
        self._config = config
        self._clock = clock

    @property
    def target(self) -> CloudTasksTarget:
        """Where the calls go."""
        return self._target

    def close(self) -> None:
        """Close the clients' channels."""
        self._clients.close()

    # -- calls -----------------------------------------------------------------------------

    @contextmanager
    def _calling(self, rpc: str, queue: str, task: str | None = None) -> Iterator[None]:
        """Run one RPC; its Google failure raised as the domain error of :mod:`.errors`."""
        try:
            yield
        except Exception as exc:
            if not is_google_error(exc):
                raise
            raise translate(exc, CALLS[rpc], self._target, queue, task) from None

    def _options(self) -> dict[str, Any]:
        return {"timeout": self._target.timeout_seconds, "retry": None}

    def _client(self, queue: QueueConfig) -> Any:
        return self._clients.pull if queue.mode is QueueMode.PULL else self._clients.push

    # -- configuration -----------------------------------------------------------------------

    def config(self) -> QueuesConfig:
        return self._config()

    def now_usec(self) -> int:
        return self._clock.now_usec()

    def queue(self, queue_name: str) -> QueueConfig:
        validation.check_queue_name(queue_name)
        config = self._config()
        found = config.get(queue_name)
        if found is None:
            known = ", ".join(sorted(config.queues)) or "none"
            raise TaskQueueError(
                ErrorCode.UNKNOWN_QUEUE,
                f"queue {queue_name!r} is not in the queue.yaml this forwarding service loaded "
                f"(queues: {known}); add it there and in {self._target.description}",
            )
        return found

    def _pull_queue(self, queue_name: str) -> QueueConfig:
        return validation.check_pull_queue(self.queue(queue_name))

    # -- add -------------------------------------------------------------------------------

    def add(self, queue_name: str, requests: Sequence[AddRequest]) -> list[AddResult]:
        queue = self.queue(queue_name)
        validation.check_batch_size(len(requests))
        now = self._clock.now_usec()
        if any(r.mode not in (None, queue.mode) for r in requests):
            raise TaskQueueError(
                ErrorCode.INVALID_QUEUE_MODE,
                f"queue {queue.name!r} is a {queue.mode.label} queue; other tasks cannot be "
                "added to it",
            )
        problems = [
            validation.check_add_request(queue, r, _eta(r, now) or now, now) for r in requests
        ]
        if any(p is not None for p in problems):
            return [
                AddResult(ErrorCode.SKIPPED, r.name or None)
                if p is None
                else AddResult(p[0], r.name or None, p[1])
                for r, p in zip(requests, problems, strict=True)
            ]
        return [self._add_one(queue, r, now) for r in requests]

    def _add_one(self, queue: QueueConfig, request: AddRequest, now: int) -> AddResult:
        path = self._target.task_path(queue.name, request.name) if request.name else None
        build = mapping.pull_task if queue.mode is QueueMode.PULL else mapping.push_task
        task = build(path, request, _eta(request, now))
        try:
            with self._calling("CreateTask", queue.name, request.name or None):
                created = self._client(queue).create_task(
                    parent=self._target.queue_path(queue.name), task=task, **self._options()
                )
        except TaskQueueError as exc:
            if exc.code not in _PER_TASK:
                raise
            return AddResult(exc.code, request.name or None, exc.message)
        return AddResult(
            ErrorCode.OK,
            mapping.task_id(created.name),
            eta_usec=mapping.usec_of(created.schedule_time),
            created_usec=mapping.usec_of(created.create_time),
        )

    # -- leases ----------------------------------------------------------------------------

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
        seconds = validation.check_lease_seconds(lease_seconds)
        validation.check_max_tasks(max_tasks)
        validation.check_lease_tag(group_by_tag, tag)
        if group_by_tag and tag == "":
            raise TaskQueueError(
                ErrorCode.INVALID_REQUEST,
                "Cloud Tasks cannot lease untagged tasks by tag (LeaseTasks' filter needs a "
                f"non-empty tag); lease from {queue.name!r} without group_by_tag instead",
            )
        request = tasks_v2beta2.LeaseTasksRequest(
            parent=self._target.queue_path(queue.name),
            max_tasks=max_tasks,
            lease_duration=mapping.lease_duration(seconds),
            response_view=tasks_v2beta2.Task.View.FULL,
            filter=mapping.lease_filter(group_by_tag, tag),
        )
        with self._calling("LeaseTasks", queue.name):
            response = self._clients.pull.lease_tasks(request=request, **self._options())
        return [mapping.leased_task(t) for t in response.tasks]

    def modify_lease(
        self, queue_name: str, task_name: str, eta_usec: int, lease_seconds: float
    ) -> int:
        return self.change_lease(queue_name, task_name, eta_usec, lease_seconds).eta_usec

    def change_lease(
        self, queue_name: str, task_name: str, eta_usec: int, lease_seconds: float
    ) -> StoredTask:
        queue = self._pull_queue(queue_name)
        seconds = validation.check_lease_seconds(lease_seconds)
        name = self._target.task_path(queue.name, task_name)
        token = mapping.timestamp(eta_usec)
        full = tasks_v2beta2.Task.View.FULL
        client = self._clients.pull
        if seconds == 0:
            with self._calling("CancelLease", queue.name, task_name):
                task = client.cancel_lease(
                    request=tasks_v2beta2.CancelLeaseRequest(
                        name=name, schedule_time=token, response_view=full
                    ),
                    **self._options(),
                )
        else:
            with self._calling("RenewLease", queue.name, task_name):
                task = client.renew_lease(
                    request=tasks_v2beta2.RenewLeaseRequest(
                        name=name,
                        schedule_time=token,
                        lease_duration=mapping.lease_duration(seconds),
                        response_view=full,
                    ),
                    **self._options(),
                )
        return mapping.stored_pull_task(queue.name, task)

    def acknowledge(self, queue_name: str, task_name: str, eta_usec: int) -> None:
        queue = self._pull_queue(queue_name)
        with self._calling("AcknowledgeTask", queue.name, task_name):
            self._clients.pull.acknowledge_task(
                name=self._target.task_path(queue.name, task_name),
                schedule_time=mapping.timestamp(eta_usec),
                **self._options(),
            )

    # -- delete, purge, pause ----------------------------------------------------------------

    def delete(self, queue_name: str, task_names: Sequence[str]) -> list[ErrorCode]:
        queue = self.queue(queue_name)
        validation.check_batch_size(len(task_names))
        return [self._delete_one(queue, name) for name in task_names]

    def _delete_one(self, queue: QueueConfig, task_name: str) -> ErrorCode:
        try:
            with self._calling("DeleteTask", queue.name, task_name):
                self._client(queue).delete_task(
                    name=self._target.task_path(queue.name, task_name), **self._options()
                )
        except TaskQueueError as exc:
            if exc.code not in _PER_NAME:
                raise
            return exc.code
        return ErrorCode.OK

    def purge(self, queue_name: str) -> int:
        queue = self.queue(queue_name)
        [before] = self.stats([queue.name])
        with self._calling("PurgeQueue", queue.name):
            self._client(queue).purge_queue(
                name=self._target.queue_path(queue.name), **self._options()
            )
        return before.tasks

    def pause(self, queue_name: str) -> None:
        queue = self.queue(queue_name)
        with self._calling("PauseQueue", queue.name):
            self._client(queue).pause_queue(
                name=self._target.queue_path(queue.name), **self._options()
            )

    def resume(self, queue_name: str) -> None:
        queue = self.queue(queue_name)
        with self._calling("ResumeQueue", queue.name):
            self._client(queue).resume_queue(
                name=self._target.queue_path(queue.name), **self._options()
            )

    # -- statistics and reading --------------------------------------------------------------

    def stats(self, queue_names: Sequence[str]) -> list[QueueStats]:
        config = self._config()
        return [self._stats_one(config.get(name), name) for name in queue_names]

    def _stats_one(self, queue: QueueConfig | None, name: str) -> QueueStats:
        if queue is None:
            return QueueStats(queue=name, exists=False)
        pull = queue.mode is QueueMode.PULL
        client = self._clients.pull if pull else self._clients.push_stats
        kind = tasks_v2beta2.GetQueueRequest if pull else tasks_v2beta3.GetQueueRequest
        request = kind(name=self._target.queue_path(queue.name), read_mask=_STATS_MASK)
        with self._calling("GetQueue", queue.name):
            message = client.get_queue(request=request, **self._options())
        return mapping.queue_stats(queue.name, message)

    def peek(self, queue_name: str, where: PeekFilter) -> TaskPage:
        queue = self.queue(queue_name)
        validation.check_peek_limit(where.limit)
        pull = queue.mode is QueueMode.PULL
        kind = tasks_v2beta2.ListTasksRequest if pull else tasks_v2.ListTasksRequest
        view = tasks_v2beta2.Task.View.FULL if pull else tasks_v2.Task.View.FULL
        request = kind(
            parent=self._target.queue_path(queue.name),
            response_view=view,
            page_size=where.limit,
            page_token=where.page_token or "",
        )
        now = self._clock.now_usec()
        with self._calling("ListTasks", queue.name):
            pager = self._client(queue).list_tasks(request=request, **self._options())
            tasks = [self._stored(queue, t) for t in pager.tasks]
            token = pager.next_page_token or None
        chosen = [t for t in tasks if _matches(t, where, now)]
        return TaskPage(tasks=chosen, next_page_token=token, now_usec=now)

    def get_task(self, queue_name: str, task_name: str) -> StoredTask:
        queue = self.queue(queue_name)
        pull = queue.mode is QueueMode.PULL
        view = tasks_v2beta2.Task.View.FULL if pull else tasks_v2.Task.View.FULL
        kind = tasks_v2beta2.GetTaskRequest if pull else tasks_v2.GetTaskRequest
        request = kind(name=self._target.task_path(queue.name, task_name), response_view=view)
        with self._calling("GetTask", queue.name, task_name):
            task = self._client(queue).get_task(request=request, **self._options())
        return self._stored(queue, task)

    @staticmethod
    def _stored(queue: QueueConfig, task: Any) -> StoredTask:
        if queue.mode is QueueMode.PULL:
            return mapping.stored_pull_task(queue.name, task)
        return mapping.stored_push_task(queue.name, task)

    # -- what Cloud Tasks cannot do ------------------------------------------------------------

    def _unavailable(self, what: str, instead: str) -> TaskQueueError:
        return TaskQueueError(
            ErrorCode.INVALID_REQUEST,
            f"{what} is not available when forwarding to {self._target.description}: {instead}",
        )

    def flush_queue(self, queue_name: str) -> None:
        self.queue(queue_name)
        raise self._unavailable(
            "flush_queue (testbed's FlushQueue)",
            "Cloud Tasks keeps the names of deleted tasks for its tombstone window; purge "
            "the queue and use new task names",
        )

    def forget_task(self, queue_name: str, task_name: str) -> bool:
        self.queue(queue_name)
        raise self._unavailable(
            "forget_task (testbed's DeleteTask)",
            "every DeleteTask keeps the name tombstoned; delete the task and use a new name",
        )

    def reset(self) -> None:
        raise self._unavailable(
            "reset",
            "purge each queue instead (the names stay tombstoned, and pauses stay as they are)",
        )


def _eta(request: AddRequest, now: int) -> int | None:
    """The ETA to send: the request's, or now + its countdown; None lets Cloud Tasks decide."""
    if request.eta_usec is not None:
        return request.eta_usec
    if request.countdown_seconds is not None:
        return now + usec_from_seconds(request.countdown_seconds)
    return None


def _matches(task: StoredTask, where: PeekFilter, now: int) -> bool:
    if where.states and task.state(now) not in where.states:
        return False
    if where.tag is None:
        return True
    return (task.tag or "") == where.tag
