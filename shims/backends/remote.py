"""The remote backend: the emulator's native JSON API (``/v1``, ``/_emulator``) over HTTP.

Translates between the emulator's domain types and the JSON documents of
:mod:`emulator.faces.json.api`; error bodies ``{"error": {"code": NAME, "message": ...}}``
become :class:`~emulator.domain.errors.TaskQueueError` with the same :class:`ErrorCode`, so the shim
raises exactly what it raises with the embedded backend. Transport behaviour (keep-alive,
deadlines, retries) is :mod:`shims.backends.http`'s.
"""

from __future__ import annotations

import base64
import time
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

from emulator.core import paging
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import MAX_PEEK_PAGE_SIZE
from emulator.domain.model import (
    AddRequest,
    AddResult,
    LeasedTask,
    QueueStats,
    StoredTask,
    TaskPage,
)
from emulator.domain.queue_config import QueueMode
from emulator.faces.json.codec import retry_options, retry_options_from_json
from shims.backends.http import JsonHttpClient
from shims.backends.protocol import ControlUnavailableError, QueueView
from shims.taskqueue._constants import DEFAULT_RPC_DEADLINE

Json = dict[str, Any]


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _checked(status: int, data: Any, path: str) -> Json:
    """The JSON object of a successful response; an error response raises TaskQueueError."""
    if status >= 400 or (isinstance(data, dict) and "error" in data):
        raise _error(status, data)
    if not isinstance(data, dict):
        raise TaskQueueError(ErrorCode.INTERNAL_ERROR, f"unexpected response to {path}")
    return data


def _error(status: int, body: Any) -> TaskQueueError:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return TaskQueueError(ErrorCode.INTERNAL_ERROR, f"HTTP {status} without an error body")
    name = str(error.get("code", ""))
    code = ErrorCode.__members__.get(name, ErrorCode.INTERNAL_ERROR)
    return TaskQueueError(code, str(error.get("message") or name))


# -- domain → JSON -----------------------------------------------------------------------------


def _task_json(request: AddRequest) -> Json:
    body: Json = {
        "name": request.name,
        "payload": base64.b64encode(request.payload).decode("ascii"),
        "tag": request.tag,
        "eta_usec": request.eta_usec,
        "countdown_seconds": request.countdown_seconds,
        "mode": None if request.mode is None else request.mode.label,
        "method": request.method,
        "url": request.url,
        "headers": [list(pair) for pair in request.headers] or None,
        "retry_options": retry_options(request.retry_parameters)
        if request.retry_parameters is not None
        else None,
        "dispatch_deadline_usec": request.dispatch_deadline_usec,
    }
    return {key: value for key, value in body.items() if value is not None}


# -- JSON → domain -----------------------------------------------------------------------------


def _queue_stats(body: Json) -> QueueStats:
    return QueueStats(
        queue=body["queue"],
        tasks=body.get("tasks", 0),
        oldest_eta_usec=body.get("oldest_eta_usec"),
        leased_last_minute=body.get("leased_last_minute"),
        leased_last_hour=body.get("leased_last_hour"),
        in_flight=body.get("in_flight"),
        enforced_rate=body.get("enforced_rate"),
        paused=bool(body.get("paused", False)),
        exists=bool(body.get("exists", True)),
    )


def _queue_view(body: Json) -> QueueView:
    acl = body.get("acl") or []
    return QueueView(
        name=body["name"],
        mode=body["mode"],
        rate=body.get("rate"),
        bucket_size=body.get("bucket_size"),
        acl_user_emails=tuple(a["user_email"] for a in acl if a.get("user_email")) if acl else None,
        retry_parameters=retry_options_from_json(body.get("retry_parameters"), "retry_parameters"),
        stats=_queue_stats(body["stats"]),
    )


def _stored_task(body: Json) -> StoredTask:
    return StoredTask(
        queue=body["queue"],
        name=body["name"],
        eta_usec=body["eta_usec"],
        payload=base64.b64decode(body.get("payload") or ""),
        tag=body.get("tag"),
        retry_count=body.get("retry_count", 0),
        created_usec=body.get("created_usec", 0),
        mode=QueueMode.PULL if body.get("mode") == "pull" else QueueMode.PUSH,
        method=body.get("method"),
        url=body.get("url"),
        headers=tuple((str(k), str(v)) for k, v in body.get("headers") or ()),
        retry_parameters=retry_options_from_json(body.get("retry_options"), "retry_options"),
        dispatch_deadline_usec=body.get("dispatch_deadline_usec"),
        leased_at_usec=body.get("leased_at_usec"),
    )


class RemoteBackend:
    """A :class:`~shims.backends.protocol.ControlledBackend` on the emulator at ``host:port``."""

    def __init__(self, address: str) -> None:
        self._http = JsonHttpClient(address)
        self._clock_mirror: Callable[[], int] | None = None

    @property
    def description(self) -> str:
        return self._http.base_url

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        deadline: float = DEFAULT_RPC_DEADLINE,
        idempotent: bool,
        call_name: str,
    ) -> Json:
        status, data = self._http.request(
            method, path, body, deadline=deadline, idempotent=idempotent, call_name=call_name
        )
        return _checked(status, data, path)

    # -- the RPCs ------------------------------------------------------------------------------

    def add(
        self, queue: str, requests: Sequence[AddRequest], *, deadline: float
    ) -> list[AddResult]:
        data = self._call(
            "POST",
            f"/v1/queues/{_quote(queue)}/tasks",
            {"tasks": [_task_json(r) for r in requests]},
            deadline=deadline,
            idempotent=False,
            call_name="BulkAdd",
        )
        return [
            AddResult(
                code=ErrorCode.__members__.get(item["code"], ErrorCode.INTERNAL_ERROR),
                name=item.get("name"),
                message=item.get("message", ""),
                eta_usec=item.get("eta_usec"),
            )
            for item in data["tasks"]
        ]

    def lease(
        self,
        queue: str,
        lease_seconds: float,
        max_tasks: int,
        *,
        group_by_tag: bool,
        tag: str | None,
        deadline: float,
    ) -> list[LeasedTask]:
        body: Json = {"lease_seconds": lease_seconds, "max_tasks": max_tasks}
        if group_by_tag:
            body["group_by_tag"] = True
        if tag is not None:
            body["tag"] = tag
        data = self._call(
            "POST",
            f"/v1/queues/{_quote(queue)}/lease",
            body,
            deadline=deadline,
            idempotent=False,
            call_name="QueryAndOwnTasks",
        )
        return [
            LeasedTask(
                name=item["name"],
                eta_usec=item["eta_usec"],
                retry_count=item["retry_count"],
                payload=base64.b64decode(item.get("payload") or ""),
                tag=item.get("tag"),
            )
            for item in data["tasks"]
        ]

    def modify_lease(
        self, queue: str, task_name: str, eta_usec: int, lease_seconds: float, *, deadline: float
    ) -> int:
        data = self._call(
            "POST",
            f"/v1/queues/{_quote(queue)}/tasks/{_quote(task_name)}/lease",
            {"eta_usec": eta_usec, "lease_seconds": lease_seconds},
            deadline=deadline,
            idempotent=False,
            call_name="ModifyTaskLease",
        )
        return int(data["eta_usec"])

    def delete(self, queue: str, names: Sequence[str], *, deadline: float) -> list[ErrorCode]:
        data = self._call(
            "POST",
            f"/v1/queues/{_quote(queue)}/delete",
            {"names": list(names)},
            deadline=deadline,
            idempotent=False,
            call_name="Delete",
        )
        return [
            ErrorCode.__members__.get(item["code"], ErrorCode.INTERNAL_ERROR)
            for item in data["results"]
        ]

    def purge(self, queue: str, *, deadline: float) -> None:
        self._call(
            "POST",
            f"/v1/queues/{_quote(queue)}/purge",
            deadline=deadline,
            idempotent=True,
            call_name="PurgeQueue",
        )

    def stats(self, queues: Sequence[str], *, deadline: float) -> list[QueueStats]:
        query = urllib.parse.urlencode([("queue", name) for name in queues])
        data = self._call(
            "GET",
            f"/v1/stats?{query}",
            deadline=deadline,
            idempotent=True,
            call_name="FetchQueueStats",
        )
        return [_queue_stats(item) for item in data["stats"]]

    def close(self) -> None:
        self._http.close()

    # -- test control --------------------------------------------------------------------------

    def _control(self, path: str, body: Any = None, *, idempotent: bool = True) -> Json:
        """POST to ``/_emulator<path>``; a 404 route error means test control is disabled."""
        status, data = self._http.request(
            "POST",
            f"/_emulator{path}",
            body,
            deadline=DEFAULT_RPC_DEADLINE,
            idempotent=idempotent,
            call_name="TestControl",
        )
        if status == 404 and _error(status, data).code is ErrorCode.INVALID_REQUEST:
            raise self._no_test_control()
        return _checked(status, data, path)

    def _no_test_control(self) -> ControlUnavailableError:
        return ControlUnavailableError(
            f"the task queue emulator at {self.description} does not have test control "
            "enabled; start it with --enable-test-control (or TASKQUEUE_EMULATOR_TEST_CONTROL=1)"
        )

    def now_usec(self) -> int:
        data = self._call("GET", "/v1/time", idempotent=True, call_name="Time")
        return int(data["now_usec"])

    def set_clock(self, now_usec: int) -> None:
        self._mirror(self._control("/clock", {"now_usec": now_usec}))

    def advance_clock(self, seconds: float) -> None:
        self._mirror(self._control("/clock", {"advance_seconds": seconds}, idempotent=False))

    def use_system_clock(self) -> None:
        self._control("/clock", {"system": True})
        self._clock_mirror = None

    def _mirror(self, state: Json) -> None:
        """Follow the server's clock locally: frozen at ``now_usec``, or the wall clock plus
        the server's offset."""
        now = int(state["now_usec"])
        if state.get("frozen"):
            self._clock_mirror = lambda: now
        else:
            offset = now - time.time_ns() // 1000
            self._clock_mirror = lambda: time.time_ns() // 1000 + offset

    def client_clock(self) -> Callable[[], int] | None:
        return self._clock_mirror

    def reset(self) -> None:
        self._control("/reset")

    def queues(self) -> list[QueueView]:
        data = self._call("GET", "/v1/queues", idempotent=True, call_name="FetchQueues")
        return sorted((_queue_view(q) for q in data["queues"]), key=lambda view: view.name)

    def tasks(self, queue: str) -> list[StoredTask]:
        return list(paging.iterate_tasks(lambda token: self._peek(queue, token)))

    def _peek(self, queue: str, page_token: str | None) -> TaskPage:
        """One page of ``queue``'s whole listing, as large as a page can be."""
        query = {"limit": str(MAX_PEEK_PAGE_SIZE)} | (
            {"page_token": page_token} if page_token else {}
        )
        data = self._call(
            "GET",
            f"/v1/queues/{_quote(queue)}/tasks?{urllib.parse.urlencode(query)}",
            idempotent=True,
            call_name="QueryTasks",
        )
        return TaskPage(
            tasks=[_stored_task(item) for item in data["tasks"]],
            next_page_token=data.get("next_page_token") or None,
            now_usec=int(data.get("now_usec", 0)),
        )

    def flush_queue(self, queue: str) -> None:
        self._control(f"/queues/{_quote(queue)}/flush")

    def forget_task(self, queue: str, name: str) -> bool:
        data = self._control(f"/queues/{_quote(queue)}/tasks/{_quote(name)}/forget")
        return bool(data.get("deleted"))
