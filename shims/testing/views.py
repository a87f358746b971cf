"""Stored tasks and queues in the shapes testbed's ``TaskQueueServiceStub`` helpers return.

Follows ``QueryTasksResponseToDict``, ``ConvertTaskDictToTaskObject`` and
``_Group.GetQueuesAsDicts`` of Google's ``taskqueue_stub.py`` (Apache-2.0, Copyright 2007
Google LLC), quirks included: pull tasks report method ``'POST'`` and the ``host`` header
the stub injects, ``body`` is base64, ``eta`` is cut to whole seconds, ``Content-Length`` is
the length of the base64 text. Differences: ``eta_delta`` is relative to the emulator's
clock (the stub uses the wall clock) and there is no ``add_request_pb``.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

from emulator.domain.limits import DEFAULT_BUCKET_SIZE, DEFAULT_QUEUE, DEFAULT_QUEUE_RATE
from emulator.domain.model import StoredTask
from emulator.domain.queue_config import SDK_RETRY_FIELD_NAMES, QueueMode, RetryParameters
from shims.backends.protocol import QueueView
from shims.taskqueue._constants import _UTC
from shims.taskqueue._task import Task

TIME_STR_FMT = "%Y/%m/%d %H:%M:%S"
BUILT_IN_HEADERS = frozenset(
    [
        "x-appengine-queuename",
        "x-appengine-taskname",
        "x-appengine-taskexecutioncount",
        "x-appengine-taskpreviousresponse",
        "x-appengine-taskretrycount",
        "x-appengine-tasketa",
        "x-appengine-development-payload",
        "content-length",
    ]
)
#: The header Google's stub adds to every add request without one (``<module>.<server>``).
STUB_HOST_HEADER = ("host", "default.localhost")
_EPOCH = datetime.datetime(1970, 1, 1)


def _utc(eta_usec: int) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(microseconds=eta_usec)


def format_eta(eta_usec: int) -> str:
    """``'2026/01/01 00:00:00'`` (UTC, whole seconds)."""
    return _utc(eta_usec).strftime(TIME_STR_FMT)


def eta_delta(eta_usec: int, now_usec: int) -> str:
    """``'0:00:06 ago'`` or ``'0:00:06 from now'`` (microseconds dropped)."""
    delta = _utc(eta_usec) - _utc(now_usec)
    if delta > datetime.timedelta(0):
        return f"{datetime.timedelta(days=delta.days, seconds=delta.seconds)} from now"
    delta = -delta
    return f"{datetime.timedelta(days=delta.days, seconds=delta.seconds)} ago"


def _headers(task: StoredTask, body: bytes) -> list[tuple[str, str]]:
    stored = list(task.headers) if task.mode is QueueMode.PUSH else [STUB_HOST_HEADER]
    headers = [(k, v) for k, v in stored if k.lower() not in BUILT_IN_HEADERS]
    headers += [
        ("X-AppEngine-QueueName", task.queue),
        ("X-AppEngine-TaskName", task.name),
        ("X-AppEngine-TaskRetryCount", str(task.retry_count)),
        ("X-AppEngine-TaskETA", str(task.eta_usec / 1e6)),
        ("X-AppEngine-Development-Payload", "1"),
        ("Content-Length", str(len(body))),
    ]
    if "content-type" not in {key.lower() for key, _ in headers}:
        headers.append(("Content-Type", "application/octet-stream"))
    headers.append(("X-AppEngine-TaskExecutionCount", str(task.retry_count)))
    return headers


def task_dict(task: StoredTask, now_usec: int) -> dict[str, Any]:
    """One task as ``TaskQueueServiceStub.GetTasks`` shows it."""
    body = base64.b64encode(task.payload)
    result: dict[str, Any] = {
        "name": task.name,
        "queue_name": task.queue,
        "url": task.url or "",
        "method": (task.method or "POST") if task.mode is QueueMode.PUSH else "POST",
        "eta": format_eta(task.eta_usec),
        "eta_usec": task.eta_usec,
        "eta_delta": eta_delta(task.eta_usec, now_usec),
        "body": body,
        "creation_time_usec": task.created_usec,
    }
    if task.dispatch_deadline_usec is not None:
        result["dispatch_deadline_usec"] = task.dispatch_deadline_usec
    result["headers"] = _headers(task, body)
    return result


def task_object(task: dict[str, Any]) -> Task:
    """``ConvertTaskDictToTaskObject``: a :class:`Task` for a :func:`task_dict` (size is not
    checked, so large pull payloads convert too)."""
    payload = base64.b64decode(task["body"])
    headers = dict(task["headers"])
    headers["Content-Length"] = str(len(payload))
    eta = datetime.datetime.strptime(task["eta"], TIME_STR_FMT).replace(tzinfo=_UTC)
    return Task(
        name=task["name"],
        method=task["method"],
        url=task["url"],
        headers=headers,
        payload=payload,
        eta=eta,
        _size_check=False,
    )


def _retry_dict(params: RetryParameters) -> dict[str, Any]:
    return {SDK_RETRY_FIELD_NAMES[key]: value for key, value in params.to_dict().items()}


def _max_rate(view: QueueView) -> str:
    if view.name == DEFAULT_QUEUE and view.rate == DEFAULT_QUEUE_RATE:
        return "5.00/s"  # the stub's built-in default queue
    return view.rate or ""


def queue_dict(view: QueueView, now_usec: int) -> dict[str, Any]:
    """One queue as ``TaskQueueServiceStub.GetQueues`` shows it (``acl``: user emails)."""
    oldest = view.stats.oldest_eta_usec
    result: dict[str, Any] = {
        "name": view.name,
        "bucket_size": view.bucket_size or DEFAULT_BUCKET_SIZE,
        "max_rate": _max_rate(view),
        "mode": view.mode,
        "acl": list(view.acl_user_emails) if view.acl_user_emails is not None else None,
        "oldest_task": format_eta(oldest) if oldest is not None else "",
        "eta_delta": eta_delta(oldest, now_usec) if oldest is not None else "",
        "tasks_in_queue": view.stats.tasks,
    }
    if view.retry_parameters is not None:
        result["retry_parameters"] = _retry_dict(view.retry_parameters)
    return result
