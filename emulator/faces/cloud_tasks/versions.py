"""The three Cloud Tasks API versions the faces serve, and what differs between them, as data.

v2beta2, v2beta3 and v2 share most of their messages; where they differ (field names, where a
counter lives, whether leases exist) the codec and the methods read a :class:`Dialect`
instead of branching on a version string. The message classes are google-cloud-tasks' own
proto-plus types; the faces work on their protobuf messages (``Type.pb()``), which keep
timestamps as exact seconds and nanos.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final

from google.cloud import tasks_v2, tasks_v2beta2, tasks_v2beta3

#: A protobuf message of one of the versions (google-cloud-tasks ships no stubs for them).
Pb = Any


class QueueShape(enum.Enum):
    """How a version tells pull queues from push queues."""

    #: v2beta2: the ``target_type`` oneof, ``pull_target`` or ``app_engine_http_target``.
    TARGET = "target"
    #: v2beta3: ``type_`` PULL/PUSH, and ``app_engine_http_queue`` on push queues.
    TYPE = "type"
    #: v2: no pull queues; ``app_engine_routing_override`` on the queue itself.
    ROUTING = "routing"


@dataclass(frozen=True)
class Dialect:
    """One API version: its message module and the spellings that differ."""

    version: str
    types: ModuleType
    #: LeaseTasks, AcknowledgeTask, RenewLease and CancelLease exist (v2beta2 only).
    leases: bool
    #: ``Task.pull_message`` exists (v2beta2 creates and reads it; v2beta3 reads it).
    pull_messages: bool
    #: ``AppEngineHttpRequest``'s URL and body fields.
    app_engine_url: str
    app_engine_body: str
    #: The dispatch counter: ``status.attempt_dispatch_count`` (v2beta2) or ``dispatch_count``.
    counts_in_status: bool
    #: ``Task.dispatch_deadline`` exists.
    dispatch_deadline: bool
    queue_shape: QueueShape
    #: ``RateLimits``' rate and concurrency fields.
    rate_field: str
    concurrency_field: str
    #: ``RetryConfig.unlimited_attempts`` exists (else ``max_attempts = -1`` means unlimited).
    unlimited_attempts: bool
    #: ``Queue.stats`` and the ``read_mask`` of GetQueue/ListQueues exist.
    queue_stats: bool
    #: BatchCreateTasks and BatchDeleteTasks exist, and ``Task.retry_config`` (v2beta3, v2).
    batches: bool

    @property
    def service_name(self) -> str:
        """The gRPC service: ``google.cloud.tasks.v2beta2.CloudTasks``."""
        return f"google.cloud.tasks.{self.version}.CloudTasks"

    def message(self, kind: str, /) -> type[Pb]:
        """The protobuf class of the message called ``kind`` (``Task``, ``GetTaskRequest``)."""
        return getattr(self.types, kind).pb()  # type: ignore[no-any-return]

    def new(self, kind: str, /, **fields: Any) -> Pb:
        """A protobuf message ``kind`` with ``fields`` set."""
        return self.message(kind)(**fields)


V2BETA2: Final = Dialect(
    version="v2beta2",
    types=tasks_v2beta2,
    leases=True,
    pull_messages=True,
    app_engine_url="relative_url",
    app_engine_body="payload",
    counts_in_status=True,
    dispatch_deadline=False,
    queue_shape=QueueShape.TARGET,
    rate_field="max_tasks_dispatched_per_second",
    concurrency_field="max_concurrent_tasks",
    unlimited_attempts=True,
    queue_stats=True,
    batches=False,
)
V2BETA3: Final = Dialect(
    version="v2beta3",
    types=tasks_v2beta3,
    leases=False,
    pull_messages=True,
    app_engine_url="relative_uri",
    app_engine_body="body",
    counts_in_status=False,
    dispatch_deadline=True,
    queue_shape=QueueShape.TYPE,
    rate_field="max_dispatches_per_second",
    concurrency_field="max_concurrent_dispatches",
    unlimited_attempts=False,
    queue_stats=True,
    batches=True,
)
V2: Final = Dialect(
    version="v2",
    types=tasks_v2,
    leases=False,
    pull_messages=False,
    app_engine_url="relative_uri",
    app_engine_body="body",
    counts_in_status=False,
    dispatch_deadline=True,
    queue_shape=QueueShape.ROUTING,
    rate_field="max_dispatches_per_second",
    concurrency_field="max_concurrent_dispatches",
    unlimited_attempts=False,
    queue_stats=False,
    batches=True,
)
#: Every served version, by its path segment (``/v2beta2/...``).
DIALECTS: Final = {d.version: d for d in (V2BETA2, V2BETA3, V2)}
