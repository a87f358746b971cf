"""Security defaults: loopback unless told otherwise (and a loud warning if not), queue.yaml
``acl`` under ``--identity-header`` on every face, nothing sensitive logged at INFO."""

from __future__ import annotations

import base64
import http.client
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from google.api_core import exceptions as google_errors

from emulator.app import runtime_app
from emulator.cli import exposure_warning
from emulator.core.acl import Access, AclService, allowed
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.identity import acting_as, current_identity, identity_from_header
from emulator.domain.model import AddRequest, PeekFilter
from emulator.domain.queue_config import AclEntry, QueueConfig, QueueMode
from emulator.faces.cloud_tasks.grpc_server import CloudTasksGrpcServer
from emulator.server import ServerThread
from emulator.settings import DEFAULT_HOST, IDENTITY_ENV, IDENTITY_HEADER_ENV, setting
from emulator.wiring import Runtime, build_runtime
from shims import backends
from shims.backends.remote import RemoteBackend
from shims.taskqueue import PermissionDeniedError, Queue, Task
from tests.cloud_tasks_support import make_client
from tests.test_cli import running

HEADER = "X-Goog-Authenticated-User-Email"
USER = "alice@example.com"
WRITER = "bob@example.com"
GUARDED = "guarded"
OPEN = "open"
QUEUE_YAML = f"""\
queue:
- name: {GUARDED}
  mode: pull
  acl:
  - user_email: {USER}
  - writer_email: {WRITER}
- name: {OPEN}
  mode: pull
"""


# -- binding ------------------------------------------------------------------------------------


def test_the_default_address_is_loopback() -> None:
    assert DEFAULT_HOST == "127.0.0.1"
    assert setting("host").default == "127.0.0.1"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_addresses_need_no_warning(host: str) -> None:
    assert exposure_warning(host, has_token=False) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.7", "myhost.example"])
def test_other_addresses_warn_that_anyone_can_read_and_delete(host: str) -> None:
    warning = exposure_warning(host, has_token=False)
    assert warning is not None
    assert host in warning and "anyone" in warning and "delete tasks" in warning
    assert "--auth-token" in warning
    assert "--auth-token is set" in (exposure_warning(host, has_token=True) or "")


@pytest.mark.e2e
def test_the_cli_warns_on_stderr_and_in_the_log(tmp_path: Path) -> None:
    with running(["--host", "0.0.0.0", "--port", "0", "--storage", ":memory:"], tmp_path) as srv:
        srv.stop()
        stderr = srv.stderr()
    printed = [line for line in stderr.splitlines() if line.startswith("WARNING: listening on")]
    logged = [line for line in stderr.splitlines() if " WARNING emulator: WARNING: " in line]
    assert printed and logged, stderr
    with running(["--port", "0", "--storage", ":memory:"], tmp_path) as quiet:
        quiet.stop()
        assert "not a loopback address" not in quiet.stderr()


# -- acl: the rule ------------------------------------------------------------------------------

_QUEUE = QueueConfig(
    GUARDED,
    QueueMode.PULL,
    acl=(AclEntry(user_email=USER), AclEntry(writer_email=WRITER)),
)


@pytest.mark.parametrize(
    ("identity", "access", "expected"),
    [
        (USER, Access.USE, True),
        (USER, Access.WRITE, True),
        ("ALICE@example.com", Access.USE, True),
        (WRITER, Access.WRITE, True),
        (WRITER, Access.USE, False),
        ("eve@example.com", Access.WRITE, False),
        (None, Access.WRITE, False),
    ],
)
def test_who_may_do_what(identity: str | None, access: Access, expected: bool) -> None:
    assert allowed(_QUEUE, identity, access) is expected
    assert allowed(QueueConfig(OPEN, QueueMode.PULL), identity, access)


@pytest.mark.parametrize(
    ("value", "identity"),
    [
        ("accounts.google.com:alice@example.com", USER),
        ("  alice@example.com ", USER),
        ("", None),
        (None, None),
        ("accounts.google.com:", None),
    ],
)
def test_identity_headers(value: str | None, identity: str | None) -> None:
    assert identity_from_header(value) == identity


def test_the_identity_is_the_blocks_only() -> None:
    assert current_identity() is None
    with acting_as(USER):
        assert current_identity() == USER
    assert current_identity() is None


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    (tmp_path / "queue.yaml").write_text(QUEUE_YAML)
    built = build_runtime(str(tmp_path / "queue.yaml"), ":memory:", enforce_acl=True)
    yield built
    built.close()


def _denied(call: object) -> str:
    with pytest.raises(TaskQueueError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.code is ErrorCode.PERMISSION_DENIED
    return caught.value.message


def test_the_policy_in_the_core(runtime: Runtime) -> None:
    service = runtime.service
    assert isinstance(service, AclService)
    add = [AddRequest(b"p", name="t1")]
    message = _denied(lambda: service.add(GUARDED, add))
    assert "'guarded'" in message and "without an identity" in message
    with acting_as("eve@example.com"):
        assert "'eve@example.com'" in _denied(lambda: service.lease(GUARDED, 60, 1))
        assert service.add(OPEN, add)[0].code is ErrorCode.OK  # no acl: open
    with acting_as(WRITER):
        assert service.add(GUARDED, add)[0].code is ErrorCode.OK
        [task] = service.lease(GUARDED, 60, 1)
        service.modify_lease(GUARDED, task.name, task.eta_usec, 0)
        assert "user_email" in _denied(lambda: service.stats([GUARDED]))
        _denied(lambda: service.peek(GUARDED, PeekFilter()))
        _denied(lambda: service.purge(GUARDED))
        assert service.delete(GUARDED, ["t1"]) == [ErrorCode.OK]
    with acting_as(USER):
        assert service.stats([GUARDED])[0].tasks == 0
        assert list(service.peek(GUARDED, PeekFilter()).tasks) == []
        service.purge(GUARDED)
    with acting_as(None):
        assert service.config().queues[GUARDED].acl  # configuration is not guarded


def test_without_an_identity_header_the_acl_is_not_enforced(tmp_path: Path) -> None:
    (tmp_path / "queue.yaml").write_text(QUEUE_YAML)
    plain = build_runtime(str(tmp_path / "queue.yaml"), ":memory:")
    assert plain.service.add(GUARDED, [AddRequest(b"p")])[0].code is ErrorCode.OK
    plain.close()


# -- acl: through the faces ---------------------------------------------------------------------


@pytest.fixture
def client(runtime: Runtime) -> FlaskClient:
    return runtime_app(runtime, identity_header=HEADER).test_client()


def test_the_json_api_reads_the_header(client: FlaskClient) -> None:
    body = {"tasks": [{"name": "j1", "payload": base64.b64encode(b"p").decode()}]}
    refused = client.post(f"/v1/queues/{GUARDED}/tasks", json=body)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "PERMISSION_DENIED"
    assert GUARDED in refused.get_json()["error"]["message"]
    wrong = {HEADER: "accounts.google.com:eve@example.com"}
    assert client.post(f"/v1/queues/{GUARDED}/tasks", json=body, headers=wrong).status_code == 403
    right = {HEADER: f"accounts.google.com:{WRITER}"}
    assert client.post(f"/v1/queues/{GUARDED}/tasks", json=body, headers=right).status_code == 200
    # the identity ends with its request: the next one without the header is refused again
    assert client.get(f"/v1/queues/{GUARDED}/stats").status_code == 403


def test_the_console_and_cloud_tasks_rest_read_it_too(client: FlaskClient) -> None:
    assert client.get(f"/queues/{GUARDED}").status_code == 403
    assert client.get(f"/queues/{GUARDED}", headers={HEADER: USER}).status_code == 200
    path = f"/v2beta2/projects/p/locations/l/queues/{GUARDED}/tasks"
    assert client.get(path).status_code == 403
    assert client.get(path, headers={HEADER: USER}).status_code == 200


@pytest.mark.e2e
def test_the_shim_sends_the_identity_from_its_variable(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ServerThread(runtime_app(runtime, identity_header="X-Who")).start()
    previous = backends.use(RemoteBackend(server.address))
    try:
        queue = Queue(GUARDED)
        with pytest.raises(PermissionDeniedError, match="guarded"):
            queue.add(Task(payload=b"p", method="PULL"))
        monkeypatch.setenv(IDENTITY_ENV, WRITER)
        monkeypatch.setenv(IDENTITY_HEADER_ENV, "X-Who")
        queue.add(Task(payload=b"p", method="PULL", name="s1"))
        assert [t.name for t in queue.lease_tasks(60, 10)] == ["s1"]
        with pytest.raises(PermissionDeniedError, match=r"bob@example\.com"):
            queue.fetch_statistics()
    finally:
        backends.use(previous)
        server.stop()


@pytest.mark.e2e
def test_grpc_reads_the_identity_from_the_metadata(runtime: Runtime) -> None:
    server = CloudTasksGrpcServer(runtime.service, identity_header=HEADER).start()
    try:
        api = make_client("v2beta2", "grpc", "unused:0", server.address)
        parent = f"projects/p/locations/l/queues/{GUARDED}"
        with pytest.raises(google_errors.PermissionDenied, match=GUARDED):
            list(api.list_tasks(parent=parent))
        listed = api.list_tasks(parent=parent, metadata=[(HEADER.lower(), USER)])
        assert list(listed) == []
    finally:
        server.stop()


# -- audit: nothing sensitive at INFO -------------------------------------------------------------


@pytest.mark.e2e  # through the real server: its access log is part of what is checked
def test_tokens_and_payloads_are_not_logged_at_info(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = "tok-SECRET-4242"
    payload = b"payload-SECRET-1717"
    (tmp_path / "queue.yaml").write_text(QUEUE_YAML)
    runtime = build_runtime(str(tmp_path / "queue.yaml"), ":memory:")
    server = ServerThread(runtime_app(runtime, auth_token=token)).start()
    encoded = base64.b64encode(payload).decode()
    body = {"tasks": [{"name": "a1", "payload": encoded}]}
    try:
        with caplog.at_level(logging.DEBUG):
            assert _post(server, f"/v1/queues/{OPEN}/tasks", body, token) == 200
            lease = {"lease_seconds": 60, "max_tasks": 1}
            assert _post(server, f"/v1/queues/{OPEN}/lease", lease, token) == 200
            assert _post(server, f"/v1/queues/{OPEN}/tasks", body, "wrong-" + token) == 401
            assert _post(server, f"/v1/queues/{OPEN}/tasks", {"tasks": encoded}, token) == 400
    finally:
        server.stop()
        runtime.close()
    assert [r for r in caplog.records if r.levelno >= logging.INFO]  # the access log ran
    for record in caplog.records:
        if record.levelno >= logging.INFO:
            text = record.getMessage()
            for secret in (token, payload.decode(), encoded):
                assert secret not in text, (record.name, text)


def _post(server: ServerThread, path: str, body: object, token: str) -> int:
    connection = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        connection.request("POST", path, body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()
