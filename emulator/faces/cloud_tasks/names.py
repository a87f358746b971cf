"""Cloud Tasks resource names ↔ the emulator's queues and tasks.

``projects/PROJECT_ID/locations/LOCATION_ID/queues/QUEUE_ID/tasks/TASK_ID``. Any project and
any location name the same queues: the emulator has one set, from queue.yaml. Answers echo
the caller's project and location, so a client sees the names it asked for. A malformed
name is INVALID_ARGUMENT naming the request field it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from emulator.domain.limits import CONFIG_QUEUE_NAME_RE, TASK_NAME_RE
from emulator.faces.cloud_tasks.errors import CloudTasksError, invalid

#: A project or location ID: any non-empty segment without a slash or white space (project
#: IDs may be domain-scoped, ``example.com:my-app``).
_SEGMENT: Final = r"[^/\s]+"
_LOCATION_RE: Final = re.compile(rf"projects/({_SEGMENT})/locations/({_SEGMENT})\Z")
_QUEUE_RE: Final = re.compile(rf"projects/({_SEGMENT})/locations/({_SEGMENT})/queues/([^/]*)\Z")
_TASK_RE: Final = re.compile(
    rf"projects/({_SEGMENT})/locations/({_SEGMENT})/queues/([^/]*)/tasks/([^/]*)\Z"
)
LOCATION_FORM: Final = "projects/PROJECT_ID/locations/LOCATION_ID"
QUEUE_FORM: Final = f"{LOCATION_FORM}/queues/QUEUE_ID"
TASK_FORM: Final = f"{QUEUE_FORM}/tasks/TASK_ID"


@dataclass(frozen=True)
class LocationName:
    """``projects/P/locations/L``: where ListQueues looks (every location sees every queue)."""

    project: str
    location: str

    def __str__(self) -> str:
        return f"projects/{self.project}/locations/{self.location}"

    def queue(self, queue: str) -> QueueName:
        """The name of the emulator's queue ``queue`` in this location."""
        return QueueName(self.project, self.location, queue)


@dataclass(frozen=True)
class QueueName:
    """``projects/P/locations/L/queues/Q``; ``queue`` is the emulator's queue name."""

    project: str
    location: str
    queue: str

    def __str__(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/queues/{self.queue}"

    def task(self, task: str) -> TaskName:
        """The name of the task called ``task`` in this queue."""
        return TaskName(self, task)


@dataclass(frozen=True)
class TaskName:
    """``.../queues/Q/tasks/T``; ``task`` is the emulator's task name."""

    parent: QueueName
    task: str

    def __str__(self) -> str:
        return f"{self.parent}/tasks/{self.task}"


def parse_location(text: str, field: str) -> LocationName:
    """``projects/P/locations/L``, read from the request field ``field``."""
    match = _LOCATION_RE.match(text)
    if match is None:
        raise _malformed(text, field, LOCATION_FORM)
    return LocationName(match[1], match[2])


def parse_queue(text: str, field: str) -> QueueName:
    """``projects/P/locations/L/queues/Q``; Q must be a queue name of queue.yaml's form."""
    match = _QUEUE_RE.match(text)
    if match is None:
        raise _malformed(text, field, QUEUE_FORM)
    return QueueName(match[1], match[2], _queue_id(match[3], field))


def parse_task(text: str, field: str) -> TaskName:
    """``.../queues/Q/tasks/T``; T is ``[A-Za-z0-9_-]``, at most 500 characters."""
    match = _TASK_RE.match(text)
    if match is None:
        raise _malformed(text, field, TASK_FORM)
    queue = QueueName(match[1], match[2], _queue_id(match[3], field))
    return TaskName(queue, _task_id(match[4], field))


def _queue_id(text: str, field: str) -> str:
    if not CONFIG_QUEUE_NAME_RE.match(text):
        raise invalid(field, f"queue ID {text[:120]!r} must match [A-Za-z0-9-]{{1,499}}")
    return text


def _task_id(text: str, field: str) -> str:
    if not TASK_NAME_RE.match(text):
        raise invalid(field, f"task ID {text[:120]!r} must match [A-Za-z0-9_-]{{1,500}}")
    return text


def _malformed(text: str, field: str, form: str) -> CloudTasksError:
    if not text:
        return invalid(field, f"is required ({form})")
    return invalid(field, f"{text[:200]!r} is not of the form {form}")
