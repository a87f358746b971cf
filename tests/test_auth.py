"""``--auth-token``: every route but /healthz needs the server's token; the shim and the SDK
stub send it from TASKQUEUE_EMULATOR_AUTH_TOKEN."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from google.appengine.api import apiproxy_stub_map
from google.appengine.api import taskqueue as google_taskqueue
from google.appengine.api.taskqueue import taskqueue_service_bytes_pb2 as sdk
from google.appengine.ext.remote_api import remote_api_bytes_pb2 as sdk_remote

from emulator.app import runtime_app
from emulator.faces import auth
from emulator.server import ServerThread
from emulator.settings import AUTH_TOKEN_ENV
from emulator.wiring import Runtime, build_runtime
from shims import backends
from shims.backends.remote import RemoteBackend
from shims.sdk.stub import register_sdk_stub
from tests.rpc_support import envelope
from tests.shim_support import PULL, write_queue_yaml

TOKEN = "s3cret-Token_42"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    built = build_runtime(str(write_queue_yaml(tmp_path)), ":memory:")
    yield built
    built.close()


@pytest.fixture
def client(runtime: Runtime) -> FlaskClient:
    return runtime_app(runtime, enable_test_control=True, auth_token=TOKEN).test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the check itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer   ", None),
        ("Basic abc", None),
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
    ],
)
def test_bearer_reads_the_token_of_the_header(header: str | None, token: str | None) -> None:
    assert auth.bearer(header) == token


def test_tokens_are_compared_exactly() -> None:
    assert auth.matches(TOKEN, TOKEN)
    assert not auth.matches(TOKEN, TOKEN + "x")
    assert not auth.matches(TOKEN, TOKEN[:-1])
    assert not auth.matches(TOKEN, None)
    assert not auth.matches(TOKEN, "ß" * 3)  # non-ASCII never raises


# -- the HTTP faces ------------------------------------------------------------------------------


def test_healthz_stays_open(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/queues"),
        ("POST", f"/v1/queues/{PULL}/lease"),
        ("GET", "/openapi.json"),
        ("POST", "/_emulator/reset"),
        ("GET", "/_emulator/clock"),
        ("GET", "/no/such/route"),
    ],
)
@pytest.mark.parametrize("headers", [{}, bearer("wrong"), {"Authorization": TOKEN}])
def test_every_other_route_needs_the_token(
    client: FlaskClient, method: str, path: str, headers: dict[str, str]
) -> None:
    answer = client.open(path, method=method, headers=headers, json={"lease_seconds": 1})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    body = answer.get_json()
    assert body["error"]["code"] == "PERMISSION_DENIED"
    assert "Authorization: Bearer" in body["error"]["message"]
    assert TOKEN not in answer.get_data(as_text=True)


def test_the_token_opens_the_routes(client: FlaskClient) -> None:
    assert client.get("/v1/queues", headers=bearer(TOKEN)).status_code == 200
    assert client.post("/_emulator/reset", headers=bearer(TOKEN)).status_code == 200
    answer = client.post(
        f"/v1/queues/{PULL}/tasks", headers=bearer(TOKEN), json={"tasks": [{"name": "a"}]}
    )
    assert answer.get_json()["added"] == 1


def test_a_refused_call_changes_nothing(client: FlaskClient, runtime: Runtime) -> None:
    client.post(f"/v1/queues/{PULL}/tasks", json={"tasks": [{"name": "a"}]})
    assert runtime.service.stats([PULL])[0].tasks == 0


def test_the_console_cookie_is_not_accepted_by_the_api(client: FlaskClient) -> None:
    client.set_cookie(auth.COOKIE_NAME, TOKEN)
    assert client.get("/v1/queues").status_code == 401


# -- /rpc_http -----------------------------------------------------------------------------------


def rpc(client: FlaskClient, *, ticket: str = "ticket", **headers: str) -> Any:
    request = sdk.TaskQueueFetchQueueStatsRequest(queue_name=[PULL.encode()])
    body = envelope("FetchQueueStats", request)
    if ticket != "ticket":
        parsed = sdk_remote.Request.FromString(body)
        parsed.request_id = ticket
        body = parsed.SerializeToString()
    answer = client.post(
        "/rpc_http", data=body, content_type="application/octet-stream", headers=headers
    )
    assert answer.status_code == 200
    return sdk_remote.Response.FromString(answer.data)


def test_rpc_http_without_the_token_is_permission_denied(client: FlaskClient) -> None:
    reply = rpc(client)
    assert reply.application_error.code == sdk.TaskQueueServiceError.PERMISSION_DENIED
    assert "requires a token" in reply.application_error.detail


def test_rpc_http_takes_the_token_as_a_header_or_as_the_ticket(client: FlaskClient) -> None:
    assert not rpc(client, Authorization=f"Bearer {TOKEN}").HasField("application_error")
    assert not rpc(client, ticket=TOKEN).HasField("application_error")
    assert rpc(client, ticket="not-it").HasField("application_error")


# -- the clients send it -------------------------------------------------------------------------


@pytest.fixture
def live(runtime: Runtime) -> Iterator[str]:
    server = ServerThread(runtime_app(runtime, auth_token=TOKEN)).start()
    yield server.address
    server.stop()


@pytest.mark.e2e
def test_the_shim_sends_the_token_from_the_environment(
    live: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shims import taskqueue

    backend = RemoteBackend(live)
    previous = backends.use(backend)
    try:
        queue = taskqueue.Queue(PULL)
        with pytest.raises(taskqueue.PermissionDeniedError):
            queue.add(taskqueue.Task(payload="x", method="PULL"))
        monkeypatch.setenv(AUTH_TOKEN_ENV, TOKEN)
        queue.add(taskqueue.Task(payload="x", method="PULL", name="n"))
        assert [t.name for t in queue.lease_tasks(60, 10)] == ["n"]
    finally:
        backends.use(previous)
        backend.close()


@pytest.mark.e2e
def test_the_sdk_stub_sends_the_token_from_the_environment(
    live: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apiproxy_stub_map, "apiproxy", apiproxy_stub_map.APIProxyStubMap())
    monkeypatch.setenv("HTTP_HOST", "localhost")
    register_sdk_stub(live)
    queue = google_taskqueue.Queue(PULL)
    with pytest.raises(google_taskqueue.PermissionDeniedError):
        queue.fetch_statistics()
    monkeypatch.setenv(AUTH_TOKEN_ENV, TOKEN)
    queue.add(google_taskqueue.Task(payload=b"x", method="PULL", name="g"))
    assert queue.fetch_statistics().tasks == 1
