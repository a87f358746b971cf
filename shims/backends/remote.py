"""The remote backend: the emulator's native JSON API (``/v1``, ``/_emulator``) over HTTP.

Every body is written and read by :mod:`emulator.faces.json.codec`, the module the server's
JSON face uses, so both sides speak the same format. Error bodies
``{"error": {"code": NAME, "message": ...}}`` become
:class:`~emulator.domain.errors.TaskQueueError` with the same :class:`ErrorCode`, so the shim
raises exactly what it raises with the embedded backend; an answer the codec cannot read is
``INTERNAL_ERROR``. An error body with the code ``DEADLINE_EXCEEDED`` (HTTP 504: the emulator
failed the call with a deadline, e.g. an injected fault) raises
``apiproxy_errors.DeadlineExceededError``, as the embedded backend does. Transport behaviour
(keep-alive, deadlines, retries) is :mod:`shims.backends.http`'s.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from emulator.core import paging
from emulator.domain.errors import CallDeadlineExceeded, ErrorCode, TaskQueueError
from emulator.domain.faults import FaultReport, FaultRule
from emulator.domain.limits import MAX_PEEK_PAGE_SIZE
from emulator.domain.model import (
    AddRequest,
    AddResult,
    LeasedTask,
    QueueStats,
    StoredTask,
    TaskPage,
)
from emulator.faces.json import codec, text
from shims import apiproxy_errors
from shims.backends.http import ConnectionFailed, DeadlineExceeded, HttpClient
from shims.backends.protocol import ControlUnavailableError, QueueView, deadline_exceeded
from shims.taskqueue._constants import DEFAULT_RPC_DEADLINE

T = TypeVar("T")


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _json_answer(status: int, data: bytes, base_url: str) -> Any:
    """The decoded body of an answer (empty: ``{}``); one that is not JSON is an error:
    TRANSIENT_ERROR from a failing server or proxy (5xx), INTERNAL_ERROR otherwise."""
    try:
        return text.loads_answer(data) if data.strip() else {}
    except (ValueError, UnicodeDecodeError):
        code = ErrorCode.TRANSIENT_ERROR if status >= 500 else ErrorCode.INTERNAL_ERROR
        snippet = data[:200].decode("utf8", "replace")
        raise TaskQueueError(
            code, f"{base_url} answered HTTP {status} with a body that is not JSON: {snippet!r}"
        ) from None


def _ignore(body: object) -> None:
    """For answers whose body (a JSON object) says nothing the caller needs."""
    codec.Fields(body, "", None)


class RemoteBackend:
    """A :class:`~shims.backends.protocol.ControlledBackend` on the emulator at ``host:port``."""

    def __init__(self, address: str) -> None:
        self._http = HttpClient(address)
        self._clock_mirror: Callable[[], int] | None = None

    @property
    def description(self) -> str:
        return self._http.base_url

    def _call(
        self,
        method: str,
        path: str,
        decode: Callable[[object], T],
        body: object = None,
        *,
        deadline: float = DEFAULT_RPC_DEADLINE,
        idempotent: bool,
        call_name: str,
    ) -> T:
        status, data = self._send(
            method, path, body, deadline=deadline, idempotent=idempotent, call_name=call_name
        )
        return self._decoded(status, data, path, decode, call_name)

    def _send(
        self,
        method: str,
        path: str,
        body: object,
        *,
        deadline: float,
        idempotent: bool,
        call_name: str,
    ) -> tuple[int, Any]:
        """One request with a JSON body (if any); ``(status, decoded JSON answer)``.

        ``call_name`` names the operation in error messages (e.g. ``QueryAndOwnTasks``).
        """
        payload = None if body is None else text.dumps(body)
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        try:
            reply = self._http.request(
                method, path, payload, headers, deadline=deadline, idempotent=idempotent
            )
        except DeadlineExceeded:
            raise apiproxy_errors.DeadlineExceededError(
                f"The API call taskqueue.{call_name}() took too long to respond and was "
                f"cancelled (deadline {deadline:g}s, emulator at {self.description})."
            ) from None
        except ConnectionFailed as failure:
            raise self._transient(call_name, failure) from None
        return reply.status, _json_answer(reply.status, reply.body, self.description)

    def _transient(self, call_name: str, failure: ConnectionFailed) -> TaskQueueError:
        cause = failure.__cause__
        if failure.lost:
            message = (
                f"the connection to the task queue emulator at {self.description} was lost "
                f"during taskqueue.{call_name}() ({cause!r}); the call may or may not have "
                "taken effect"
            )
        else:
            message = f"cannot reach the task queue emulator at {self.description}: {cause}"
        return TaskQueueError(ErrorCode.TRANSIENT_ERROR, message)

    def _decoded(
        self, status: int, data: Any, path: str, decode: Callable[[object], T], call_name: str
    ) -> T:
        """``decode(data)`` for a successful answer; an error answer raises its error."""
        if status >= 400 or (isinstance(data, dict) and "error" in data):
            error = codec.error_from_json(status, data)
            if isinstance(error, CallDeadlineExceeded):
                raise deadline_exceeded(call_name, error.message)
            raise error
        try:
            return decode(data)
        except TaskQueueError as exc:
            raise TaskQueueError(
                ErrorCode.INTERNAL_ERROR,
                f"unexpected response from {self.description}{path}: {exc.message}",
            ) from None

    # -- the RPCs ------------------------------------------------------------------------------

    def add(
        self, queue: str, requests: Sequence[AddRequest], *, deadline: float
    ) -> list[AddResult]:
        return self._call(
            "POST",
            f"/v1/queues/{_quote(queue)}/tasks",
            codec.add_results_from_json,
            codec.add_body_to_json(requests),
            deadline=deadline,
            idempotent=False,
            call_name="BulkAdd",
        )

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
        asked = codec.LeaseRequest(lease_seconds, max_tasks, group_by_tag=group_by_tag, tag=tag)
        return self._call(
            "POST",
            f"/v1/queues/{_quote(queue)}/lease",
            codec.leased_tasks_from_json,
            codec.lease_request_to_json(asked),
            deadline=deadline,
            idempotent=False,
            call_name="QueryAndOwnTasks",
        )

    def modify_lease(
        self, queue: str, task_name: str, eta_usec: int, lease_seconds: float, *, deadline: float
    ) -> int:
        return self._call(
            "POST",
            f"/v1/queues/{_quote(queue)}/tasks/{_quote(task_name)}/lease",
            codec.modified_lease_from_json,
            codec.modify_lease_request_to_json(codec.ModifyLeaseRequest(eta_usec, lease_seconds)),
            deadline=deadline,
            idempotent=False,
            call_name="ModifyTaskLease",
        )

    def delete(self, queue: str, names: Sequence[str], *, deadline: float) -> list[ErrorCode]:
        return self._call(
            "POST",
            f"/v1/queues/{_quote(queue)}/delete",
            codec.delete_results_from_json,
            codec.delete_request_to_json(names),
            deadline=deadline,
            idempotent=False,
            call_name="Delete",
        )

    def purge(self, queue: str, *, deadline: float) -> None:
        self._call(
            "POST",
            f"/v1/queues/{_quote(queue)}/purge",
            _ignore,
            deadline=deadline,
            idempotent=True,
            call_name="PurgeQueue",
        )

    def stats(self, queues: Sequence[str], *, deadline: float) -> list[QueueStats]:
        query = urllib.parse.urlencode([("queue", name) for name in queues])
        return self._call(
            "GET",
            f"/v1/stats?{query}",
            codec.stats_from_json,
            deadline=deadline,
            idempotent=True,
            call_name="FetchQueueStats",
        )

    def close(self) -> None:
        self._http.close()

    # -- test control --------------------------------------------------------------------------

    def _control(
        self,
        path: str,
        decode: Callable[[object], T],
        body: object = None,
        *,
        idempotent: bool,
        method: str = "POST",
    ) -> T:
        """``method`` (POST) ``/_emulator<path>``; a 404 route error means test control is
        disabled."""
        status, data = self._send(
            method,
            f"/_emulator{path}",
            body,
            deadline=DEFAULT_RPC_DEADLINE,
            idempotent=idempotent,
            call_name="TestControl",
        )
        if status == 404 and codec.error_from_json(status, data).code is ErrorCode.INVALID_REQUEST:
            raise self._no_test_control()
        return self._decoded(status, data, path, decode, "TestControl")

    def _no_test_control(self) -> ControlUnavailableError:
        return ControlUnavailableError(
            f"the task queue emulator at {self.description} does not have test control "
            "enabled; start it with --enable-test-control (or TASKQUEUE_EMULATOR_TEST_CONTROL=1)"
        )

    def now_usec(self) -> int:
        return self._call(
            "GET", "/v1/time", codec.time_from_json, idempotent=True, call_name="Time"
        )

    def set_clock(self, now_usec: int) -> None:
        body = {"now_usec": now_usec}
        self._mirror(self._control("/clock", codec.clock_state_from_json, body, idempotent=True))

    def advance_clock(self, seconds: float) -> None:
        body = {"advance_seconds": seconds}
        self._mirror(self._control("/clock", codec.clock_state_from_json, body, idempotent=False))

    def use_system_clock(self) -> None:
        self._control("/clock", codec.clock_state_from_json, {"system": True}, idempotent=True)
        self._clock_mirror = None

    def _mirror(self, state: codec.ClockState) -> None:
        """Follow the server's clock locally: frozen at ``now_usec``, or the wall clock plus
        the server's offset."""
        now = state.now_usec
        if state.frozen:
            self._clock_mirror = lambda: now
        else:
            offset = now - time.time_ns() // 1000
            self._clock_mirror = lambda: time.time_ns() // 1000 + offset

    def client_clock(self) -> Callable[[], int] | None:
        return self._clock_mirror

    def reset(self) -> None:
        self._control("/reset", _ignore, idempotent=True)

    def queues(self) -> list[QueueView]:
        queues = self._call(
            "GET", "/v1/queues", codec.queues_from_json, idempotent=True, call_name="FetchQueues"
        )
        return sorted((QueueView.of(c, s) for c, s in queues), key=lambda view: view.name)

    def tasks(self, queue: str) -> list[StoredTask]:
        return list(paging.iterate_tasks(lambda token: self._peek(queue, token)))

    def _peek(self, queue: str, page_token: str | None) -> TaskPage:
        """One page of ``queue``'s whole listing, as large as a page can be."""
        query = {"limit": str(MAX_PEEK_PAGE_SIZE)}
        if page_token:
            query["page_token"] = page_token
        return self._call(
            "GET",
            f"/v1/queues/{_quote(queue)}/tasks?{urllib.parse.urlencode(query)}",
            codec.task_page_from_json,
            idempotent=True,
            call_name="QueryTasks",
        )

    def flush_queue(self, queue: str) -> None:
        self._control(f"/queues/{_quote(queue)}/flush", _ignore, idempotent=True)

    def forget_task(self, queue: str, name: str) -> bool:
        path = f"/queues/{_quote(queue)}/tasks/{_quote(name)}/forget"
        return self._control(path, codec.forgotten_from_json, idempotent=True)

    def fail_next(self, rule: FaultRule) -> None:
        body = codec.fault_rule_to_json(rule)
        self._control("/faults", codec.fault_report_from_json, body, idempotent=False)

    def fault_report(self) -> FaultReport:
        return self._control("/faults", codec.fault_report_from_json, idempotent=True, method="GET")

    def clear_faults(self) -> None:
        self._control("/faults", codec.fault_report_from_json, idempotent=True, method="DELETE")
