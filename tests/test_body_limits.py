"""Bodies over MAX_REQUEST_SIZE_BYTES are refused early on every route that takes a body,
over a real socket: from the Content-Length before any of the body is sent, and for a
chunked body after a bounded read (never more than the limit held).

The JSON API and Cloud Tasks REST answer 413 with their JSON error body; the console its 413
page; ``/rpc_http`` the protocol's own answer (HTTP 200, ``rpc_error`` REQUEST_TOO_LARGE),
which Google's SDK turns into ``RequestTooLargeError`` (a 413 would be a bare
``RPCFailedError``)."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator

import pytest

from emulator.app import runtime_app
from emulator.domain.limits import MAX_REQUEST_SIZE_BYTES
from emulator.faces.rpc_http.protos import remote_api_wire_pb2 as remote
from emulator.faces.rpc_http.protos import taskqueue_wire_pb2 as wire
from emulator.server import ServerThread
from emulator.wiring import Runtime, build_runtime
from tests.shim_support import PULL, write_queue_yaml

pytestmark = pytest.mark.e2e

ROUTES = {
    "json": (f"/v1/queues/{PULL}/tasks", "application/json"),
    "rest": (f"/v2beta2/projects/p/locations/l/queues/{PULL}/tasks", "application/json"),
    "console": (f"/queues/{PULL}/tasks", "application/x-www-form-urlencoded"),
    "rpc_http": ("/rpc_http", "application/octet-stream"),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, Runtime]]:
    root = tmp_path_factory.mktemp("limits")
    runtime = build_runtime(str(write_queue_yaml(root)), ":memory:")
    server = ServerThread(runtime_app(runtime)).start()
    yield server, runtime
    server.stop()
    runtime.close()


def _head(path: str, content_type: str, length: str | None) -> bytes:
    framing = f"Content-Length: {length}" if length else "Transfer-Encoding: chunked"
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n{framing}\r\n\r\n"
    ).encode()


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the response on ``sock``."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def _check_refusal(route: str, status: int, headers: dict[str, str], body: bytes) -> None:
    if route == "rpc_http":
        assert status == 200
        answer = remote.Response.FromString(body)
        assert answer.rpc_error.code == remote.RpcError.REQUEST_TOO_LARGE
        return
    assert status == 413
    if route == "console":
        assert "<h1>Error 413</h1>" in body.decode()
        return
    error = json.loads(body)["error"]
    assert "too large" in error["message"]
    assert error["code"] == (413 if route == "rest" else "INVALID_REQUEST")


@pytest.mark.parametrize("route", ROUTES)
def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    served: tuple[ServerThread, Runtime], route: str
) -> None:
    server, runtime = served
    path, content_type = ROUTES[route]
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        # Only the head and a few bytes: a server that read the body would wait forever.
        sock.sendall(_head(path, content_type, str(40 * 2**20)) + b"payload=x")
        status, headers, body = _response(sock)
    _check_refusal(route, status, headers, body)
    assert runtime.service.stats([PULL])[0].tasks == 0


@pytest.mark.parametrize("route", ROUTES)
def test_a_chunked_body_over_the_limit_is_refused_after_a_bounded_read(
    served: tuple[ServerThread, Runtime], route: str
) -> None:
    server, runtime = served
    path, content_type = ROUTES[route]
    chunk = b"x" * 2**20
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(_head(path, content_type, None))
        sent = 0
        try:  # the server stops reading at the limit and answers; stop sending then
            while sent <= MAX_REQUEST_SIZE_BYTES:
                sock.sendall(framed)
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, headers, body = _response(sock)
    _check_refusal(route, status, headers, body)
    assert runtime.service.stats([PULL])[0].tasks == 0


def test_a_chunked_body_within_the_limit_arrives_whole(
    served: tuple[ServerThread, Runtime],
) -> None:
    server, runtime = served
    body = json.dumps({"tasks": [{"name": "chunked", "payload": "aGk="}]}).encode()
    pieces = [body[i : i + 7] for i in range(0, len(body), 7)]
    framed = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(_head(ROUTES["json"][0], "application/json", None) + framed)
        status, _, answer = _response(sock)
    assert status == 200, answer
    assert json.loads(answer)["tasks"][0]["code"] == "OK"
    runtime.service.delete(PULL, ["chunked"])


def _fetch_stats_envelope() -> bytes:
    request = wire.TaskQueueFetchQueueStatsRequest(queue_name=[PULL.encode()])
    return remote.Request(
        service_name="taskqueue",
        method="FetchQueueStats",
        request=request.SerializeToString(),
        request_id="ticket",
    ).SerializeToString()


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_an_rpc_body_within_the_limit_is_read_whole(
    served: tuple[ServerThread, Runtime], framing: str
) -> None:
    """``/rpc_http`` reads exactly the declared length (a chunked body has been given one)."""
    server, _ = served
    body = _fetch_stats_envelope()
    if framing == "length":
        sent = _head("/rpc_http", "application/octet-stream", str(len(body))) + body
    else:
        pieces = [body[i : i + 5] for i in range(0, len(body), 5)]
        sent = _head("/rpc_http", "application/octet-stream", None) + b"".join(
            f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces
        )
        sent += b"0\r\n\r\n"
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(sent)
        status, _, answer = _response(sock)
    assert status == 200
    reply = remote.Response.FromString(answer)
    assert not reply.HasField("rpc_error") and not reply.HasField("application_error")
    stats = wire.TaskQueueFetchQueueStatsResponse.FromString(reply.response)
    assert len(stats.queuestats) == 1


def test_an_rpc_body_shorter_than_its_length_is_not_executed(
    served: tuple[ServerThread, Runtime],
) -> None:
    """A client that closes its side mid-body gets PARSE_ERROR; the prefix (here a whole
    FetchQueueStats envelope, which would parse) is not executed."""
    server, _ = served
    body = _fetch_stats_envelope()
    with socket.create_connection((server.host, server.port), timeout=30) as sock:
        sock.sendall(_head("/rpc_http", "application/octet-stream", str(len(body) + 10)) + body)
        sock.shutdown(socket.SHUT_WR)  # the rest never comes
        status, _, answer = _response(sock)
    assert status == 200
    reply = remote.Response.FromString(answer)
    assert reply.rpc_error.code == remote.RpcError.PARSE_ERROR
    assert "cut short" in reply.rpc_error.detail
