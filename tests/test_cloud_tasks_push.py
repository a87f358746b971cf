"""Cloud Tasks v2 and v2beta3, the push APIs, through google-cloud-tasks' own clients on both
transports: push tasks (App Engine and HTTP targets) are created, listed, read and deleted,
queues read, paused, resumed and purged; tasks are stored, never dispatched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from emulator.faces.cloud_tasks.grpc_server import CloudTasksGrpcServer
from tests.cloud_tasks_support import (
    LOCATION,
    PROJECT,
    TRANSPORTS,
    CloudTasksWorld,
    cloud_tasks_world,
    raises_status,
    usec,
)
from tests.shim_support import PULL, PUSH, SEC, T0, LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture(
    params=[(v, t) for v in ("v2", "v2beta3") for t in TRANSPORTS], ids=lambda p: "-".join(p)
)
def ct(
    request: pytest.FixtureRequest, server: LiveServer, cloud_tasks_grpc: CloudTasksGrpcServer
) -> Iterator[CloudTasksWorld]:
    version, transport = request.param
    with cloud_tasks_world(server, cloud_tasks_grpc, version, transport) as world:
        yield world


def full(ct: CloudTasksWorld) -> Any:
    return ct.types.Task.View.FULL


def app_engine_task(ct: CloudTasksWorld, **fields: Any) -> Any:
    t = ct.types
    request = t.AppEngineHttpRequest(
        http_method=t.HttpMethod.POST,
        relative_uri="/tasks/work",
        headers={"Content-Type": "application/json"},
        body=b'{"n": 1}',
    )
    return t.Task(app_engine_http_request=request, **fields)


def http_task(ct: CloudTasksWorld, url: str = "https://example.com/hook", **fields: Any) -> Any:
    t = ct.types
    request = t.HttpRequest(url=url, http_method=t.HttpMethod.PUT, body=b"payload")
    return t.Task(http_request=request, **fields)


def test_create_and_get_an_app_engine_task(ct: CloudTasksWorld) -> None:
    deadline = duration_pb2.Duration(seconds=60)
    created = ct.client.create_task(
        parent=ct.queue(PUSH), task=app_engine_task(ct, dispatch_deadline=deadline)
    )

    assert created.name == ct.task(PUSH, "task1")
    assert usec(created.schedule_time) == T0 and usec(created.create_time) == T0
    assert created.app_engine_http_request.relative_uri == "/tasks/work"
    assert created.app_engine_http_request.body == b""  # BASIC
    got = ct.client.get_task(request={"name": created.name, "response_view": full(ct)})
    request = got.app_engine_http_request
    assert (request.http_method, request.body) == (ct.types.HttpMethod.POST, b'{"n": 1}')
    assert request.headers["Content-Type"] == "application/json"
    assert got.dispatch_deadline.total_seconds() == 60
    assert got.dispatch_count == 0


def test_create_and_get_an_http_target_task(ct: CloudTasksWorld) -> None:
    when = timestamp_pb2.Timestamp(seconds=T0 // SEC + 90)
    task = http_task(ct, name=ct.task(PUSH, "hook-1"), schedule_time=when)
    created = ct.client.create_task(request={"parent": ct.queue(PUSH), "task": task})

    got = ct.client.get_task(request={"name": created.name, "response_view": full(ct)})
    assert got.http_request.url == "https://example.com/hook"
    assert (got.http_request.http_method, got.http_request.body) == (
        ct.types.HttpMethod.PUT,
        b"payload",
    )
    assert usec(got.schedule_time) == T0 + 90 * SEC


def test_list_and_delete_push_tasks(ct: CloudTasksWorld) -> None:
    for i in range(3):
        ct.client.create_task(
            parent=ct.queue(PUSH), task=app_engine_task(ct, name=ct.task(PUSH, f"t{i}"))
        )
        ct.advance(1)

    pager = ct.client.list_tasks(request={"parent": ct.queue(PUSH), "page_size": 2})
    assert [[t.name for t in page.tasks] for page in pager.pages] == [
        [ct.task(PUSH, "t0"), ct.task(PUSH, "t1")],
        [ct.task(PUSH, "t2")],
    ]
    ct.client.delete_task(name=ct.task(PUSH, "t1"))
    assert [t.name for t in ct.client.list_tasks(parent=ct.queue(PUSH))] == [
        ct.task(PUSH, "t0"),
        ct.task(PUSH, "t2"),
    ]
    with raises_status(ct, "NOT_FOUND", "deleted"):
        ct.client.get_task(name=ct.task(PUSH, "t1"))
    with raises_status(ct, "ALREADY_EXISTS", "was deleted"):
        ct.client.create_task(
            parent=ct.queue(PUSH), task=app_engine_task(ct, name=ct.task(PUSH, "t1"))
        )


def test_push_tasks_are_stored_not_dispatched(ct: CloudTasksWorld) -> None:
    created = ct.client.create_task(parent=ct.queue(PUSH), task=http_task(ct))
    with raises_status(ct, "FAILED_PRECONDITION", "never dispatches"):
        ct.client.run_task(name=created.name)


def test_bad_push_tasks_are_invalid_argument_naming_the_field(ct: CloudTasksWorld) -> None:
    t = ct.types
    parent = ct.queue(PUSH)
    with raises_status(ct, "INVALID_ARGUMENT", "task.http_request.url"):
        ct.client.create_task(parent=parent, task=http_task(ct, url="/not/absolute"))
    with raises_status(ct, "INVALID_ARGUMENT", "task.app_engine_http_request.relative_uri"):
        request = t.AppEngineHttpRequest(relative_uri="no-slash")
        ct.client.create_task(parent=parent, task=t.Task(app_engine_http_request=request))
    with raises_status(ct, "INVALID_ARGUMENT", "http_method", "PATCH"):
        request = t.AppEngineHttpRequest(http_method=t.HttpMethod.PATCH)
        ct.client.create_task(parent=parent, task=t.Task(app_engine_http_request=request))
    with raises_status(ct, "INVALID_ARGUMENT", "body", "GET"):
        request = t.HttpRequest(url="http://h/", http_method=t.HttpMethod.GET, body=b"x")
        ct.client.create_task(parent=parent, task=t.Task(http_request=request))
    with raises_status(ct, "INVALID_ARGUMENT", "task.dispatch_deadline"):
        short = duration_pb2.Duration(seconds=1)
        ct.client.create_task(parent=parent, task=http_task(ct, dispatch_deadline=short))
    with raises_status(ct, "INVALID_ARGUMENT", "task", "http_request"):
        ct.client.create_task(parent=parent, task=t.Task())


def test_push_tasks_in_a_pull_queue_are_failed_precondition(ct: CloudTasksWorld) -> None:
    with raises_status(ct, "FAILED_PRECONDITION", "pull queue"):
        ct.client.create_task(parent=ct.queue(PULL), task=http_task(ct))


def test_get_and_list_queues(ct: CloudTasksWorld) -> None:
    queue = ct.client.get_queue(name=ct.queue(PUSH))

    assert queue.name == ct.queue(PUSH)
    assert queue.rate_limits.max_dispatches_per_second == 5.0
    assert queue.retry_config.max_attempts == -1  # unlimited
    assert queue.state == ct.types.Queue.State.RUNNING
    names = [
        q.name for q in ct.client.list_queues(parent=f"projects/{PROJECT}/locations/{LOCATION}")
    ]
    assert ct.queue(PUSH) in names and ct.queue(PULL) in names


def test_pause_resume_and_purge(ct: CloudTasksWorld) -> None:
    ct.client.create_task(parent=ct.queue(PUSH), task=http_task(ct))

    assert ct.client.pause_queue(name=ct.queue(PUSH)).state == ct.types.Queue.State.PAUSED
    assert ct.client.resume_queue(name=ct.queue(PUSH)).state == ct.types.Queue.State.RUNNING
    ct.client.purge_queue(name=ct.queue(PUSH))
    assert list(ct.client.list_tasks(parent=ct.queue(PUSH))) == []


def test_unserved_methods_are_unimplemented(ct: CloudTasksWorld) -> None:
    with raises_status(ct, "UNIMPLEMENTED", "DeleteQueue", "queue.yaml"):
        ct.client.delete_queue(name=ct.queue(PUSH))


# -- what only v2beta3 has ----------------------------------------------------------------------


@pytest.fixture(params=TRANSPORTS)
def beta3(
    request: pytest.FixtureRequest, server: LiveServer, cloud_tasks_grpc: CloudTasksGrpcServer
) -> Iterator[CloudTasksWorld]:
    with cloud_tasks_world(server, cloud_tasks_grpc, "v2beta3", request.param) as world:
        yield world


def test_v2beta3_queues_have_a_type_and_stats(beta3: CloudTasksWorld) -> None:
    t = beta3.types
    beta3.client.create_task(parent=beta3.queue(PUSH), task=http_task(beta3))

    push = beta3.client.get_queue(
        request={"name": beta3.queue(PUSH), "read_mask": {"paths": ["type", "stats"]}}
    )
    assert push.type_ == t.Queue.Type.PUSH
    assert push.stats.tasks_count == 1
    assert usec(push.stats.oldest_estimated_arrival_time) == T0
    assert push.stats.effective_execution_rate == 5.0
    pull = beta3.client.get_queue(name=beta3.queue(PULL))
    assert pull.type_ == t.Queue.Type.PULL and "stats" not in pull
    assert "app_engine_http_queue" in beta3.client.get_queue(name=beta3.queue(PUSH))


def test_v2beta3_reads_and_writes_pull_messages(beta3: CloudTasksWorld) -> None:
    t = beta3.types
    message = t.PullMessage(payload=b"data", tag="a")
    created = beta3.client.create_task(parent=beta3.queue(PULL), task=t.Task(pull_message=message))

    got = beta3.client.get_task(request={"name": created.name, "response_view": t.Task.View.FULL})
    assert (got.pull_message.payload, got.pull_message.tag) == (b"data", "a")
    assert beta3.client.get_task(name=created.name).pull_message.payload == b""


# -- batches and per-task retry configuration (what Google's SDK forwards with) -----------------


def test_batch_create_reports_each_failure_by_index(ct: CloudTasksWorld) -> None:
    t = ct.types
    ct.client.create_task(parent=ct.queue(PUSH), task=http_task(ct, name=ct.task(PUSH, "taken")))
    requests = [
        {"parent": ct.queue(PUSH), "task": http_task(ct, name=ct.task(PUSH, "a"))},
        {"parent": ct.queue(PUSH), "task": http_task(ct, name=ct.task(PUSH, "taken"))},
        {"parent": ct.queue(PUSH), "task": t.Task(http_request=t.HttpRequest(url="/relative"))},
        {"parent": ct.queue(PUSH), "task": app_engine_task(ct)},
    ]

    operation = ct.client.batch_create_tasks(
        request={"parent": ct.queue(PUSH), "requests": requests}
    )
    created = operation.result(timeout=10)
    assert [task.name for task in created.tasks] == [ct.task(PUSH, "a"), ct.task(PUSH, "task1")]
    failed = operation.metadata.failed_requests
    assert sorted(failed) == [1, 2]
    assert failed[1].code == grpc.StatusCode.ALREADY_EXISTS.value[0]
    assert "TASK_ALREADY_EXISTS" in failed[1].message
    assert failed[2].code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "task.http_request.url" in failed[2].message
    assert operation.metadata.state == type(operation.metadata).State.PARTIALLY_SUCCEEDED
    assert operation.done()


def test_batch_delete_reports_unknown_and_deleted_names(ct: CloudTasksWorld) -> None:
    for name in ("a", "b"):
        ct.client.create_task(parent=ct.queue(PUSH), task=http_task(ct, name=ct.task(PUSH, name)))
    ct.client.delete_task(name=ct.task(PUSH, "b"))
    names = [ct.task(PUSH, n) for n in ("a", "b", "never")] + [ct.task(PULL, "elsewhere")]

    operation = ct.client.batch_delete_tasks(request={"parent": ct.queue(PUSH), "names": names})
    operation.result(timeout=10)
    failed = operation.metadata.failed_requests
    assert sorted(failed) == [1, 2, 3]
    assert "TOMBSTONED_TASK" in failed[1].message and "UNKNOWN_TASK" in failed[2].message
    assert failed[3].code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert list(ct.client.list_tasks(parent=ct.queue(PUSH))) == []


def test_a_batch_on_an_unknown_queue_fails_whole(ct: CloudTasksWorld) -> None:
    request = {"parent": ct.queue("nope"), "requests": [{"task": http_task(ct)}]}
    with raises_status(ct, "NOT_FOUND", "'nope'"):
        ct.client.batch_create_tasks(request=request)
    with raises_status(ct, "INVALID_ARGUMENT", "requests", "1 to 100"):
        ct.client.batch_create_tasks(request={"parent": ct.queue(PUSH), "requests": []})


def test_a_task_keeps_its_retry_config(ct: CloudTasksWorld) -> None:
    t = ct.types
    retry = t.RetryConfig(
        max_attempts=4,
        max_retry_duration=duration_pb2.Duration(seconds=90, nanos=1000),
        min_backoff=duration_pb2.Duration(nanos=500_000_000),
        max_doublings=3,
    )
    created = ct.client.create_task(parent=ct.queue(PUSH), task=http_task(ct, retry_config=retry))

    got = ct.client.get_task(name=created.name).retry_config
    assert (got.max_attempts, got.max_doublings) == (4, 3)
    assert got.max_retry_duration.total_seconds() == 91  # whole seconds, rounded up
    assert got.min_backoff.total_seconds() == 0.5
    stored = ct.server.runtime.service.get_task(PUSH, created.name.rsplit("/", 1)[1])
    assert stored.retry_parameters is not None
    assert stored.retry_parameters.task_retry_limit == 3  # max_attempts - 1
