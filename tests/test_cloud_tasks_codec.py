"""The Cloud Tasks faces' parts, without a transport: the version table against
google-cloud-tasks' own messages, exact time conversion, resource names, the two filter
languages, the error table, and the codec's mapping of tasks and queues."""

from __future__ import annotations

import dataclasses

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.model import QueueStats, StoredTask
from emulator.domain.queue_config import QueueConfig, QueueMode, RetryParameters
from emulator.faces.cloud_tasks import codec
from emulator.faces.cloud_tasks.errors import (
    GRPC_STATUS,
    HTTP_STATUS,
    CloudTasksError,
    rest_error,
    status_of,
)
from emulator.faces.cloud_tasks.filters import LeaseFilter, lease_filter, queue_filter
from emulator.faces.cloud_tasks.methods import UNSERVED, methods_of
from emulator.faces.cloud_tasks.names import (
    LocationName,
    QueueName,
    parse_location,
    parse_queue,
    parse_task,
)
from emulator.faces.cloud_tasks.versions import DIALECTS, V2, V2BETA2, V2BETA3, Dialect

T0 = 1_767_225_600_000_000
SEC = 1_000_000
QUEUE = QueueName("p", "l", "q")
EXACT = settings(max_examples=200, deadline=None)


def invalid_field(call: object, field: str) -> str:
    """Run ``call`` (a zero-argument callable) expecting INVALID_ARGUMENT about ``field``."""
    with pytest.raises(CloudTasksError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.status is grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.message.startswith(f"{field}:"), caught.value.message
    return caught.value.message


# -- the version table --------------------------------------------------------------------------


@pytest.mark.parametrize("d", DIALECTS.values(), ids=lambda d: d.version)
def test_every_spelling_of_a_dialect_is_a_field_of_its_messages(d: Dialect) -> None:
    app_engine = d.message("AppEngineHttpRequest").DESCRIPTOR.fields_by_name
    assert {d.app_engine_url, d.app_engine_body} <= set(app_engine)
    rates = d.message("RateLimits").DESCRIPTOR.fields_by_name
    assert {d.rate_field, d.concurrency_field} <= set(rates)
    task = d.message("Task").DESCRIPTOR.fields_by_name
    assert ("pull_message" in task) is d.pull_messages
    assert ("dispatch_deadline" in task) is d.dispatch_deadline
    assert ("status" in task) is d.counts_in_status
    assert ("unlimited_attempts" in d.message("RetryConfig").DESCRIPTOR.fields_by_name) is (
        d.unlimited_attempts
    )
    assert ("stats" in d.message("Queue").DESCRIPTOR.fields_by_name) is d.queue_stats
    assert hasattr(d.types, "LeaseTasksRequest") is d.leases


@pytest.mark.parametrize("d", DIALECTS.values(), ids=lambda d: d.version)
def test_every_method_names_request_and_response_messages_of_its_version(d: Dialect) -> None:
    for method in methods_of(d).values():
        d.message(method.request)
        method.response_type(d)
    assert not set(methods_of(d)) & set(UNSERVED)


def test_only_v2beta2_leases_and_only_the_others_batch() -> None:
    assert "LeaseTasks" in methods_of(V2BETA2)
    assert "LeaseTasks" not in methods_of(V2BETA3) and "LeaseTasks" not in methods_of(V2)
    assert "BatchCreateTasks" not in methods_of(V2BETA2)
    assert "BatchDeleteTasks" in methods_of(V2BETA3) and "BatchDeleteTasks" in methods_of(V2)


# -- time ---------------------------------------------------------------------------------------


@EXACT
@given(st.integers(-62_135_596_800 * SEC, 253_402_300_799 * SEC + 999_999))
def test_microseconds_survive_a_timestamp_exactly(usec: int) -> None:
    stamp = codec.timestamp(usec)
    assert 0 <= stamp.nanos < 10**9 and stamp.nanos % 1000 == 0
    assert codec.usec_of(stamp, "f") == usec


def test_nanos_below_a_microsecond_are_truncated() -> None:
    assert codec.usec_of(Timestamp(seconds=1, nanos=999_999_999), "f") == 1_999_999


@pytest.mark.parametrize(
    "stamp",
    [
        Timestamp(seconds=1, nanos=-1),
        Timestamp(seconds=1, nanos=10**9),
        Timestamp(seconds=253_402_300_800),
        Timestamp(seconds=-62_135_596_801),
    ],
)
def test_impossible_timestamps_are_invalid_argument(stamp: Timestamp) -> None:
    invalid_field(lambda: codec.usec_of(stamp, "task.schedule_time"), "task.schedule_time")


def test_lease_durations_are_whole_seconds_and_never_negative() -> None:
    assert codec.lease_seconds_of(Duration(seconds=60, nanos=999_999_999), "d") == 60
    assert codec.duration_usec(Duration(seconds=1, nanos=5000), "d") == 1_000_005
    invalid_field(
        lambda: codec.lease_seconds_of(Duration(seconds=-1), "lease_duration"), "lease_duration"
    )
    invalid_field(
        lambda: codec.lease_seconds_of(Duration(nanos=-1), "lease_duration"), "lease_duration"
    )


def test_views() -> None:
    assert [codec.view_of(v, "response_view") for v in (0, 1, 2)] == [1, 1, 2]
    invalid_field(lambda: codec.view_of(3, "response_view"), "response_view")


# -- names --------------------------------------------------------------------------------------


def test_names_round_trip_with_any_project_and_location() -> None:
    text = "projects/example.com:my-app/locations/europe-west1/queues/pull-q/tasks/t_1-x"
    name = parse_task(text, "name")
    assert (name.parent.project, name.parent.location, name.parent.queue, name.task) == (
        "example.com:my-app",
        "europe-west1",
        "pull-q",
        "t_1-x",
    )
    assert str(name) == text
    assert str(parse_queue(str(name.parent), "parent")) == str(name.parent)
    assert parse_location("projects/p/locations/l", "parent") == LocationName("p", "l")
    assert (
        str(LocationName("p", "l").queue("q").task("t"))
        == "projects/p/locations/l/queues/q/tasks/t"
    )


@pytest.mark.parametrize(
    ("text", "mention"),
    [
        ("", "required"),
        ("projects/p/locations/l/queues/q", "TASK_ID"),
        ("projects/p/locations/l/queues/q/tasks/", "task ID"),
        ("projects/p/locations/l/queues/q/tasks/a.b", "task ID 'a.b'"),
        ("projects/p/locations/l/queues/q_q/tasks/t", "queue ID 'q_q'"),
        ("projects/p/locations/l/queues/q/tasks/t/x", "TASK_ID"),
        ("projects//locations/l/queues/q/tasks/t", "PROJECT_ID"),
        ("projects/p/locations/l/queues/q/tasks/" + "t" * 501, "task ID"),
    ],
)
def test_bad_task_names_are_invalid_argument_naming_the_field(text: str, mention: str) -> None:
    assert mention in invalid_field(lambda: parse_task(text, "name"), "name")


# -- filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", LeaseFilter()),
        ("  ", LeaseFilter()),
        ("tag=a", LeaseFilter(True, "a")),
        ("tag = a b ", LeaseFilter(True, "a b")),
        ('tag="a b"', LeaseFilter(True, "a b")),
        (r'tag="q\"uote\\"', LeaseFilter(True, 'q"uote\\')),
        ("tag_function=oldest_tag()", LeaseFilter(True, None)),
        (" tag_function = oldest_tag( ) ", LeaseFilter(True, None)),
        ("tag=" + "x" * 500, LeaseFilter(True, "x" * 500)),
        ("tag=a AND tag=b", LeaseFilter(True, "a AND tag=b")),  # unquoted: the rest is the tag
    ],
)
def test_lease_filters(text: str, expected: LeaseFilter) -> None:
    assert lease_filter(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "tag",
        'tag=""',
        "tag=",
        'tag="a',
        "tag_function=newest()",
        "tag=" + "x" * 501,
    ],
)
def test_other_lease_filters_are_invalid_argument(text: str) -> None:
    invalid_field(lambda: lease_filter(text), "filter")


def _queues(d: Dialect) -> dict[str, object]:
    pull = QueueConfig("pull", QueueMode.PULL)
    push = QueueConfig("push", QueueMode.PUSH, rate_per_second=1.0)
    paused = QueueStats("push", paused=True)
    return {
        "pull": codec.queue_message(d, QUEUE, pull, QueueStats("pull"), None),
        "push": codec.queue_message(d, QUEUE, push, paused, None),
    }


@pytest.mark.parametrize(
    ("d", "text", "expected"),
    [
        (V2BETA2, "pull_target:*", ["pull"]),
        (V2BETA2, "appEngineHttpTarget: *", ["push"]),
        (V2BETA2, "state = PAUSED", ["push"]),
        (V2BETA2, "state != PAUSED AND pull_target:*", ["pull"]),
        (V2BETA3, "type = PULL", ["pull"]),
        (V2BETA3, 'type = "PUSH"', ["push"]),
        (V2, "state = RUNNING", ["pull"]),
        (V2, "", ["pull", "push"]),
    ],
)
def test_queue_filters(d: Dialect, text: str, expected: list[str]) -> None:
    keep = queue_filter(d, text)
    assert [name for name, queue in _queues(d).items() if keep(queue)] == expected


@pytest.mark.parametrize(
    ("d", "text", "mention"),
    [
        (V2BETA2, "colour = red", "'colour' is not a field"),
        (V2BETA2, "state = ASLEEP", "'ASLEEP' is not a state"),
        (V2BETA2, "state:*", "needs a message field"),
        (V2BETA2, "pull_target: yes", "only pull_target:*"),
        (V2BETA2, "rate_limits = 3", "cannot be compared"),
        (V2, "type = PULL", "'type' is not a field"),
        (V2BETA2, "state = PAUSED OR state = RUNNING", "is not a state"),
        (V2BETA2, "state PAUSED", "not FIELD:*"),
    ],
)
def test_other_queue_filters_are_invalid_argument(d: Dialect, text: str, mention: str) -> None:
    assert mention in invalid_field(lambda: queue_filter(d, text), "filter")


# -- errors -------------------------------------------------------------------------------------


def test_every_error_code_has_a_grpc_status_and_every_status_an_http_one() -> None:
    assert set(GRPC_STATUS) == set(ErrorCode)
    assert set(HTTP_STATUS) == set(grpc.StatusCode)
    assert GRPC_STATUS[ErrorCode.TASK_LEASE_EXPIRED] is grpc.StatusCode.FAILED_PRECONDITION
    assert GRPC_STATUS[ErrorCode.QUEUE_PAUSED] is grpc.StatusCode.FAILED_PRECONDITION
    assert GRPC_STATUS[ErrorCode.UNKNOWN_QUEUE] is grpc.StatusCode.NOT_FOUND


def test_statuses_of_exceptions_name_the_legacy_error_as_cloud_tasks_does() -> None:
    domain = TaskQueueError(ErrorCode.UNKNOWN_TASK, "task 't' does not exist")
    assert status_of(domain) == (
        grpc.StatusCode.NOT_FOUND,
        "task 't' does not exist (apphosting::ExecutorServiceError::UNKNOWN_TASK)",
    )
    assert status_of(TaskQueueError(ErrorCode.QUEUE_PAUSED)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "QUEUE_PAUSED (apphosting::ExecutorServiceError::QUEUE_PAUSED)",
    )
    tombstoned = CloudTasksError(grpc.StatusCode.ALREADY_EXISTS, "m", ErrorCode.TOMBSTONED_TASK)
    assert status_of(tombstoned)[1] == "m (apphosting::ExecutorServiceError::TOMBSTONED_TASK)"
    assert status_of(CloudTasksError(grpc.StatusCode.INVALID_ARGUMENT, "f: x")) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "f: x",
    )
    assert status_of(KeyError("x")) == (grpc.StatusCode.INTERNAL, "internal error: KeyError")
    assert rest_error(grpc.StatusCode.ALREADY_EXISTS, "m") == (
        409,
        {"error": {"code": 409, "message": "m", "status": "ALREADY_EXISTS"}},
    )


# -- tasks --------------------------------------------------------------------------------------


def _stored(**fields: object) -> StoredTask:
    base = StoredTask(queue="q", name="t", eta_usec=T0 + 7, payload=b"data", tag="a")
    return dataclasses.replace(base, created_usec=T0 + 1_500_000, retry_count=3, **fields)  # type: ignore[arg-type]


def test_a_pull_task_in_each_version() -> None:
    beta2 = codec.task_message(V2BETA2, QUEUE, _stored(), codec.FULL)
    assert beta2.name == "projects/p/locations/l/queues/q/tasks/t"
    assert (beta2.schedule_time.seconds, beta2.schedule_time.nanos) == (T0 // SEC, 7000)
    assert beta2.create_time.seconds == T0 // SEC + 1 and beta2.create_time.nanos == 0
    assert beta2.status.attempt_dispatch_count == 3
    assert (beta2.pull_message.payload, beta2.pull_message.tag) == (b"data", "a")
    basic = codec.task_message(V2BETA3, QUEUE, _stored(), codec.BASIC)
    assert (basic.pull_message.payload, basic.pull_message.tag, basic.dispatch_count) == (
        b"",
        "a",
        3,
    )
    v2 = codec.task_message(V2, QUEUE, _stored(), codec.FULL)
    assert v2.WhichOneof("message_type") is None  # v2 cannot show pull messages


def test_push_tasks_in_each_version() -> None:
    app = _stored(mode=QueueMode.PUSH, tag=None, method="PUT", url="/w", headers=(("A", "1"),))
    beta2 = codec.task_message(V2BETA2, QUEUE, app, codec.FULL).app_engine_http_request
    assert (beta2.relative_url, beta2.payload, beta2.http_method, dict(beta2.headers)) == (
        "/w",
        b"data",
        4,
        {"A": "1"},
    )
    v2 = codec.task_message(V2, QUEUE, app, codec.BASIC).app_engine_http_request
    assert (v2.relative_uri, v2.body) == ("/w", b"")
    http = _stored(mode=QueueMode.PUSH, tag=None, method="DELETE", http_url="https://h/x")
    message = codec.task_message(
        V2, QUEUE, dataclasses.replace(http, dispatch_deadline_usec=30 * SEC), codec.FULL
    )
    assert (message.http_request.url, message.http_request.http_method) == ("https://h/x", 5)
    assert message.dispatch_deadline.seconds == 30


def _created(d: Dialect, **task: object) -> codec.CreatedTask:
    return codec.add_request(d, d.new("Task", **task), QUEUE, T0)


def test_create_requests_become_add_requests() -> None:
    pull = _created(V2BETA2, pull_message={"payload": b"x", "tag": ""}, name=str(QUEUE.task("n")))
    assert (pull.request.name, pull.request.payload, pull.request.tag) == ("n", b"x", None)
    assert pull.request.mode is QueueMode.PULL and pull.request.eta_usec is None
    later = _created(
        V2,
        http_request={"url": "http://h/", "http_method": 0},
        schedule_time=codec.timestamp(T0 + 5),
    )
    assert (later.request.http_url, later.request.method, later.request.eta_usec) == (
        "http://h/",
        "POST",
        T0 + 5,
    )
    assert later.url_field == "task.http_request.url"
    app = _created(V2BETA3, app_engine_http_request={"headers": {"b": "2", "a": "1"}})
    assert (app.request.url, app.request.headers) == ("/", (("a", "1"), ("b", "2")))
    assert app.url_field == "task.app_engine_http_request.relative_uri"


@pytest.mark.parametrize(
    ("d", "task", "field"),
    [
        (
            V2BETA2,
            {"pull_message": {}, "name": "projects/p/locations/l/queues/other/tasks/t"},
            "task.name",
        ),
        (
            V2,
            {"app_engine_http_request": {"http_method": 6}},
            "task.app_engine_http_request.http_method",
        ),
        (
            V2,
            {"app_engine_http_request": {"http_method": 99}},
            "task.app_engine_http_request.http_method",
        ),
        (
            V2,
            {"http_request": {"url": "http://h/", "http_method": 3, "body": b"x"}},
            "task.http_request.body",
        ),
        (V2, {"http_request": {}}, "task.http_request.url"),
        (V2, {}, "task"),
        (
            V2,
            {"http_request": {"url": "http://h/"}, "dispatch_deadline": Duration(seconds=-1)},
            "task.dispatch_deadline",
        ),
    ],
)
def test_bad_create_requests_name_the_field(
    d: Dialect, task: dict[str, object], field: str
) -> None:
    invalid_field(lambda: _created(d, **task), field)


# -- queues -------------------------------------------------------------------------------------


def test_a_push_queue_from_queue_yaml() -> None:
    config = QueueConfig(
        "q",
        QueueMode.PUSH,
        rate_per_second=0.5,
        bucket_size=7,
        max_concurrent_requests=3,
        target="v1.worker",
        retry_parameters=RetryParameters(
            task_retry_limit=0, task_age_limit_sec=7200, max_backoff_seconds=60.0
        ),
    )
    beta2 = codec.queue_message(V2BETA2, QUEUE, config, QueueStats("q"), None)
    routing = beta2.app_engine_http_target.app_engine_routing_override
    assert (routing.service, routing.version) == ("worker", "v1")
    limits = beta2.rate_limits
    assert (
        limits.max_tasks_dispatched_per_second,
        limits.max_burst_size,
        limits.max_concurrent_tasks,
    ) == (0.5, 7, 3)
    retry = beta2.retry_config
    assert retry.max_attempts == 1  # task_retry_limit 0: the first attempt only
    assert (retry.max_retry_duration.seconds, retry.max_backoff.seconds) == (7200, 60)
    assert (retry.min_backoff.nanos, retry.max_doublings) == (
        100_000_000,
        16,
    )  # App Engine's defaults
    v2 = codec.queue_message(V2, QUEUE, config, QueueStats("q", paused=True), None)
    assert (v2.app_engine_routing_override.service, v2.state) == ("worker", codec.PAUSED)
    assert v2.rate_limits.max_concurrent_dispatches == 3
    beta3 = codec.queue_message(V2BETA3, QUEUE, config, QueueStats("q"), None)
    assert (beta3.type_, beta3.app_engine_http_queue.app_engine_routing_override.service) == (
        codec.TYPE_PUSH,
        "worker",
    )


def test_a_pull_queue_and_its_stats_only_under_a_mask() -> None:
    config = QueueConfig("q", QueueMode.PULL, retry_parameters=RetryParameters(task_retry_limit=4))
    stats = QueueStats("q", tasks=3, oldest_eta_usec=T0, leased_last_minute=2, in_flight=1)
    plain = codec.queue_message(V2BETA2, QUEUE, config, stats, None)
    assert plain.HasField("pull_target") and not plain.HasField("stats")
    assert (plain.retry_config.max_attempts, plain.rate_limits.max_concurrent_tasks) == (5, -1)
    mask = codec.check_queue_mask(V2BETA2, FieldMask(paths=["stats"]), "read_mask")
    masked = codec.queue_message(V2BETA2, QUEUE, config, stats, mask)
    assert not masked.name and not masked.HasField("pull_target")
    assert (masked.stats.tasks_count, masked.stats.executed_last_minute_count) == (3, 2)
    assert (
        masked.stats.concurrent_dispatches_count,
        masked.stats.oldest_estimated_arrival_time.seconds,
    ) == (
        1,
        T0 // SEC,
    )
    beta3 = codec.check_queue_mask(V2BETA3, FieldMask(paths=["type"]), "read_mask")
    assert list(beta3.paths) == ["type_"]
    invalid_field(
        lambda: codec.check_queue_mask(V2BETA2, FieldMask(paths=["stats.nope"]), "read_mask"),
        "read_mask",
    )


def test_max_attempts_is_the_retry_limit_plus_one() -> None:
    assert codec.max_attempts(None) is None
    assert codec.max_attempts(RetryParameters()) is None
    assert codec.max_attempts(RetryParameters(task_retry_limit=2)) == 3
