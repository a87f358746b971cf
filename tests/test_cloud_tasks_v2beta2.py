"""Cloud Tasks v2beta2, the pull API, through google-cloud-tasks' own client on both
transports (gRPC and REST) against a live emulator on a frozen clock: every served method,
the lease-token rules, paging, views and Google's status codes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core import exceptions
from google.protobuf import timestamp_pb2

from emulator.faces.cloud_tasks.grpc_server import CloudTasksGrpcServer
from tests.cloud_tasks_support import (
    LOCATION,
    PROJECT,
    TRANSPORTS,
    CloudTasksWorld,
    cloud_tasks_world,
    raises_status,
    seconds,
    usec,
)
from tests.shim_support import LIMITED, PULL, PULL_B, PUSH, SEC, T0, LiveServer

pytestmark = pytest.mark.e2e


@pytest.fixture(params=TRANSPORTS)
def ct(
    request: pytest.FixtureRequest, server: LiveServer, cloud_tasks_grpc: CloudTasksGrpcServer
) -> Iterator[CloudTasksWorld]:
    with cloud_tasks_world(server, cloud_tasks_grpc, "v2beta2", request.param) as world:
        yield world


def create(ct: CloudTasksWorld, queue: str = PULL, **fields: Any) -> Any:
    """Create a pull task (payload and tag from ``fields``) and return it."""
    t = ct.types
    message = t.PullMessage(payload=fields.pop("payload", b"p"), tag=fields.pop("tag", ""))
    task = t.Task(pull_message=message, **fields)
    return ct.client.create_task(parent=ct.queue(queue), task=task)


def lease(ct: CloudTasksWorld, queue: str = PULL, lease_s: float = 60, **request: Any) -> list[Any]:
    body = {"parent": ct.queue(queue), "max_tasks": 10, "lease_duration": seconds(lease_s)}
    return list(ct.client.lease_tasks(request={**body, **request}).tasks)


def short(task: Any) -> str:
    return str(task.name).rsplit("/", 1)[-1]


# -- CreateTask ---------------------------------------------------------------------------------


def test_create_names_the_task_and_schedules_it_now(ct: CloudTasksWorld) -> None:
    task = create(ct, payload=b"data", tag="user-42")

    assert task.name == ct.task(PULL, "task1")
    assert usec(task.schedule_time) == T0
    assert usec(task.create_time) == T0
    assert task.view == ct.types.Task.View.BASIC
    assert task.pull_message.tag == "user-42"
    assert task.pull_message.payload == b""  # BASIC leaves the payload out
    assert task.status.attempt_dispatch_count == 0


def test_create_keeps_a_name_and_a_future_schedule_time_to_the_microsecond(
    ct: CloudTasksWorld,
) -> None:
    when = timestamp_pb2.Timestamp(seconds=T0 // SEC + 30, nanos=123_456_789)
    view = ct.types.Task.View.FULL
    task = ct.client.create_task(
        request={
            "parent": ct.queue(PULL),
            "task": ct.types.Task(
                name=ct.task(PULL, "mine"),
                pull_message=ct.types.PullMessage(payload=b"x"),
                schedule_time=when,
            ),
            "response_view": view,
        }
    )

    assert task.name == ct.task(PULL, "mine")
    assert usec(task.schedule_time) == T0 + 30 * SEC + 123_456  # nanos below 1 µs truncated
    assert (task.view, task.pull_message.payload) == (view, b"x")
    assert lease(ct) == []
    ct.advance(30.123456)
    assert [short(t) for t in lease(ct)] == ["mine"]


def test_a_schedule_time_in_the_past_means_now(ct: CloudTasksWorld) -> None:
    task = create(ct, schedule_time=timestamp_pb2.Timestamp(seconds=T0 // SEC - 3600))
    assert usec(task.schedule_time) == T0


def test_a_taken_or_tombstoned_name_is_already_exists(ct: CloudTasksWorld) -> None:
    create(ct, name=ct.task(PULL, "t"))
    with raises_status(ct, "ALREADY_EXISTS", "'t' exists"):
        create(ct, name=ct.task(PULL, "t"))
    ct.client.delete_task(name=ct.task(PULL, "t"))
    with raises_status(ct, "ALREADY_EXISTS", "'t' was deleted"):
        create(ct, name=ct.task(PULL, "t"))


def test_create_refuses_bad_input_naming_the_field(ct: CloudTasksWorld) -> None:
    with raises_status(ct, "INVALID_ARGUMENT", "task.name"):
        create(ct, name=ct.task(PULL_B, "elsewhere"))
    with raises_status(ct, "INVALID_ARGUMENT", "task.name", "bad name!"):
        create(ct, name=f"{ct.queue(PULL)}/tasks/bad name!")
    with raises_status(ct, "INVALID_ARGUMENT", "task.schedule_time"):
        create(ct, schedule_time=timestamp_pb2.Timestamp(seconds=T0 // SEC + 31 * 86400))
    with raises_status(ct, "INVALID_ARGUMENT", "task.pull_message.tag"):
        create(ct, tag="x" * 501)
    with raises_status(ct, "INVALID_ARGUMENT", "task", "pull_message"):
        ct.client.create_task(parent=ct.queue(PULL), task=ct.types.Task())
    with raises_status(ct, "INVALID_ARGUMENT", "task", "1048576"):
        create(ct, payload=b"x" * (2**20 + 1))


def test_a_pull_task_in_a_push_queue_is_failed_precondition(ct: CloudTasksWorld) -> None:
    with raises_status(ct, "FAILED_PRECONDITION", "push queue"):
        create(ct, queue=PUSH)


def test_an_app_engine_task_in_a_push_queue(ct: CloudTasksWorld) -> None:
    t = ct.types
    request = t.AppEngineHttpRequest(
        http_method=t.HttpMethod.PUT,
        relative_url="/work?x=1",
        headers={"X-Mine": "1"},
        payload=b"body",
    )
    created = ct.client.create_task(
        parent=ct.queue(PUSH), task=t.Task(app_engine_http_request=request)
    )

    got = ct.client.get_task(request={"name": created.name, "response_view": t.Task.View.FULL})
    assert got.app_engine_http_request.http_method == t.HttpMethod.PUT
    assert got.app_engine_http_request.relative_url == "/work?x=1"
    assert got.app_engine_http_request.headers["X-Mine"] == "1"
    assert got.app_engine_http_request.payload == b"body"
    assert created.app_engine_http_request.payload == b""  # BASIC


# -- LeaseTasks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ("", ["a1", "b1", "a2"]),
        ("tag=b", ["b1"]),
        ('tag="b"', ["b1"]),
        ("tag_function=oldest_tag()", ["a1", "a2"]),
    ],
)
def test_lease_with_each_filter_form(
    ct: CloudTasksWorld, filter_: str, expected: list[str]
) -> None:
    for name, tag in (("a1", "a"), ("b1", "b"), ("a2", "a")):
        create(ct, name=ct.task(PULL, name), tag=tag)
        ct.advance(1)

    assert [short(t) for t in lease(ct, filter=filter_)] == expected


def test_a_quoted_tag_filter_reads_escaped_quotes_and_backslashes(ct: CloudTasksWorld) -> None:
    create(ct, name=ct.task(PULL, "q"), tag='say "hi" \\o/')
    create(ct, name=ct.task(PULL, "other"), tag="say")

    assert [short(t) for t in lease(ct, filter=r'tag="say \"hi\" \\o/"')] == ["q"]


@pytest.mark.parametrize("filter_", ["tag_function=newest_tag()", "tag", 'tag=""', "name=x"])
def test_other_filters_are_invalid_argument_naming_the_filter(
    ct: CloudTasksWorld, filter_: str
) -> None:
    with raises_status(ct, "INVALID_ARGUMENT", "filter"):
        lease(ct, filter=filter_)


def test_lease_views_duration_and_attempts(ct: CloudTasksWorld) -> None:
    create(ct, payload=b"data", tag="t")
    [basic] = lease(ct, lease_s=60.9)  # truncated to whole seconds

    assert usec(basic.schedule_time) == T0 + 60 * SEC
    assert (basic.pull_message.payload, basic.pull_message.tag) == (b"", "t")
    assert basic.status.attempt_dispatch_count == 1
    assert usec(basic.create_time) == T0
    ct.advance(60)
    [full] = lease(ct, response_view=ct.types.Task.View.FULL)
    assert (full.pull_message.payload, full.view) == (b"data", ct.types.Task.View.FULL)
    assert full.status.attempt_dispatch_count == 2


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"max_tasks": 0}, "max_tasks"),
        ({"max_tasks": 1001}, "max_tasks"),
        ({"lease_duration": seconds(7 * 86400 + 1)}, "lease_duration"),
        ({"lease_duration": None}, "lease_duration"),
        ({"response_view": 7}, "response_view"),
    ],
)
def test_lease_argument_errors_name_the_field(
    ct: CloudTasksWorld, request_: dict[str, Any], field: str
) -> None:
    body = {"parent": ct.queue(PULL), "max_tasks": 10, "lease_duration": seconds(60), **request_}
    with raises_status(ct, "INVALID_ARGUMENT", field):
        ct.client.lease_tasks(request={k: v for k, v in body.items() if v is not None})


def test_a_paused_queue_or_a_push_queue_cannot_be_leased(ct: CloudTasksWorld) -> None:
    ct.client.pause_queue(name=ct.queue(PULL))
    with raises_status(ct, "FAILED_PRECONDITION", "paused"):
        lease(ct)
    with raises_status(ct, "FAILED_PRECONDITION", "push queue"):
        lease(ct, queue=PUSH)


# -- the lease token: AcknowledgeTask, RenewLease, CancelLease ----------------------------------


def test_acknowledge_with_the_lease_token_deletes_the_task(ct: CloudTasksWorld) -> None:
    create(ct)
    [task] = lease(ct)

    ct.client.acknowledge_task(name=task.name, schedule_time=task.schedule_time)
    assert list(ct.client.list_tasks(parent=ct.queue(PULL))) == []
    with raises_status(ct, "NOT_FOUND", "deleted"):
        ct.client.get_task(name=task.name)


def test_a_stale_token_is_refused_and_the_task_stays(ct: CloudTasksWorld) -> None:
    create(ct)
    [task] = lease(ct)
    stale = timestamp_pb2.Timestamp(seconds=task.schedule_time.timestamp_pb().seconds, nanos=1000)

    with raises_status(ct, "FAILED_PRECONDITION", "schedule_time", "lease token"):
        ct.client.acknowledge_task(name=task.name, schedule_time=stale)
    assert usec(ct.client.get_task(name=task.name).schedule_time) == usec(task.schedule_time)


def test_a_token_whose_lease_has_ended_is_refused(ct: CloudTasksWorld) -> None:
    create(ct)
    [task] = lease(ct, lease_s=10)
    ct.advance(10)  # the lease is held for [T, T+10): at T+10 the task is leasable again

    with raises_status(ct, "FAILED_PRECONDITION", "expired"):
        ct.client.acknowledge_task(name=task.name, schedule_time=task.schedule_time)
    with raises_status(ct, "FAILED_PRECONDITION", "expired"):
        ct.client.renew_lease(
            name=task.name, schedule_time=task.schedule_time, lease_duration=seconds(10)
        )


def test_renew_returns_the_new_token_and_the_old_one_is_refused(ct: CloudTasksWorld) -> None:
    create(ct, payload=b"data")
    [task] = lease(ct, lease_s=30)
    ct.advance(5)

    renewed = ct.client.renew_lease(
        request={
            "name": task.name,
            "schedule_time": task.schedule_time,
            "lease_duration": seconds(120),
            "response_view": ct.types.Task.View.FULL,
        }
    )
    assert usec(renewed.schedule_time) == T0 + 125 * SEC
    assert (renewed.pull_message.payload, renewed.status.attempt_dispatch_count) == (b"data", 1)
    with raises_status(ct, "FAILED_PRECONDITION", "lease changed"):
        ct.client.acknowledge_task(name=task.name, schedule_time=task.schedule_time)
    ct.client.acknowledge_task(name=task.name, schedule_time=renewed.schedule_time)


def test_cancel_makes_the_task_leasable_at_once(ct: CloudTasksWorld) -> None:
    create(ct)
    [task] = lease(ct)
    ct.advance(2)

    cancelled = ct.client.cancel_lease(name=task.name, schedule_time=task.schedule_time)
    assert usec(cancelled.schedule_time) == T0 + 2 * SEC
    [again] = lease(ct)
    assert again.status.attempt_dispatch_count == 2


def test_lease_changes_need_the_token_and_a_task_name(ct: CloudTasksWorld) -> None:
    create(ct)
    [task] = lease(ct)
    with raises_status(ct, "INVALID_ARGUMENT", "schedule_time", "required"):
        ct.client.acknowledge_task(request={"name": task.name})
    if ct.transport == "grpc":  # the REST transport refuses such a name before sending it
        with raises_status(ct, "INVALID_ARGUMENT", "name", "TASK_ID"):
            ct.client.cancel_lease(name=ct.queue(PULL), schedule_time=task.schedule_time)
    with raises_status(ct, "NOT_FOUND", "does not exist"):
        ct.client.cancel_lease(name=ct.task(PULL, "nope"), schedule_time=task.schedule_time)


# -- GetTask, ListTasks, DeleteTask, RunTask ----------------------------------------------------


def test_list_pages_through_the_tasks_in_schedule_order(ct: CloudTasksWorld) -> None:
    for i in range(5):
        create(ct, name=ct.task(PULL, f"t{i}"), tag="x")
        ct.advance(1)

    pager = ct.client.list_tasks(request={"parent": ct.queue(PULL), "page_size": 2})
    pages = [[short(t) for t in page.tasks] for page in pager.pages]
    assert pages == [["t0", "t1"], ["t2", "t3"], ["t4"]]
    full = ct.client.list_tasks(
        request={"parent": ct.queue(PULL), "response_view": ct.types.Task.View.FULL}
    )
    assert [t.pull_message.payload for t in full] == [b"p"] * 5


def test_list_refuses_a_bad_page_size_or_token(ct: CloudTasksWorld) -> None:
    with raises_status(ct, "INVALID_ARGUMENT", "page_size"):
        list(ct.client.list_tasks(request={"parent": ct.queue(PULL), "page_size": 1001}))
    with raises_status(ct, "INVALID_ARGUMENT", "page_token"):
        list(ct.client.list_tasks(request={"parent": ct.queue(PULL), "page_token": "%%"}))


def test_get_shows_a_task_without_side_effects(ct: CloudTasksWorld) -> None:
    create(ct, name=ct.task(PULL, "t"), payload=b"data", tag="x")
    [leased] = lease(ct)

    got = ct.client.get_task(request={"name": leased.name, "response_view": 2})
    assert (got.pull_message.payload, got.status.attempt_dispatch_count) == (b"data", 1)
    assert usec(got.schedule_time) == usec(leased.schedule_time)
    assert ct.client.get_task(name=leased.name).pull_message.payload == b""


def test_delete_needs_no_lease_and_keeps_the_name_taken(ct: CloudTasksWorld) -> None:
    create(ct, name=ct.task(PULL, "t"))
    lease(ct)

    ct.client.delete_task(name=ct.task(PULL, "t"))
    with raises_status(ct, "NOT_FOUND", "deleted"):
        ct.client.delete_task(name=ct.task(PULL, "t"))
    with raises_status(ct, "NOT_FOUND", "does not exist"):
        ct.client.delete_task(name=ct.task(PULL, "never"))


def test_run_task_is_failed_precondition(ct: CloudTasksWorld) -> None:
    task = create(ct)
    with raises_status(ct, "FAILED_PRECONDITION", "pull task"):
        ct.client.run_task(name=task.name)
    with raises_status(ct, "NOT_FOUND"):
        ct.client.run_task(name=ct.task(PULL, "nope"))


# -- queues -------------------------------------------------------------------------------------


def test_get_queue_returns_stats_only_when_the_read_mask_asks(ct: CloudTasksWorld) -> None:
    create(ct, name=ct.task(PULL, "a"))
    ct.advance(1)
    create(ct, name=ct.task(PULL, "b"))
    lease(ct, max_tasks=1)

    plain = ct.client.get_queue(name=ct.queue(PULL))
    assert "pull_target" in plain and "stats" not in plain
    assert plain.state == ct.types.Queue.State.RUNNING
    assert plain.retry_config.unlimited_attempts is True
    assert plain.rate_limits.max_concurrent_tasks == -1
    masked = ct.client.get_queue(
        request={"name": ct.queue(PULL), "read_mask": {"paths": ["name", "stats"]}}
    )
    assert masked.name == ct.queue(PULL) and "pull_target" not in masked
    stats = masked.stats
    assert (stats.tasks_count, stats.executed_last_minute_count) == (2, 1)
    assert stats.concurrent_dispatches_count == 1
    assert usec(stats.oldest_estimated_arrival_time) == T0 + SEC  # b, ready; a is leased
    with raises_status(ct, "INVALID_ARGUMENT", "read_mask", "nope"):
        ct.client.get_queue(request={"name": ct.queue(PULL), "read_mask": {"paths": ["nope"]}})


def test_queues_show_their_kind_limits_and_retry_config(ct: CloudTasksWorld) -> None:
    queues = {
        short(q): q
        for q in ct.client.list_queues(parent=f"projects/{PROJECT}/locations/{LOCATION}")
    }

    assert sorted(queues) == sorted(["default", PULL, PULL_B, LIMITED, PUSH])
    assert "app_engine_http_target" in queues[PUSH] and "pull_target" not in queues[PUSH]
    assert queues[PUSH].rate_limits.max_tasks_dispatched_per_second == 5.0
    assert queues[LIMITED].retry_config.max_attempts == 3  # task_retry_limit 2 + 1
    assert queues[PUSH].retry_config.min_backoff.total_seconds() == 0.1


def test_list_queues_pages_and_filters(ct: CloudTasksWorld) -> None:
    parent = "projects/any/locations/anywhere"
    pager = ct.client.list_queues(request={"parent": parent, "page_size": 2})
    pages = [list(page.queues) for page in pager.pages]
    assert [[short(q) for q in page] for page in pages] == [
        ["default", LIMITED],
        [PULL, PULL_B],
        [PUSH],
    ]
    assert all(q.name.startswith(f"{parent}/queues/") for page in pages for q in page)
    ct.client.pause_queue(name=ct.queue(PULL_B))

    def names(filter_: str) -> list[str]:
        request = {"parent": parent, "filter": filter_}
        return [short(q) for q in ct.client.list_queues(request=request)]

    assert names("app_engine_http_target: *") == ["default", PUSH]
    assert names("pull_target:* AND state = PAUSED") == [PULL_B]
    assert names("state != PAUSED AND pullTarget:*") == [LIMITED, PULL]
    with raises_status(ct, "INVALID_ARGUMENT", "filter", "colour"):
        names("colour = red")


def test_pause_resume_and_purge(ct: CloudTasksWorld) -> None:
    create(ct, name=ct.task(PULL, "t"))

    paused = ct.client.pause_queue(name=ct.queue(PULL))
    assert paused.state == ct.types.Queue.State.PAUSED
    resumed = ct.client.resume_queue(name=ct.queue(PULL))
    assert resumed.state == ct.types.Queue.State.RUNNING
    assert len(lease(ct)) == 1
    purged = ct.client.purge_queue(name=ct.queue(PULL))
    assert purged.name == ct.queue(PULL)
    assert list(ct.client.list_tasks(parent=ct.queue(PULL))) == []
    with raises_status(ct, "ALREADY_EXISTS", "was deleted"):
        create(ct, name=ct.task(PULL, "t"))


def test_unknown_queues_bad_names_and_unserved_methods(ct: CloudTasksWorld) -> None:
    with raises_status(ct, "NOT_FOUND", "'nope'"):
        ct.client.get_queue(name=ct.queue("nope"))
    with raises_status(ct, "NOT_FOUND", "'nope'"):
        lease(ct, queue="nope")
    if ct.transport == "grpc":  # the REST transport refuses such a name before sending it
        with raises_status(ct, "INVALID_ARGUMENT", "name", "projects/PROJECT_ID"):
            ct.client.get_queue(name="queues/x")
    with raises_status(ct, "UNIMPLEMENTED", "CreateQueue", "queue.yaml"):
        ct.client.create_queue(
            parent=f"projects/{PROJECT}/locations/{LOCATION}",
            queue=ct.types.Queue(name=ct.queue("new")),
        )


def test_any_project_and_location_name_the_same_queue(ct: CloudTasksWorld) -> None:
    create(ct, name=ct.task(PULL, "t"))
    elsewhere = ct.client.task_path("example.com:other", "europe-west1", PULL, "t")

    got = ct.client.get_task(name=elsewhere)
    assert got.name == elsewhere


def test_the_rest_transport_raises_google_api_core_exceptions(ct: CloudTasksWorld) -> None:
    expected = exceptions.NotFound
    with pytest.raises(expected):
        ct.client.get_task(name=ct.task(PULL, "nope"))
