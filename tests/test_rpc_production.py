"""The production behaviours over ``/rpc_http``: what Google's SDK and Go receive.

An injected taskqueue code is an ``application_error`` with the code's number (the SDK raises
its exception class; a fault on BulkAdd fails the whole call, as the SDK's result hook
expects), a deadline is an ``rpc_error`` DEADLINE_EXCEEDED (the SDK raises
``apiproxy_errors.DeadlineExceededError``), and the rate limit answers an empty task list.
The second half runs Google's own SDK through :mod:`shims.sdk.stub` against a live server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from google.appengine.api import apiproxy_stub_map, taskqueue
from google.appengine.api.taskqueue import taskqueue_service_bytes_pb2 as sdk
from google.appengine.ext.remote_api import remote_api_bytes_pb2 as sdk_remote
from google.appengine.runtime import apiproxy_errors

from emulator.app import runtime_app
from emulator.domain.faults import FaultCall, FaultRule
from emulator.domain.production import ProductionOptions
from emulator.server import ServerThread
from emulator.wiring import Runtime, build_runtime
from shims.backends.remote import RemoteBackend
from shims.sdk.stub import register_sdk_stub
from tests.rpc_support import (
    PULL,
    T0_USEC,
    FakeTime,
    envelope,
    post_rpc,
    sdk_time,
    write_queue_yaml,
)

TRANSIENT_ERROR = sdk.TaskQueueServiceError.TRANSIENT_ERROR
DEADLINE = sdk_remote.RpcError.DEADLINE_EXCEEDED


def _runtime(tmp_path: Path, production: ProductionOptions | None = None) -> Runtime:
    runtime = build_runtime(str(write_queue_yaml(tmp_path)), ":memory:", production=production)
    runtime.clock.freeze(T0_USEC)
    return runtime


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    built = _runtime(tmp_path)
    yield built
    built.close()


@pytest.fixture
def client(runtime: Runtime) -> FlaskClient:
    return runtime_app(runtime).test_client()


def _add(*names: str) -> sdk.TaskQueueBulkAddRequest:
    request = sdk.TaskQueueBulkAddRequest()
    for name in names:
        add = request.add_request.add()
        add.queue_name, add.task_name, add.eta_usec = PULL.encode(), name.encode(), T0_USEC
        add.mode, add.body = sdk.TaskQueueMode.PULL, b"x"
    return request


def _lease(max_tasks: int = 10) -> sdk.TaskQueueQueryAndOwnTasksRequest:
    return sdk.TaskQueueQueryAndOwnTasksRequest(
        queue_name=PULL.encode(), lease_seconds=60, max_tasks=max_tasks
    )


def _leased(client: FlaskClient) -> list[str]:
    reply = post_rpc(client, envelope("QueryAndOwnTasks", _lease()))
    assert not reply.HasField("application_error") and not reply.HasField("rpc_error")
    response = sdk.TaskQueueQueryAndOwnTasksResponse.FromString(reply.response)
    return [t.task_name.decode() for t in response.task]


def test_an_injected_code_is_an_application_error(client: FlaskClient, runtime: Runtime) -> None:
    post_rpc(client, envelope("BulkAdd", _add("t")))
    runtime.faults.arm(FaultRule(FaultCall.LEASE, "TRANSIENT_ERROR"))

    reply = post_rpc(client, envelope("QueryAndOwnTasks", _lease()))

    assert reply.application_error.code == TRANSIENT_ERROR
    assert "injected fault: lease on queue 'pullq'" in reply.application_error.detail
    assert _leased(client) == ["t"]


def test_an_injected_deadline_is_an_rpc_error(client: FlaskClient, runtime: Runtime) -> None:
    runtime.faults.arm(FaultRule(FaultCall.STATS, "DEADLINE_EXCEEDED"))

    stats = sdk.TaskQueueFetchQueueStatsRequest(queue_name=[PULL.encode()])
    reply = post_rpc(client, envelope("FetchQueueStats", stats))

    assert not reply.HasField("application_error")
    assert reply.rpc_error.code == DEADLINE
    assert "DEADLINE_EXCEEDED" in reply.rpc_error.detail


@pytest.mark.parametrize("error", ["TRANSIENT_ERROR", "UNKNOWN_QUEUE"])
def test_a_fault_on_bulk_add_and_delete_fails_the_whole_call(
    client: FlaskClient, runtime: Runtime, error: str
) -> None:
    runtime.faults.arm(FaultRule(FaultCall.ADD, error))
    reply = post_rpc(client, envelope("BulkAdd", _add("a", "b")))
    if error == "TRANSIENT_ERROR":
        assert reply.application_error.code == TRANSIENT_ERROR
    else:  # a queue-level code is reported per task, as the stub reports it
        results = sdk.TaskQueueBulkAddResponse.FromString(reply.response).taskresult
        assert [r.result for r in results] == [sdk.TaskQueueServiceError.UNKNOWN_QUEUE] * 2
    assert runtime.service.stats([PULL])[0].tasks == 0

    post_rpc(client, envelope("BulkAdd", _add("a")))
    runtime.faults.arm(FaultRule(FaultCall.DELETE, "TRANSIENT_ERROR"))
    delete = sdk.TaskQueueDeleteRequest(queue_name=PULL.encode(), task_name=[b"a"])
    assert post_rpc(client, envelope("Delete", delete)).application_error.code == TRANSIENT_ERROR
    assert runtime.service.stats([PULL])[0].tasks == 1


def test_the_rate_limit_answers_an_empty_lease(tmp_path: Path) -> None:
    runtime = _runtime(tmp_path, ProductionOptions(lease_rate_limit=1))
    client = runtime_app(runtime).test_client()
    post_rpc(client, envelope("BulkAdd", _add("a", "b")))

    first = post_rpc(client, envelope("QueryAndOwnTasks", _lease(1)))
    second = post_rpc(client, envelope("QueryAndOwnTasks", _lease(1)))

    assert len(sdk.TaskQueueQueryAndOwnTasksResponse.FromString(first.response).task) == 1
    assert not second.HasField("application_error")
    assert len(sdk.TaskQueueQueryAndOwnTasksResponse.FromString(second.response).task) == 0
    assert runtime.service.stats([PULL])[0].rate_limited_leases_last_minute == 1
    runtime.close()


# -- Google's SDK, unmodified ------------------------------------------------------------------


@pytest.fixture
def sdk_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RemoteBackend]:
    """A live emulator (rate limit 2/s, 1 s visibility delay) with Google's SDK routed to it;
    returns the test-control client."""
    runtime = _runtime(
        tmp_path, ProductionOptions(lease_rate_limit=2, add_visibility_delay_seconds=1)
    )
    server = ServerThread(runtime_app(runtime, enable_test_control=True)).start()
    monkeypatch.setattr(apiproxy_stub_map, "apiproxy", apiproxy_stub_map.APIProxyStubMap())
    monkeypatch.setenv("HTTP_HOST", "localhost")
    register_sdk_stub(server.address)
    control = RemoteBackend(server.address)
    try:
        with sdk_time(FakeTime()):
            yield control
    finally:
        control.close()
        server.stop()
        runtime.close()


@pytest.mark.e2e
def test_googles_sdk_raises_its_own_exceptions_and_sees_the_limits(
    sdk_server: RemoteBackend,
) -> None:
    queue = taskqueue.Queue(PULL)
    tasks: list[Any] = [taskqueue.Task(payload=b"x", method="PULL") for _ in range(3)]

    sdk_server.fail_next(FaultRule(FaultCall.ADD, "TRANSIENT_ERROR"))
    with pytest.raises(taskqueue.TransientError, match="injected fault: add"):
        queue.add(tasks)
    assert not any(t.was_enqueued for t in tasks)
    queue.add(tasks)
    assert queue.lease_tasks(60, 10) == []  # the visibility delay

    sdk_server.advance_clock(1)
    sdk_server.fail_next(FaultRule(FaultCall.LEASE, "DEADLINE_EXCEEDED"))
    with pytest.raises(apiproxy_errors.DeadlineExceededError) as caught:
        queue.lease_tasks(60, 1)
    assert "QueryAndOwnTasks" in str(caught.value) and "injected fault" in str(caught.value)

    assert [len(queue.lease_tasks(60, 1)) for _ in range(3)] == [1, 1, 0]  # 2 a second
    assert sdk_server.stats([PULL], deadline=10)[0].rate_limited_leases_last_minute == 1
    assert taskqueue.QueueStatistics.fetch(PULL).executed_last_minute == 2
