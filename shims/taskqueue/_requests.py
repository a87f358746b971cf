"""A ``Task`` in the emulator's vocabulary: the :class:`AddRequest` the shim sends for it.

Mirrors what the SDK's ``Queue.__FillAddPullTasksRequest`` / ``__FillAddPushTasksRequest``
put in a ``TaskQueueAddRequest`` (Google's ``appengine-python-standard``, Apache-2.0,
Copyright 2007 Google LLC): pull tasks carry payload, name, tag and ETA only (no retry
options); push tasks also carry method, URL (the queue's ``/_ah/queue/<name>`` by default),
headers, retry options and dispatch deadline. A task without ``eta`` or ``countdown`` carries
no ETA, so the emulator's clock decides it.
"""

from __future__ import annotations

from typing import Any

from emulator.domain.model import AddRequest
from emulator.domain.queue_config import QueueMode
from shims.taskqueue._errors import BadTaskStateError, InvalidEtaError
from shims.taskqueue._headers import flatten_params
from shims.taskqueue._task import Task

#: The JSON API accepts countdowns in this range; beyond it the shim sends an absolute ETA.
_MAX_SENT_COUNTDOWN = 1e12


def text(value: Any) -> str:
    """``six.ensure_text`` for the names and tags the SDK sends as bytes."""
    if type(value) is str:  # the common case first: names and tags are text
        return value
    if isinstance(value, bytes):
        return value.decode("utf8")
    if isinstance(value, str):
        return value
    raise TypeError(f"not expecting type '{type(value)}'")


def _payload_bytes(payload: Any) -> bytes:
    if type(payload) is bytes:  # the common case first
        return payload
    if payload is None:
        return b""
    if isinstance(payload, str):
        return payload.encode("utf8")
    if isinstance(payload, bytes):
        return payload
    raise TypeError(f"Task payload must be bytes, not {type(payload).__name__}")


def _eta_fields(task: Task) -> tuple[int | None, float | None]:
    """``(eta_usec, countdown_seconds)`` of the add request.

    An ETA before 1970 is refused here with ``InvalidEtaError`` (Google's stub refuses it for
    the whole batch too; the JSON API would answer a bare 400).
    """
    eta_usec, countdown = task._eta_for_add()
    if countdown is not None and abs(countdown) > _MAX_SENT_COUNTDOWN:
        eta_usec, countdown = task._eta_usec, None
    if (eta_usec if eta_usec is not None else task._eta_usec) < 0:
        raise InvalidEtaError("ETA must not be before 1970-01-01T00:00:00Z")
    return eta_usec, countdown


def add_request(task: Task, queue_url: str) -> AddRequest:
    """The request that adds ``task`` to the queue whose default URL is ``queue_url``.

    Raises:
        BadTaskStateError: a pull task without a payload.
        InvalidEtaError: an ETA before 1970.
    """
    if task.method == "PULL":
        payload = task.payload
        if payload is None:
            raise BadTaskStateError("Pull task must have a payload")
        data = _payload_bytes(payload)
        eta_usec, countdown = _eta_fields(task)  # after the payload's TypeError, as before
        return AddRequest(
            payload=data,
            name=task.name or None,
            eta_usec=eta_usec,
            countdown_seconds=countdown,
            tag=task.tag or None,
            mode=QueueMode.PULL,
        )
    options = task.retry_options
    data = _payload_bytes(task.payload) if task.payload else b""
    headers = tuple(
        (key.decode("utf8", "replace"), value.decode("utf8", "replace"))
        for key, value in flatten_params(task.headers)
    )
    eta_usec, countdown = _eta_fields(task)  # after the payload's and headers' errors
    return AddRequest(
        payload=data,
        name=task.name or None,
        mode=QueueMode.PUSH,
        method=task.method,
        url=queue_url + task.url if task.on_queue_url else task.url,
        headers=headers,
        retry_parameters=options._retry_parameters() if options else None,
        dispatch_deadline_usec=task.dispatch_deadline_usec or None,
        eta_usec=eta_usec,
        countdown_seconds=countdown,
    )
