"""Contract tests of ``logservice.Flush`` at ``/rpc_http`` (Go apps' log lines) and of the
answer for services the emulator does not serve, through Flask's test client.

The wire messages are checked against the Go package's own ``.proto`` files where Debian's
``golang-google-appengine-dev`` is installed; ``tests/test_go_taskqueue.py`` sends real
flushes from a Go app.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from google.appengine.api import api_base_pb2 as sdk_base
from google.appengine.ext.remote_api import remote_api_bytes_pb2 as sdk_remote
from google.protobuf import descriptor_pb2

from emulator.app import runtime_app
from emulator.faces.rpc_http import logservice as rpc_logservice
from emulator.faces.rpc_http.protos import logservice_wire_pb2 as ours
from emulator.wiring import Runtime, build_runtime
from tests.go_support import APPENGINE_SRC
from tests.rpc_support import T0_USEC, envelope, post_rpc, write_queue_yaml

RPC_ERR = sdk_remote.RpcError
LOG_PROTO_DIR = APPENGINE_SRC / "internal"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    built = build_runtime(str(write_queue_yaml(tmp_path)), ":memory:")
    yield built
    built.close()


@pytest.fixture
def client(runtime: Runtime) -> FlaskClient:
    return runtime_app(runtime).test_client()


@pytest.fixture
def app_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger=rpc_logservice.APP_LOGGER)
    return caplog


def line(message: str | bytes, level: int = 1, at: int = T0_USEC) -> ours.UserAppLogLine:
    text = message.encode() if isinstance(message, str) else message
    return ours.UserAppLogLine(timestamp_usec=at, level=level, message=text)


def flush_body(*lines: ours.UserAppLogLine) -> bytes:
    """The remote_api envelope of a Flush carrying ``lines``, as Go's flushLog builds it."""
    logs = ours.UserAppLogGroup(log_line=lines).SerializeToString()
    return envelope("Flush", ours.FlushRequest(logs=logs), service="logservice")


def flushed(client: FlaskClient, body: bytes) -> None:
    """POST a Flush that must succeed with an empty ``VoidProto``."""
    answer = post_rpc(client, body)
    assert answer.ListFields() == [(answer.DESCRIPTOR.fields_by_name["response"], b"")], answer
    assert sdk_base.VoidProto.FromString(answer.response) == sdk_base.VoidProto()


def rpc_error(client: FlaskClient, body: bytes) -> tuple[int, str]:
    answer = post_rpc(client, body)
    assert answer.HasField("rpc_error"), answer
    assert not answer.HasField("response")
    return int(answer.rpc_error.code), str(answer.rpc_error.detail)


def app_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == rpc_logservice.APP_LOGGER]


# -- Flush -----------------------------------------------------------------------------------------


def test_flush_logs_every_line_at_its_level_with_the_apps_timestamp(
    client: FlaskClient, app_log: pytest.LogCaptureFixture
) -> None:
    levels = [0, 1, 2, 3, 4]
    lines = [line(f"line {n}", level=n, at=T0_USEC + n) for n in levels]
    flushed(client, flush_body(*lines))
    records = app_records(app_log)
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.DEBUG, "2026-01-01T00:00:00.000000Z line 0"),
        (logging.INFO, "2026-01-01T00:00:00.000001Z line 1"),
        (logging.WARNING, "2026-01-01T00:00:00.000002Z line 2"),
        (logging.ERROR, "2026-01-01T00:00:00.000003Z line 3"),
        (logging.CRITICAL, "2026-01-01T00:00:00.000004Z line 4"),
    ]
    assert [r.__dict__["app_timestamp_usec"] for r in records] == [T0_USEC + n for n in levels]
    assert [r.__dict__["app_level"] for r in records] == levels


def test_levels_outside_0_to_4_are_clamped(
    client: FlaskClient, app_log: pytest.LogCaptureFixture
) -> None:
    flushed(client, flush_body(line("low", level=-3), line("high", level=99)))
    records = app_records(app_log)
    assert [(r.levelno, r.__dict__["app_level"]) for r in records] == [
        (logging.DEBUG, -3),
        (logging.CRITICAL, 99),
    ]


def test_messages_are_logged_as_sent_and_bytes_that_are_not_utf8_are_replaced(
    client: FlaskClient, app_log: pytest.LogCaptureFixture
) -> None:
    flushed(client, flush_body(line("multi\nline ünïcode"), line(b"bad \xff\xfe bytes"), line("")))
    assert [r.getMessage() for r in app_records(app_log)] == [
        "2026-01-01T00:00:00.000000Z multi\nline ünïcode",
        "2026-01-01T00:00:00.000000Z bad \ufffd\ufffd bytes",
        "2026-01-01T00:00:00.000000Z ",
    ]


def test_timestamps_no_date_can_show_are_logged_as_numbers(
    client: FlaskClient, app_log: pytest.LogCaptureFixture
) -> None:
    flushed(client, flush_body(line("late", at=2**63 - 1), line("early", at=-(2**63))))
    assert [r.getMessage() for r in app_records(app_log)] == [
        f"{2**63 - 1} usec late",
        f"{-(2**63)} usec early",
    ]


@pytest.mark.parametrize(
    "request_message",
    [ours.FlushRequest(), ours.FlushRequest(logs=ours.UserAppLogGroup().SerializeToString())],
    ids=["logs-unset", "empty-group"],
)
def test_a_flush_without_lines_succeeds_and_logs_nothing(
    client: FlaskClient, app_log: pytest.LogCaptureFixture, request_message: ours.FlushRequest
) -> None:
    flushed(client, envelope("Flush", request_message, service="logservice"))
    assert app_records(app_log) == []


def _partial(message: Any) -> bytes:
    return bytes(message.SerializePartialToString())


@pytest.mark.parametrize(
    ("logs", "mentions"),
    [
        (b"\xff\xff\xff", "cannot parse UserAppLogGroup"),
        (b"\x12\x03\x08\x01", "cannot parse UserAppLogGroup"),  # a line cut short
        (
            _partial(ours.UserAppLogGroup(log_line=[ours.UserAppLogLine(level=1)])),
            "lacks required fields: log_line[0].timestamp_usec, log_line[0].message",
        ),
    ],
    ids=["garbage", "truncated", "missing-fields"],
)
def test_malformed_logs_are_a_parse_error_and_log_nothing(
    client: FlaskClient, app_log: pytest.LogCaptureFixture, logs: bytes, mentions: str
) -> None:
    body = envelope("Flush", ours.FlushRequest(logs=logs), service="logservice")
    code, detail = rpc_error(client, body)
    assert code == RPC_ERR.PARSE_ERROR
    assert mentions in detail
    assert app_records(app_log) == []


def test_a_malformed_flush_request_is_a_parse_error(client: FlaskClient) -> None:
    code, detail = rpc_error(client, envelope("Flush", b"\x0a\x05ab", service="logservice"))
    assert (code, detail.startswith("cannot parse FlushRequest")) == (RPC_ERR.PARSE_ERROR, True)


# -- services and methods the emulator does not serve ----------------------------------------------


def test_an_unknown_service_is_call_not_found_naming_the_service_and_method(
    client: FlaskClient,
) -> None:
    code, detail = rpc_error(client, envelope("Put", b"\x00", service="datastore_v3"))
    assert code == RPC_ERR.CALL_NOT_FOUND
    assert detail == (
        "the emulator does not serve the 'datastore_v3' service (call datastore_v3.Put); "
        "it serves taskqueue and logservice"
    )


def test_other_logservice_methods_are_call_not_found(client: FlaskClient) -> None:
    code, detail = rpc_error(client, envelope("Read", b"", service="logservice"))
    assert (code, detail) == (RPC_ERR.CALL_NOT_FOUND, "the emulator has no method logservice.Read")


# -- the wire messages against the Go package's .proto files ---------------------------------------


def _go_descriptors(tmp_path: Path) -> dict[str, descriptor_pb2.DescriptorProto]:
    """The messages of the Go package's log_service.proto and api_base.proto, compiled."""
    pytest.importorskip("grpc_tools")
    if not (LOG_PROTO_DIR / "log" / "log_service.proto").is_file():
        pytest.skip(f"Go appengine sources not installed ({LOG_PROTO_DIR}): see docs/GO.md")
    out = tmp_path / "go.pb"
    cmd = [sys.executable, "-m", "grpc_tools.protoc", f"-I{LOG_PROTO_DIR}"]
    cmd += [f"--descriptor_set_out={out}", "log/log_service.proto", "base/api_base.proto"]
    subprocess.run(cmd, check=True, capture_output=True)
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return {m.name: m for f in files.file for m in f.message_type}


def _ours(name: str) -> descriptor_pb2.DescriptorProto:
    proto = descriptor_pb2.DescriptorProto()
    ours.DESCRIPTOR.message_types_by_name[name].CopyToProto(proto)
    for field in proto.field:
        if field.HasField("type_name"):
            field.type_name = field.type_name.replace(".taskqueue_emulator.wire.", ".appengine.")
        field.ClearField("json_name")
    return proto


@pytest.mark.e2e
def test_messages_match_the_go_packages_protos_field_for_field(tmp_path: Path) -> None:
    go = _go_descriptors(tmp_path)
    for name in ours.DESCRIPTOR.message_types_by_name:
        theirs = go[name]
        for field in theirs.field:
            field.ClearField("json_name")
            field.ClearField("options")  # ctype=CORD: C++ only
            if (name, field.name) == ("UserAppLogLine", "message"):
                field.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES  # same wire, see .proto
        assert _ours(name) == theirs, name
