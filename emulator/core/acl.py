"""queue.yaml ``acl`` (``--identity-header``): who may use a queue that has one.

:class:`AclService` is a policy around the service (like the lease rate limit). A queue
without ``acl`` is open to everyone. On a queue with one, the caller's identity (set by the
face from the configured header, :mod:`emulator.domain.identity`) must be listed:

* ``writer_email`` or ``user_email``: add, lease (by tag), modify / change a lease,
  acknowledge, delete;
* ``user_email`` only: also statistics, peek, a task's fields, purge, pause and resume.

Anyone else, and a call without an identity, gets PERMISSION_DENIED naming the queue and the
identity; nothing runs. Addresses compare case-insensitively. Configuration (``queue``,
``config``) and the test-control calls are not checked.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from emulator.core.forwarding import ForwardingService
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.identity import current_identity
from emulator.domain.model import (
    AddRequest,
    AddResult,
    LeasedTask,
    PeekFilter,
    QueueStats,
    StoredTask,
    TaskPage,
)
from emulator.domain.queue_config import QueueConfig


class Access(enum.Enum):
    """What a call needs: ``WRITE`` (writer_email or user_email) or ``USE`` (user_email)."""

    WRITE = "writer_email or user_email"
    USE = "user_email"


def allowed(queue: QueueConfig, identity: str | None, access: Access) -> bool:
    """Whether ``identity`` may make a call needing ``access`` on ``queue``."""
    if not queue.acl:
        return True
    if identity is None:
        return False
    wanted = identity.lower()
    for entry in queue.acl:
        if entry.user_email is not None and entry.user_email.lower() == wanted:
            return True
        if (
            access is Access.WRITE
            and entry.writer_email is not None
            and entry.writer_email.lower() == wanted
        ):
            return True
    return False


class AclService(ForwardingService):
    """Refuses, with PERMISSION_DENIED, the calls the queue's ``acl`` does not allow the
    current identity; every other call is handed on unchanged."""

    def _check(self, queue_name: str, access: Access, call: str) -> None:
        try:
            queue = self.inner.queue(queue_name)
        except TaskQueueError:
            return  # an unknown queue: the service reports it
        identity = current_identity()
        if allowed(queue, identity, access):
            return
        who = f"identity {identity!r}" if identity else "a request without an identity"
        raise TaskQueueError(
            ErrorCode.PERMISSION_DENIED,
            f"queue {queue_name!r} has an acl: {who} may not {call} (it needs the "
            f"{access.value} of an acl entry)",
        )

    def add(self, queue_name: str, requests: Sequence[AddRequest]) -> list[AddResult]:
        self._check(queue_name, Access.WRITE, "add tasks")
        return self.inner.add(queue_name, requests)

    def lease(
        self,
        queue_name: str,
        lease_seconds: float,
        max_tasks: int,
        *,
        group_by_tag: bool = False,
        tag: str | None = None,
    ) -> list[LeasedTask]:
        self._check(queue_name, Access.WRITE, "lease tasks")
        return self.inner.lease(
            queue_name, lease_seconds, max_tasks, group_by_tag=group_by_tag, tag=tag
        )

    def modify_lease(
        self, queue_name: str, task_name: str, eta_usec: int, lease_seconds: float
    ) -> int:
        self._check(queue_name, Access.WRITE, "modify a lease")
        return self.inner.modify_lease(queue_name, task_name, eta_usec, lease_seconds)

    def change_lease(
        self, queue_name: str, task_name: str, eta_usec: int, lease_seconds: float
    ) -> StoredTask:
        self._check(queue_name, Access.WRITE, "change a lease")
        return self.inner.change_lease(queue_name, task_name, eta_usec, lease_seconds)

    def acknowledge(self, queue_name: str, task_name: str, eta_usec: int) -> None:
        self._check(queue_name, Access.WRITE, "acknowledge a task")
        self.inner.acknowledge(queue_name, task_name, eta_usec)

    def delete(self, queue_name: str, task_names: Sequence[str]) -> list[ErrorCode]:
        self._check(queue_name, Access.WRITE, "delete tasks")
        return self.inner.delete(queue_name, task_names)

    def purge(self, queue_name: str) -> int:
        self._check(queue_name, Access.USE, "purge it")
        return self.inner.purge(queue_name)

    def pause(self, queue_name: str) -> None:
        self._check(queue_name, Access.USE, "pause it")
        self.inner.pause(queue_name)

    def resume(self, queue_name: str) -> None:
        self._check(queue_name, Access.USE, "resume it")
        self.inner.resume(queue_name)

    def stats(self, queue_names: Sequence[str]) -> list[QueueStats]:
        for name in queue_names:
            self._check(name, Access.USE, "read its statistics")
        return self.inner.stats(queue_names)

    def peek(self, queue_name: str, where: PeekFilter) -> TaskPage:
        self._check(queue_name, Access.USE, "list its tasks")
        return self.inner.peek(queue_name, where)

    def get_task(self, queue_name: str, task_name: str) -> StoredTask:
        self._check(queue_name, Access.USE, "read a task")
        return self.inner.get_task(queue_name, task_name)
