"""Contract tests of the API-server face (``POST /rpc_http``) through Flask's test client.

Requests and responses are Google's own ``*_pb2`` messages (``appengine-python-standard``), so
each test also proves wire compatibility; the first section compares our generated protos with
the SDK's field by field. The clock is frozen at ``T0_USEC`` and moved explicitly.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask.testing import FlaskClient
from google.appengine.api.taskqueue import taskqueue_service_bytes_pb2 as sdk
from google.appengine.ext.remote_api import remote_api_bytes_pb2 as sdk_remote
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.app import create_app, runtime_app
from emulator.domain.clock import ControllableClock
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import MAX_REQUEST_SIZE_BYTES
from emulator.domain.model import AddRequest
from emulator.domain.queue_config import QueueMode, RetryParameters
from emulator.faces.rpc_http import CLIENT_NOW_HEADER
from emulator.faces.rpc_http import codec as rpc_codec
from emulator.faces.rpc_http.protos import remote_api_wire_pb2 as ours_remote
from emulator.faces.rpc_http.protos import taskqueue_wire_pb2 as ours
from emulator.wiring import Runtime, build_runtime

if TYPE_CHECKING:
    from google._upb._message import FieldDescriptor as UpbFieldDescriptor

    AnyFieldDescriptor = FieldDescriptor | UpbFieldDescriptor
from tests.rpc_support import LIMITED, PULL, SEC, T0_USEC, envelope, post_rpc, write_queue_yaml

ROOT = Path(__file__).resolve().parent.parent
ERR = sdk.TaskQueueServiceError
RPC_ERR = sdk_remote.RpcError


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    built = build_runtime(str(write_queue_yaml(tmp_path)), ":memory:")
    built.clock.freeze(T0_USEC)
    yield built
    built.close()


class ClockedClient(FlaskClient):
    """A client whose clock reads the emulator's, as it says in ``CLIENT_NOW_HEADER``."""

    clock: ControllableClock

    def open(self, *args: Any, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault(CLIENT_NOW_HEADER, str(self.clock.now_usec()))
        return super().open(*args, headers=headers, **kwargs)


@pytest.fixture
def client(runtime: Runtime) -> FlaskClient:
    app = runtime_app(runtime)
    app.test_client_class = ClockedClient
    test_client = app.test_client()
    assert isinstance(test_client, ClockedClient)
    test_client.clock = runtime.clock
    return test_client


def call(client: FlaskClient, method: str, request: Message, response: Message) -> Any:
    """Make one call; assert success and return ``response`` filled in."""
    answer = post_rpc(client, envelope(method, request))
    assert not answer.HasField("application_error"), answer.application_error
    assert not answer.HasField("rpc_error"), answer.rpc_error
    response.ParseFromString(answer.response)
    return response


def app_error(client: FlaskClient, method: str, request: Message) -> int:
    """Make one call that must fail with ``application_error``; return its code."""
    answer = post_rpc(client, envelope(method, request))
    assert answer.HasField("application_error"), answer
    assert not answer.HasField("response")
    return int(answer.application_error.code)


def rpc_error(client: FlaskClient, body: bytes) -> int:
    """POST a body that must fail with ``rpc_error``; return its code."""
    answer = post_rpc(client, body)
    assert answer.HasField("rpc_error"), answer
    return int(answer.rpc_error.code)


def pull(name: str = "", *, queue: str = PULL, eta: int = T0_USEC - SEC, **fields: Any) -> Any:
    """A PULL ``TaskQueueAddRequest`` as the Python SDK builds it."""
    request = sdk.TaskQueueAddRequest(
        queue_name=queue.encode(), task_name=name.encode(), eta_usec=eta, mode=1, body=b"body"
    )
    for key, value in fields.items():
        if key == "retry_parameters":
            request.retry_parameters.CopyFrom(value)
        else:
            setattr(request, key, value)
    return request


def bulk(*requests: Any) -> Any:
    bulk_request = sdk.TaskQueueBulkAddRequest()
    bulk_request.add_request.extend(requests)
    return bulk_request


def add(client: FlaskClient, *requests: Any) -> list[tuple[int, str | None]]:
    response = call(client, "BulkAdd", bulk(*requests), sdk.TaskQueueBulkAddResponse())
    return [
        (r.result, r.chosen_task_name.decode() if r.HasField("chosen_task_name") else None)
        for r in response.taskresult
    ]


def lease(
    client: FlaskClient, queue: str = PULL, seconds: float = 30, n: int = 10, **kw: Any
) -> Any:
    request = sdk.TaskQueueQueryAndOwnTasksRequest(
        queue_name=queue.encode(), lease_seconds=seconds, max_tasks=n, **kw
    )
    return call(client, "QueryAndOwnTasks", request, sdk.TaskQueueQueryAndOwnTasksResponse()).task


def stats(client: FlaskClient, *queues: str) -> Any:
    request = sdk.TaskQueueFetchQueueStatsRequest(queue_name=[q.encode() for q in queues])
    return call(
        client, "FetchQueueStats", request, sdk.TaskQueueFetchQueueStatsResponse()
    ).queuestats


def delete(client: FlaskClient, *names: bytes, queue: str = PULL) -> list[int]:
    request = sdk.TaskQueueDeleteRequest(queue_name=queue.encode(), task_name=list(names))
    return list(call(client, "Delete", request, sdk.TaskQueueDeleteResponse()).result)


# -- the generated protos against the SDK's --------------------------------------------------------


def _normalised(message: Descriptor, package: str) -> descriptor_pb2.DescriptorProto:
    proto = descriptor_pb2.DescriptorProto()
    message.CopyToProto(proto)
    stack = [proto]
    while stack:
        current = stack.pop()
        stack.extend(current.nested_type)
        for field in current.field:
            field.type_name = field.type_name.replace(package, "")
            field.ClearField("json_name")
            field.ClearField("options")  # ctype=CORD: C++ only
    return proto


#: Fields whose foreign message we declare as ``bytes`` (same wire encoding, see the .proto).
OPAQUE = {("TaskQueueAddRequest", "transaction"), ("TaskQueueAddRequest", "payload")}


@pytest.mark.parametrize(
    ("ours_module", "sdk_module", "sdk_package"),
    [
        (ours, sdk, ".apphosting_bytes"),
        (ours_remote, sdk_remote, ".google.appengine.ext.remote_api_bytes"),
    ],
)
def test_every_message_matches_the_sdk_field_for_field(
    ours_module: Any, sdk_module: Any, sdk_package: str
) -> None:
    for name, ours_message in ours_module.DESCRIPTOR.message_types_by_name.items():
        mine = _normalised(ours_message, ".taskqueue_emulator.wire")
        theirs = _normalised(sdk_module.DESCRIPTOR.message_types_by_name[name], sdk_package)
        for field in theirs.field:
            if (name, field.name) in OPAQUE:
                field.type, field.type_name = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES, ""
        for nested in theirs.nested_type:  # QueryTasksResponse.Task.payload
            for field in nested.field:
                if field.name == "payload":
                    field.type, field.type_name = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES, ""
        assert mine == theirs, name


def test_our_descriptors_live_in_their_own_package_and_files() -> None:
    assert ours.DESCRIPTOR.package == "taskqueue_emulator.wire"
    assert ours.DESCRIPTOR.name != sdk.DESCRIPTOR.name
    assert ours_remote.DESCRIPTOR.name != sdk_remote.DESCRIPTOR.name


def test_error_codes_are_the_sdk_enum() -> None:
    for code in ErrorCode:
        assert rpc_codec.APPLICATION_ERROR_CODES[code] == code.value
        assert ERR.ErrorCode.Value(code.name) == code.value
        assert rpc_codec.error_code(code.value) is code
    with pytest.raises(ValueError):
        rpc_codec.error_code(99)


def _fill(message: Message, depth: int = 0) -> Message:
    """Set every field of ``message`` (repeated ones twice) to a deterministic value."""
    for field in message.DESCRIPTOR.fields:
        count = 2 if field.is_repeated else 1
        for i in range(count):
            _set(message, field, i, depth)
    return message


def _scalar(field: AnyFieldDescriptor, i: int) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        return field.enum_type.values[-1 - i].number
    if field.type in (FieldDescriptor.TYPE_BYTES, FieldDescriptor.TYPE_STRING):
        value = f"{field.name}-{i}-é"
        return value.encode() if field.type == FieldDescriptor.TYPE_BYTES else value
    if field.type == FieldDescriptor.TYPE_BOOL:
        return True
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return 1.5 + field.number + i
    return (
        -(field.number * 1000 + i) if field.type == FieldDescriptor.TYPE_INT64 else field.number + i
    )


def _set(message: Message, field: AnyFieldDescriptor, i: int, depth: int) -> None:
    if field.message_type is not None:
        if depth > 3:
            return
        target = getattr(message, field.name)
        child = target.add() if field.is_repeated else target
        child.SetInParent()
        _fill(child, depth + 1)
    elif field.is_repeated:
        getattr(message, field.name).append(_scalar(field, i))
    else:
        setattr(message, field.name, _scalar(field, i))


def _clear_opaque(message: Message) -> Message:
    """Clear our ``bytes`` stand-ins for foreign messages (random bytes would not parse)."""
    for field, value in message.ListFields():
        if field.name in ("transaction", "payload"):
            message.ClearField(field.name)
        elif field.message_type is not None:
            for child in value if field.is_repeated else [value]:
                _clear_opaque(child)
    return message


@pytest.mark.parametrize(
    "name",
    sorted(set(ours.DESCRIPTOR.message_types_by_name) | {"Request", "Response"}),
)
def test_messages_round_trip_byte_for_byte_with_the_sdk(name: str) -> None:
    module_pair = (ours_remote, sdk_remote) if name in ("Request", "Response") else (ours, sdk)
    ours_type = getattr(module_pair[0], name)
    sdk_type = getattr(module_pair[1], name)
    original = _fill(sdk_type()).SerializeToString()
    mine = ours_type.FromString(original)
    assert mine.IsInitialized()
    assert mine.SerializeToString() == original
    assert sdk_type.FromString(mine.SerializeToString()) == sdk_type.FromString(original)
    made_by_us = _clear_opaque(_fill(ours_type())).SerializeToString()
    assert ours_type.FromString(sdk_type.FromString(made_by_us).SerializeToString()) == (
        ours_type.FromString(made_by_us)
    )


@pytest.mark.e2e
def test_checked_in_pb2_files_match_a_fresh_generation() -> None:
    pytest.importorskip("grpc_tools")
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts" / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    sys.modules["gen_protos"] = gen
    try:
        spec.loader.exec_module(gen)
        fresh = gen.generate()
    finally:
        del sys.modules["gen_protos"]
    assert len(fresh) == 6  # taskqueue, remote_api and logservice: _pb2.py + .pyi each
    assert gen.stale_files(fresh) == []
    assert all("ValidateProtobufRuntimeVersion" not in text for text in fresh.values())


# -- BulkAdd and Add -------------------------------------------------------------------------------


def test_bulk_add_names_unnamed_tasks_and_always_returns_the_chosen_name(
    client: FlaskClient,
) -> None:
    assert add(client, pull(), pull("named"), pull()) == [
        (ERR.OK, "task1"),
        (ERR.OK, None),
        (ERR.OK, "task2"),
    ]
    assert [t.task_name for t in lease(client)] == [b"named", b"task1", b"task2"]


def test_bulk_add_rejects_the_whole_batch_when_one_task_is_invalid(client: FlaskClient) -> None:
    too_late = T0_USEC + 31 * 24 * 3600 * SEC
    assert add(client, pull("a"), pull("b", eta=too_late), pull("c", eta=-1)) == [
        (ERR.SKIPPED, None),
        (ERR.INVALID_ETA, None),
        (ERR.INVALID_ETA, None),
    ]
    assert stats(client, PULL)[0].num_tasks == 0


def test_bulk_add_reports_existing_and_tombstoned_names_per_task(client: FlaskClient) -> None:
    add(client, pull("old"), pull("gone"))
    assert delete(client, b"gone") == [ERR.OK]
    assert add(client, pull("new"), pull("old"), pull("gone")) == [
        (ERR.OK, None),
        (ERR.TASK_ALREADY_EXISTS, None),
        (ERR.TOMBSTONED_TASK, None),
    ]


def test_bulk_add_to_an_unknown_queue_fails_every_task(client: FlaskClient) -> None:
    assert add(client, pull(queue="nope"), pull("x", queue="nope")) == [
        (ERR.UNKNOWN_QUEUE, None),
        (ERR.UNKNOWN_QUEUE, None),
    ]


def test_bulk_add_in_the_wrong_mode_fails_the_whole_call(client: FlaskClient) -> None:
    assert app_error(client, "BulkAdd", bulk(pull(queue="default"))) == ERR.INVALID_QUEUE_MODE
    push = sdk.TaskQueueAddRequest(queue_name=PULL.encode(), task_name=b"", eta_usec=T0_USEC)
    push.url, push.method = b"/work", sdk.TaskQueueAddRequest.POST
    assert app_error(client, "BulkAdd", bulk(push)) == ERR.INVALID_QUEUE_MODE


def test_bulk_add_request_shape_errors(client: FlaskClient) -> None:
    assert list(call(client, "BulkAdd", bulk(), sdk.TaskQueueBulkAddResponse()).taskresult) == []
    assert app_error(client, "BulkAdd", bulk(pull(queue=""))) == ERR.UNKNOWN_QUEUE
    mixed = bulk(pull("a"), pull("b", queue=LIMITED))
    assert app_error(client, "BulkAdd", mixed) == ERR.INVALID_REQUEST
    assert app_error(client, "BulkAdd", bulk(pull(tag=b"\xff"))) == ERR.INVALID_TAG


def test_bulk_add_with_a_cron_timetable_is_permission_denied(client: FlaskClient) -> None:
    cron = pull("c")
    cron.crontimetable.schedule, cron.crontimetable.timezone = b"every 1 mins", b"UTC"
    assert add(client, pull("a"), cron) == [(ERR.SKIPPED, None), (ERR.PERMISSION_DENIED, None)]


def test_transactional_adds_are_added_at_once(client: FlaskClient) -> None:
    assert add(client, pull("t", datastore_transaction=b"txn")) == [(ERR.OK, None)]
    assert stats(client, PULL)[0].num_tasks == 1


def test_per_task_retry_parameters_are_honoured(client: FlaskClient, runtime: Runtime) -> None:
    once = sdk.TaskQueueRetryParameters(retry_limit=1)
    add(client, pull("go", retry_parameters=once))
    assert [t.retry_count for t in lease(client, seconds=0)] == [1]
    runtime.clock.advance(1)
    assert list(lease(client, seconds=0)) == []
    assert add(client, pull("go")) == [(ERR.TOMBSTONED_TASK, None)]


def test_add_returns_the_chosen_name_or_fails_the_call(client: FlaskClient) -> None:
    reply = call(client, "Add", pull(), sdk.TaskQueueAddResponse())
    assert reply.chosen_task_name == b"task1"
    named = call(client, "Add", pull("n"), sdk.TaskQueueAddResponse())
    assert not named.HasField("chosen_task_name")
    assert app_error(client, "Add", pull("n")) == ERR.TASK_ALREADY_EXISTS
    assert app_error(client, "Add", pull(queue="nope")) == ERR.UNKNOWN_QUEUE


# -- client clocks under a test clock ----------------------------------------------------------


def wall_usec() -> int:
    return time.time_ns() // 1000


def test_a_wall_clock_client_add_is_ready_at_the_frozen_instant(runtime: Runtime) -> None:
    """Go and the SDK with API_HOST send no clock reading: their ETAs are read on the wall
    clock, so a task stamped "now" is ready at the frozen instant (T0, months ago)."""
    plain = runtime_app(runtime).test_client()
    answer = post_rpc(plain, envelope("BulkAdd", bulk(pull("now", eta=wall_usec()))))
    assert not answer.HasField("application_error")
    stored = runtime.service.get_task(PULL, "now")
    assert T0_USEC - SEC < stored.eta_usec <= T0_USEC
    assert [t.task_name for t in lease(plain)] == [b"now"]


def test_a_wall_clock_client_countdown_counts_on_the_frozen_clock(runtime: Runtime) -> None:
    plain = runtime_app(runtime).test_client()
    post_rpc(plain, envelope("BulkAdd", bulk(pull("later", eta=wall_usec() + 30 * SEC))))
    runtime.clock.advance(29.9)
    assert lease(plain) == []
    runtime.clock.advance(0.1)
    assert [t.task_name for t in lease(plain)] == [b"later"]


def test_a_client_that_says_what_its_clock_reads_gets_exact_etas(runtime: Runtime) -> None:
    plain = runtime_app(runtime).test_client()
    client_now = wall_usec()
    body = envelope("BulkAdd", bulk(pull("c", eta=client_now + 30 * SEC)))
    answer = plain.post(
        "/rpc_http",
        data=body,
        content_type="application/octet-stream",
        headers={CLIENT_NOW_HEADER: str(client_now)},
    )
    assert answer.status_code == 200
    assert runtime.service.get_task(PULL, "c").eta_usec == T0_USEC + 30 * SEC


def test_on_the_system_clock_client_etas_are_stored_as_sent(runtime: Runtime) -> None:
    runtime.clock.unfreeze()
    plain = runtime_app(runtime).test_client()
    eta = wall_usec() + 7 * SEC + 123
    answer = plain.post(
        "/rpc_http",
        data=envelope("BulkAdd", bulk(pull("exact", eta=eta))),
        content_type="application/octet-stream",
        headers={CLIENT_NOW_HEADER: str(T0_USEC)},  # ignored: no test clock in force
    )
    assert answer.status_code == 200
    assert runtime.service.get_task(PULL, "exact").eta_usec == eta


def test_lease_tokens_are_never_translated(runtime: Runtime) -> None:
    """ModifyTaskLease carries a token the emulator issued: it is compared as sent."""
    plain = runtime_app(runtime).test_client()
    post_rpc(plain, envelope("BulkAdd", bulk(pull("t", eta=wall_usec()))))
    [task] = lease(plain, seconds=30)
    request = sdk.TaskQueueModifyTaskLeaseRequest(
        queue_name=PULL.encode(), task_name=b"t", eta_usec=task.eta_usec, lease_seconds=60
    )
    answer = post_rpc(plain, envelope("ModifyTaskLease", request))
    assert not answer.HasField("application_error"), answer.application_error
    assert sdk.TaskQueueModifyTaskLeaseResponse.FromString(answer.response).updated_eta_usec == (
        T0_USEC + 60 * SEC
    )


@pytest.mark.parametrize("value", ["soon", "1.5", "", "9" * 30])
def test_a_bad_client_clock_header_is_a_parse_error_naming_it(runtime: Runtime, value: str) -> None:
    plain = runtime_app(runtime).test_client()
    answer = plain.post(
        "/rpc_http",
        data=envelope("BulkAdd", bulk(pull("t"))),
        content_type="application/octet-stream",
        headers={CLIENT_NOW_HEADER: value},
    )
    reply = sdk_remote.Response.FromString(answer.data)
    assert reply.rpc_error.code == RPC_ERR.PARSE_ERROR
    assert CLIENT_NOW_HEADER in reply.rpc_error.detail
    assert runtime.service.stats([PULL])[0].tasks == 0


# -- leases ----------------------------------------------------------------------------------------


def test_query_and_own_tasks_leases_in_eta_then_name_order(client: FlaskClient) -> None:
    add(client, pull("b"), pull("a"), pull("later", eta=T0_USEC + 60 * SEC), pull("c", tag=b"t"))
    tasks = lease(client, seconds=30)
    assert [(t.task_name, t.eta_usec, t.retry_count, t.body) for t in tasks] == [
        (b"a", T0_USEC + 30 * SEC, 1, b"body"),
        (b"b", T0_USEC + 30 * SEC, 1, b"body"),
        (b"c", T0_USEC + 30 * SEC, 1, b"body"),
    ]
    assert [t.HasField("tag") for t in tasks] == [False, False, True]
    assert list(lease(client)) == []


def test_query_and_own_tasks_by_tag(client: FlaskClient) -> None:
    add(
        client,
        pull("u1", eta=T0_USEC - 4),
        pull("a1", eta=T0_USEC - 3, tag=b"A"),
        pull("u2", eta=T0_USEC - 2),
        pull("a2", eta=T0_USEC - 1, tag=b"A"),
        pull("future", eta=T0_USEC + SEC, tag=b"A"),
    )
    assert [t.task_name for t in lease(client, n=2, group_by_tag=True)] == [b"u1"]
    assert [t.task_name for t in lease(client, n=5, group_by_tag=True, tag=b"A")] == [b"a1", b"a2"]
    assert [t.task_name for t in lease(client, n=5, group_by_tag=True, tag=b"")] == [b"u2"]


def test_query_and_own_tasks_errors(client: FlaskClient) -> None:
    def query(queue: bytes = PULL.encode(), **kw: Any) -> int:
        fields = {"lease_seconds": 1.0, "max_tasks": 1, **kw}
        request = sdk.TaskQueueQueryAndOwnTasksRequest(queue_name=queue, **fields)
        return app_error(client, "QueryAndOwnTasks", request)

    assert query(b"nope") == ERR.UNKNOWN_QUEUE
    assert query(b"default") == ERR.INVALID_QUEUE_MODE
    assert query(b"\xff") == ERR.INVALID_QUEUE_NAME
    assert query(lease_seconds=-1.0) == ERR.INVALID_REQUEST
    assert query(max_tasks=0) == ERR.INVALID_REQUEST
    assert query(tag=b"A") == ERR.INVALID_REQUEST


def test_modify_task_lease(client: FlaskClient, runtime: Runtime) -> None:
    add(client, pull("t"))
    [task] = lease(client, seconds=30)

    def modify(name: bytes, eta: int, seconds: float) -> sdk.TaskQueueModifyTaskLeaseRequest:
        return sdk.TaskQueueModifyTaskLeaseRequest(
            queue_name=PULL.encode(), task_name=name, eta_usec=eta, lease_seconds=seconds
        )

    runtime.clock.advance(10)
    reply = call(
        client,
        "ModifyTaskLease",
        modify(b"t", task.eta_usec, 60),
        sdk.TaskQueueModifyTaskLeaseResponse(),
    )
    assert reply.updated_eta_usec == T0_USEC + 70 * SEC
    assert (
        app_error(client, "ModifyTaskLease", modify(b"t", task.eta_usec, 60))
        == ERR.TASK_LEASE_EXPIRED
    )
    assert app_error(client, "ModifyTaskLease", modify(b"zz", 1, 60)) == ERR.UNKNOWN_TASK
    assert app_error(client, "ModifyTaskLease", modify(b"\xff", 1, 60)) == ERR.INVALID_TASK_NAME
    delete(client, b"t")
    assert app_error(client, "ModifyTaskLease", modify(b"t", 1, 60)) == ERR.TOMBSTONED_TASK


# -- delete, purge, pause --------------------------------------------------------------------------


def test_delete_reports_per_task_results(client: FlaskClient) -> None:
    add(client, pull("a"), pull("b"))
    assert delete(client, b"a", b"never", b"\xff") == [ERR.OK, ERR.UNKNOWN_TASK, ERR.UNKNOWN_TASK]
    assert delete(client, b"a", b"b") == [ERR.TOMBSTONED_TASK, ERR.OK]
    assert delete(client, b"a", b"b", queue="nope") == [ERR.UNKNOWN_QUEUE, ERR.UNKNOWN_QUEUE]
    assert delete(client, queue=PULL) == []


def test_purge_queue_keeps_names_tombstoned(client: FlaskClient) -> None:
    add(client, pull("a"), pull("b"))
    purge = sdk.TaskQueuePurgeQueueRequest(queue_name=PULL.encode())
    call(client, "PurgeQueue", purge, sdk.TaskQueuePurgeQueueResponse())
    assert stats(client, PULL)[0].num_tasks == 0
    assert add(client, pull("a")) == [(ERR.TOMBSTONED_TASK, None)]
    unknown = sdk.TaskQueuePurgeQueueRequest(queue_name=b"nope")
    assert app_error(client, "PurgeQueue", unknown) == ERR.UNKNOWN_QUEUE


def test_pause_queue_stops_leases_until_resumed(client: FlaskClient) -> None:
    add(client, pull("a"))

    def pause(flag: bool, queue: bytes = PULL.encode()) -> sdk.TaskQueuePauseQueueRequest:
        return sdk.TaskQueuePauseQueueRequest(app_id=b"app", queue_name=queue, pause=flag)

    call(client, "PauseQueue", pause(True), sdk.TaskQueuePauseQueueResponse())
    request = sdk.TaskQueueQueryAndOwnTasksRequest(
        queue_name=PULL.encode(), lease_seconds=1, max_tasks=1
    )
    assert app_error(client, "QueryAndOwnTasks", request) == ERR.QUEUE_PAUSED
    call(client, "PauseQueue", pause(False), sdk.TaskQueuePauseQueueResponse())
    assert len(lease(client)) == 1
    assert app_error(client, "PauseQueue", pause(True, b"nope")) == ERR.UNKNOWN_QUEUE


# -- statistics and inspection ---------------------------------------------------------------------


def test_fetch_queue_stats_known_and_unknown(client: FlaskClient, runtime: Runtime) -> None:
    add(client, pull("a"), pull("b", eta=T0_USEC + 5 * SEC))
    lease(client, seconds=100, n=1)
    known, unknown = stats(client, PULL, "nope")
    assert (known.num_tasks, known.oldest_eta_usec) == (2, T0_USEC + 5 * SEC)
    info = known.scanner_info
    assert (info.executed_last_minute, info.executed_last_hour) == (1, 1)
    assert (info.requests_in_flight, info.sampling_duration_seconds) == (1, 3600.0)
    assert not info.HasField("enforced_rate")
    assert (unknown.num_tasks, unknown.oldest_eta_usec) == (0, -1)
    assert not unknown.HasField("scanner_info")
    runtime.clock.advance(61)
    assert stats(client, PULL)[0].scanner_info.executed_last_minute == 0
    [default] = stats(client, "default")
    assert (default.oldest_eta_usec, default.scanner_info.enforced_rate) == (-1, 5.0)


def test_fetch_queues_lists_configured_queues_by_name(client: FlaskClient) -> None:
    request = sdk.TaskQueueFetchQueuesRequest(max_rows=10)
    queues = call(client, "FetchQueues", request, sdk.TaskQueueFetchQueuesResponse()).queue
    assert [q.queue_name for q in queues] == [b"default", LIMITED.encode(), PULL.encode()]
    default, limited, _ = queues
    assert (default.mode, default.user_specified_rate, default.bucket_capacity) == (0, "5/s", 5.0)
    assert (limited.mode, limited.retry_parameters.retry_limit, limited.paused) == (1, 2, False)
    two = call(
        client,
        "FetchQueues",
        sdk.TaskQueueFetchQueuesRequest(max_rows=2),
        sdk.TaskQueueFetchQueuesResponse(),
    )
    assert len(two.queue) == 2


def test_query_tasks_by_name_and_by_eta(client: FlaskClient) -> None:
    add(
        client,
        pull("b", eta=T0_USEC - 5),
        pull("a", eta=T0_USEC - 1, tag=b"t"),
        pull("c", eta=T0_USEC - 9),
    )

    def query(**kw: Any) -> list[bytes]:
        request = sdk.TaskQueueQueryTasksRequest(queue_name=PULL.encode(), **kw)
        reply = call(client, "QueryTasks", request, sdk.TaskQueueQueryTasksResponse())
        return [t.task_name for t in reply.task]

    assert query() == [b"a"]
    assert query(max_rows=10) == [b"a", b"b", b"c"]
    assert query(max_rows=10, start_task_name=b"b") == [b"b", b"c"]
    assert query(max_rows=10, start_eta_usec=0) == [b"c", b"b", b"a"]
    assert query(max_rows=10, start_eta_usec=T0_USEC - 5, start_task_name=b"b") == [b"b", b"a"]
    assert query(max_rows=10, start_tag=b"t") == [b"a"]
    unknown = sdk.TaskQueueQueryTasksRequest(queue_name=b"nope")
    assert app_error(client, "QueryTasks", unknown) == ERR.UNKNOWN_QUEUE


def test_fetch_task(client: FlaskClient) -> None:
    add(client, pull("a", tag=b"t", retry_parameters=sdk.TaskQueueRetryParameters(retry_limit=3)))

    def fetch(name: bytes) -> sdk.TaskQueueFetchTaskRequest:
        return sdk.TaskQueueFetchTaskRequest(queue_name=PULL.encode(), task_name=name)

    reply = call(client, "FetchTask", fetch(b"a"), sdk.TaskQueueFetchTaskResponse())
    [task] = reply.task.task
    assert (task.task_name, task.tag, task.body, task.retry_count) == (b"a", b"t", b"body", 0)
    assert (task.method, task.creation_time_usec, task.retry_parameters.retry_limit) == (
        2,
        T0_USEC,
        3,
    )
    delete(client, b"a")
    assert app_error(client, "FetchTask", fetch(b"a")) == ERR.TOMBSTONED_TASK
    assert app_error(client, "FetchTask", fetch(b"b")) == ERR.UNKNOWN_TASK


# -- envelope errors -------------------------------------------------------------------------------


def test_unknown_service_or_method_is_call_not_found(client: FlaskClient) -> None:
    request = sdk.TaskQueuePurgeQueueRequest(queue_name=PULL.encode())
    assert (
        rpc_error(client, envelope("PurgeQueue", request, service="datastore_v3"))
        == RPC_ERR.CALL_NOT_FOUND
    )
    assert rpc_error(client, envelope("UpdateQueue", request)) == RPC_ERR.CALL_NOT_FOUND
    assert rpc_error(client, envelope("DeleteQueue", b"\xff\xff")) == RPC_ERR.CALL_NOT_FOUND


def test_unparsable_envelopes_and_requests_are_parse_errors(client: FlaskClient) -> None:
    assert rpc_error(client, b"\xff\xff\xff") == RPC_ERR.PARSE_ERROR
    assert rpc_error(client, b"") == RPC_ERR.PARSE_ERROR  # required fields missing
    assert rpc_error(client, envelope("PurgeQueue", b"\x0a\x05ab")) == RPC_ERR.PARSE_ERROR
    incomplete = sdk.TaskQueueModifyTaskLeaseRequest(queue_name=b"q").SerializePartialToString()
    assert rpc_error(client, envelope("ModifyTaskLease", incomplete)) == RPC_ERR.PARSE_ERROR


def test_too_large_bodies_are_refused_without_a_500(client: FlaskClient) -> None:
    assert rpc_error(client, b"\x00" * (MAX_REQUEST_SIZE_BYTES + 1)) == RPC_ERR.REQUEST_TOO_LARGE


def test_only_post_is_allowed(client: FlaskClient) -> None:
    answer = client.get("/rpc_http")
    assert answer.status_code == 405
    assert answer.get_json()["error"]["code"] == "INVALID_REQUEST"


class _BrokenService:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("boom")


def test_a_bug_in_the_service_is_an_internal_error_not_a_500(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    client = create_app(_BrokenService()).test_client()
    request = sdk.TaskQueuePurgeQueueRequest(queue_name=PULL.encode())
    assert app_error(client, "PurgeQueue", request) == ERR.INTERNAL_ERROR
    assert "internal error in /rpc_http" in caplog.text


# -- fuzzing ---------------------------------------------------------------------------------------

METHODS = [
    "BulkAdd",
    "Add",
    "QueryAndOwnTasks",
    "ModifyTaskLease",
    "Delete",
    "PurgeQueue",
    "FetchQueueStats",
    "QueryTasks",
    "FetchTask",
    "FetchQueues",
    "PauseQueue",
    "Nope",
]
VALID = [
    envelope("BulkAdd", bulk(pull("a"), pull())),
    envelope(
        "QueryAndOwnTasks",
        sdk.TaskQueueQueryAndOwnTasksRequest(queue_name=b"pullq", lease_seconds=1, max_tasks=5),
    ),
    envelope("FetchQueueStats", sdk.TaskQueueFetchQueueStatsRequest(queue_name=[b"pullq"])),
    envelope("Delete", sdk.TaskQueueDeleteRequest(queue_name=b"pullq", task_name=[b"a"])),
]


def _bodies() -> st.SearchStrategy[bytes]:
    truncated = st.tuples(st.sampled_from(VALID), st.integers(0, 200)).map(lambda v: v[0][: v[1]])
    inner = st.tuples(st.sampled_from(METHODS), st.binary(max_size=80)).map(lambda v: envelope(*v))
    mutated = st.tuples(st.sampled_from(VALID), st.integers(0, 200), st.integers(0, 255)).map(
        lambda v: v[0][: v[1]] + bytes([v[2]]) + v[0][v[1] + 1 :]
    )
    return st.one_of(st.binary(max_size=200), truncated, inner, mutated)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_bodies())
def test_fuzzed_bodies_never_break_the_face(client: FlaskClient, body: bytes) -> None:
    answer = post_rpc(client, body)
    assert sum(answer.HasField(f) for f in ("response", "application_error", "rpc_error")) <= 1
    if answer.HasField("application_error"):
        assert answer.application_error.code != ERR.INTERNAL_ERROR, answer
    assert stats(client, PULL)[0].num_tasks >= 0


def test_add_request_reads_every_field_of_a_push_and_a_pull_task() -> None:
    """The per-task reader of BulkAdd: each field set, or its default when unset."""
    push = ours.TaskQueueAddRequest(
        queue_name=b"q",
        task_name=b"named",
        eta_usec=5,
        body=b"b",
        mode=ours.TaskQueueMode.PUSH,
        method=ours.TaskQueueAddRequest.RequestMethod.PUT,
        url=b"/work",
        retry_parameters=ours.TaskQueueRetryParameters(retry_limit=3),
        dispatch_deadline_usec=7,
    )
    header = push.header.add()
    header.key, header.value = b"X-A", b"1"
    assert rpc_codec.add_request(push) == AddRequest(
        payload=b"b",
        name="named",
        eta_usec=5,
        mode=QueueMode.PUSH,
        method="PUT",
        url="/work",
        headers=(("X-A", "1"),),
        retry_parameters=RetryParameters(task_retry_limit=3),
        dispatch_deadline_usec=7,
    )
    bare_push = ours.TaskQueueAddRequest(queue_name=b"q", task_name=b"", eta_usec=1)
    assert rpc_codec.add_request(bare_push).method == "POST"  # unset mode: PUSH, POST
    pull = ours.TaskQueueAddRequest(
        queue_name=b"q", task_name=b"", eta_usec=1, mode=ours.TaskQueueMode.PULL, tag=b"t"
    )
    assert rpc_codec.add_request(pull) == AddRequest(
        payload=b"", name=None, eta_usec=1, mode=QueueMode.PULL, tag="t"
    )
    bad_header = ours.TaskQueueAddRequest(queue_name=b"q", task_name=b"", eta_usec=1)
    bad = bad_header.header.add()
    bad.key, bad.value = b"X-A", b"\xff"
    with pytest.raises(TaskQueueError) as raised:
        rpc_codec.add_request(bad_header)
    assert raised.value.code is ErrorCode.INVALID_REQUEST
