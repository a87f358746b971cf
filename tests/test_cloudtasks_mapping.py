"""Unit tests of the forwarding service's mapping (domain ↔ google-cloud-tasks messages) and
of its one error table (every gRPC status), without any server."""

from __future__ import annotations

import argparse
import datetime

import grpc
import pytest
from google.api_core import exceptions
from google.auth import exceptions as auth_exceptions
from google.cloud import tasks_v2, tasks_v2beta2

from emulator import settings
from emulator.cloudtasks import mapping
from emulator.cloudtasks.errors import CALLS, ERROR_CODES, Subject, domain_code, translate
from emulator.cloudtasks.target import CloudTasksTarget
from emulator.domain.errors import CallDeadlineExceeded, ErrorCode
from emulator.domain.model import AddRequest
from emulator.domain.queue_config import QueueMode, RetryParameters

TARGET = CloudTasksTarget("proj-1", "us-central1", "127.0.0.1:9")
T = 1_767_225_600_123_456  # 2026-01-01T00:00:00.123456Z
PATH = TARGET.task_path("q", "t1")


# -- mapping -----------------------------------------------------------------------------------


def test_instants_convert_exactly_both_ways() -> None:
    stamp = mapping.timestamp(T)
    assert (stamp.seconds, stamp.nanos) == (1_767_225_600, 123_456_000)
    task = tasks_v2beta2.Task(schedule_time=stamp)
    assert mapping.usec_of(task.schedule_time) == T


@pytest.mark.parametrize(("seconds", "whole"), [(0.5, 1), (1, 1), (1.000001, 2), (60, 60)])
def test_a_lease_is_whole_seconds_rounded_up(seconds: float, whole: int) -> None:
    assert mapping.lease_duration(seconds).seconds == whole
    assert mapping.lease_duration(seconds).nanos == 0


@pytest.mark.parametrize(
    ("group_by_tag", "tag", "text"),
    [
        (False, None, ""),
        (True, None, "tag_function=oldest_tag()"),
        (True, "user-42", 'tag="user-42"'),
        (True, 'a"b\\c', 'tag="a\\"b\\\\c"'),
    ],
)
def test_lease_filters_are_written_as_gcloud_writes_them(
    group_by_tag: bool, tag: str | None, text: str
) -> None:
    assert mapping.lease_filter(group_by_tag, tag) == text


def test_a_pull_task_carries_payload_tag_name_and_eta() -> None:
    task = mapping.pull_task(PATH, AddRequest(payload=b"\x00x", tag="t"), T)
    assert task.name == PATH
    assert bytes(task.pull_message.payload) == b"\x00x"
    assert task.pull_message.tag == "t"
    assert mapping.usec_of(task.schedule_time) == T


def test_an_unnamed_task_without_eta_leaves_both_to_cloud_tasks() -> None:
    task = mapping.pull_task(None, AddRequest(payload=b"x"), None)
    assert task.name == ""
    assert "schedule_time" not in task


def test_a_push_task_is_an_app_engine_request_as_googles_sdk_sends_it() -> None:
    request = AddRequest(
        payload=b"body",
        mode=QueueMode.PUSH,
        method="PUT",
        url="/work?x=1",
        headers=(("X-A", "b"),),
        retry_parameters=RetryParameters(task_retry_limit=4, task_age_limit_sec=60),
        dispatch_deadline_usec=30_000_000,
    )
    task = mapping.push_task(PATH, request, T)
    http = task.app_engine_http_request
    assert (http.relative_uri, http.http_method, bytes(http.body)) == (
        "/work?x=1",
        tasks_v2.HttpMethod.PUT,
        b"body",
    )
    assert dict(http.headers) == {"X-A": "b"}
    assert task.retry_config.max_attempts == 5
    assert task.retry_config.max_retry_duration == datetime.timedelta(seconds=60)
    assert task.dispatch_deadline == datetime.timedelta(seconds=30)
    stored = mapping.stored_push_task("q", task)
    assert (stored.name, stored.method, stored.url, stored.payload) == (
        "t1",
        "PUT",
        "/work?x=1",
        b"body",
    )


def test_a_push_task_with_an_absolute_url_is_an_http_request() -> None:
    request = AddRequest(payload=b"", mode=QueueMode.PUSH, http_url="https://example.com/h")
    task = mapping.push_task(None, request, None)
    assert task.http_request.url == "https://example.com/h"
    assert task.http_request.http_method == tasks_v2.HttpMethod.POST
    assert mapping.stored_push_task("q", task).http_url == "https://example.com/h"


def test_a_leased_task_reads_its_token_and_dispatch_count() -> None:
    task = tasks_v2beta2.Task(
        name=PATH,
        pull_message=tasks_v2beta2.PullMessage(payload=b"p", tag=""),
        schedule_time=mapping.timestamp(T),
        create_time=mapping.timestamp(T - 5_000_000),
        status=tasks_v2beta2.TaskStatus(attempt_dispatch_count=3),
    )
    leased = mapping.leased_task(task)
    assert (leased.name, leased.eta_usec, leased.retry_count, leased.tag) == ("t1", T, 3, None)
    assert leased.created_usec == T - 5_000_000


def test_queue_statistics_are_read_as_googles_sdk_reads_them() -> None:
    queue = tasks_v2beta2.Queue(
        state=tasks_v2beta2.Queue.State.PAUSED,
        stats=tasks_v2beta2.QueueStats(
            tasks_count=7,
            oldest_estimated_arrival_time=mapping.timestamp(T),
            executed_last_minute_count=2,
            concurrent_dispatches_count=1,
            effective_execution_rate=0.5,
        ),
    )
    stats = mapping.queue_stats("q", queue)
    assert (stats.tasks, stats.oldest_eta_usec, stats.leased_last_minute) == (7, T, 2)
    assert (stats.in_flight, stats.enforced_rate, stats.paused) == (1, 0.5, True)
    assert (stats.leased_last_hour, stats.ready, stats.delayed) == (None, None, None)
    empty = mapping.queue_stats("q", tasks_v2beta2.Queue())
    assert (empty.tasks, empty.oldest_eta_usec, empty.paused) == (0, None, False)


# -- the error table ---------------------------------------------------------------------------


def _error(status: grpc.StatusCode, message: str = "boom") -> exceptions.GoogleAPICallError:
    error: exceptions.GoogleAPICallError = exceptions.from_grpc_status(  # type: ignore[no-untyped-call]
        status, message
    )
    return error


@pytest.mark.parametrize(
    ("status", "queue_code", "task_code"),
    [
        (grpc.StatusCode.NOT_FOUND, ErrorCode.UNKNOWN_QUEUE, ErrorCode.UNKNOWN_TASK),
        (
            grpc.StatusCode.ALREADY_EXISTS,
            ErrorCode.TASK_ALREADY_EXISTS,
            ErrorCode.TASK_ALREADY_EXISTS,
        ),
        (grpc.StatusCode.FAILED_PRECONDITION, ErrorCode.QUEUE_PAUSED, ErrorCode.TASK_LEASE_EXPIRED),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, ErrorCode.TRANSIENT_ERROR, ErrorCode.TRANSIENT_ERROR),
        (grpc.StatusCode.UNAVAILABLE, ErrorCode.TRANSIENT_ERROR, ErrorCode.TRANSIENT_ERROR),
        (grpc.StatusCode.CANCELLED, ErrorCode.TRANSIENT_ERROR, ErrorCode.TRANSIENT_ERROR),
        (grpc.StatusCode.ABORTED, ErrorCode.TRANSIENT_ERROR, ErrorCode.TRANSIENT_ERROR),
        (
            grpc.StatusCode.PERMISSION_DENIED,
            ErrorCode.PERMISSION_DENIED,
            ErrorCode.PERMISSION_DENIED,
        ),
        (grpc.StatusCode.UNAUTHENTICATED, ErrorCode.PERMISSION_DENIED, ErrorCode.PERMISSION_DENIED),
        (grpc.StatusCode.INVALID_ARGUMENT, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST),
        (grpc.StatusCode.OUT_OF_RANGE, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST),
        (grpc.StatusCode.UNIMPLEMENTED, ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST),
        (grpc.StatusCode.INTERNAL, ErrorCode.INTERNAL_ERROR, ErrorCode.INTERNAL_ERROR),
        (grpc.StatusCode.UNKNOWN, ErrorCode.INTERNAL_ERROR, ErrorCode.INTERNAL_ERROR),
        (grpc.StatusCode.DATA_LOSS, ErrorCode.INTERNAL_ERROR, ErrorCode.INTERNAL_ERROR),
    ],
)
def test_each_status_has_a_code_for_queue_and_task_calls(
    status: grpc.StatusCode, queue_code: ErrorCode, task_code: ErrorCode
) -> None:
    assert ERROR_CODES[status] == (queue_code, task_code)
    assert translate(_error(status), CALLS["LeaseTasks"], TARGET, "q").code is queue_code
    assert translate(_error(status), CALLS["RenewLease"], TARGET, "q", "t1").code is task_code


def test_every_status_but_ok_and_deadline_has_a_row() -> None:
    rows = set(ERROR_CODES) | {grpc.StatusCode.OK, grpc.StatusCode.DEADLINE_EXCEEDED}
    assert rows == set(grpc.StatusCode)


def test_every_call_names_a_cloud_tasks_permission() -> None:
    assert all(c.permission.startswith("cloudtasks.") for c in CALLS.values())
    assert CALLS["LeaseTasks"].subject is Subject.QUEUE
    assert CALLS["DeleteTask"].subject is Subject.TASK


def test_a_deadline_is_the_deadline_error() -> None:
    error = translate(
        _error(grpc.StatusCode.DEADLINE_EXCEEDED, "late"), CALLS["GetQueue"], TARGET, "q"
    )
    assert isinstance(error, CallDeadlineExceeded)
    assert "GetQueue projects/proj-1/locations/us-central1/queues/q" in error.message


def test_the_legacy_error_a_message_names_wins() -> None:
    named = "task 't1' was deleted (apphosting::ExecutorServiceError::TOMBSTONED_TASK)"
    assert domain_code(grpc.StatusCode.ALREADY_EXISTS, CALLS["CreateTask"], named) is (
        ErrorCode.TOMBSTONED_TASK
    )
    assert domain_code(grpc.StatusCode.NOT_FOUND, CALLS["DeleteTask"], named) is (
        ErrorCode.TOMBSTONED_TASK
    )


def test_cloud_tasks_words_for_a_tombstone_are_tombstoned_task() -> None:
    words = "The task cannot be created because a task with this name existed too recently."
    assert domain_code(grpc.StatusCode.ALREADY_EXISTS, CALLS["CreateTask"], words) is (
        ErrorCode.TOMBSTONED_TASK
    )


def test_a_paused_queue_named_on_a_task_call_is_queue_paused() -> None:
    words = "Queue is paused"
    assert domain_code(grpc.StatusCode.FAILED_PRECONDITION, CALLS["RenewLease"], words) is (
        ErrorCode.QUEUE_PAUSED
    )


@pytest.mark.parametrize(
    "status", [grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED]
)
def test_a_refused_permission_names_project_queue_and_permission(status: grpc.StatusCode) -> None:
    error = translate(_error(status, "denied"), CALLS["LeaseTasks"], TARGET, "pull-q")
    assert error.code is ErrorCode.PERMISSION_DENIED
    for text in ("'proj-1'", "'pull-q'", "cloudtasks.tasks.lease", status.name, "denied"):
        assert text in error.message


def test_missing_credentials_are_permission_denied_with_how_to_fix() -> None:
    problem = auth_exceptions.DefaultCredentialsError("no ADC")  # type: ignore[no-untyped-call]
    error = translate(problem, CALLS["CreateTask"], TARGET, "q")
    assert error.code is ErrorCode.PERMISSION_DENIED
    assert "application-default login" in error.message


def test_an_unavailable_service_names_the_endpoint() -> None:
    error = translate(
        _error(grpc.StatusCode.UNAVAILABLE, "refused"), CALLS["GetQueue"], TARGET, "q"
    )
    assert error.code is ErrorCode.TRANSIENT_ERROR
    assert "127.0.0.1:9 is unavailable" in error.message


def test_anything_else_is_not_translated() -> None:
    with pytest.raises(TypeError):
        translate(ValueError("bug"), CALLS["GetQueue"], TARGET, "q")


# -- the settings of a target ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dest", "text", "value"),
    [
        ("cloud_tasks_project", "s~my-app", "my-app"),
        ("cloud_tasks_project", "e~my-app", "my-app"),
        ("cloud_tasks_project", "my-proj", "my-proj"),
        ("cloud_tasks_location", "us-central1", "us-central1"),
        ("cloud_tasks_endpoint", "localhost:8123", "localhost:8123"),
        ("backend", "CloudTasks", "cloudtasks"),
    ],
)
def test_target_settings_are_read_as_given(dest: str, text: str, value: str) -> None:
    assert settings.setting(dest).parse(text) == value


@pytest.mark.parametrize(
    ("dest", "text", "mention"),
    [
        ("cloud_tasks_project", "My Proj", "lower-case id"),
        ("cloud_tasks_endpoint", "http://localhost:8123", "host:port without a scheme"),
        ("cloud_tasks_endpoint", "localhost", "host:port"),
        ("cloud_tasks_endpoint", "localhost:99999", "port must be between"),
        ("backend", "remote", "must be one of local, cloudtasks"),
    ],
)
def test_unusable_target_settings_say_why(dest: str, text: str, mention: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=mention):
        settings.setting(dest).parse(text)


def test_a_target_describes_where_it_forwards() -> None:
    assert TARGET.description == (
        "Cloud Tasks projects/proj-1/locations/us-central1 at 127.0.0.1:9"
    )
    real = CloudTasksTarget("p", "l")
    assert "cloudtasks.googleapis.com (Application Default Credentials)" in real.description
