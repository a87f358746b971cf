"""The threaded server speaks HTTP/1.1 keep-alive, so workers reuse one connection."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
from typing import Any

import pytest
from flask import Flask, request

from emulator.app import runtime_app
from emulator.server import ServerThread
from emulator.wiring import build_runtime

#: Every test serves on a real socket.
pytestmark = pytest.mark.e2e


def test_one_connection_serves_many_requests_including_errors() -> None:
    runtime = build_runtime(None, ":memory:")
    server = ServerThread(runtime_app(runtime)).start()
    try:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        conn.request("GET", "/healthz")
        first = conn.getresponse()
        assert (first.status, first.version) == (200, 11)
        first.read()
        sock = conn.sock
        for path, status in [("/v1/queues/nope/lease", 404), ("/v1/queues/default/purge", 200)]:
            conn.request("POST", path, body=b'{"lease_seconds": 1, "max_tasks": 1}')
            response = conn.getresponse()
            assert response.status == status
            response.read()
        assert sock is not None
        assert conn.sock is sock  # no reconnect happened
        conn.close()
    finally:
        server.stop()
        runtime.close()


def test_an_oversized_body_closes_the_connection_cleanly() -> None:
    runtime = build_runtime(None, ":memory:")
    server = ServerThread(runtime_app(runtime)).start()
    try:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        conn.request("POST", "/v1/queues/default/tasks", body=b"x" * (33 * 2**20))
        response = conn.getresponse()
        assert (response.status, response.getheader("Connection")) == (413, "close")
        response.read()
        conn.request("GET", "/healthz")  # http.client reconnects transparently
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        server.stop()
        runtime.close()


def _slow_app(release: threading.Event, started: threading.Event) -> Flask:
    app = Flask("slow")

    @app.get("/slow")
    def slow() -> str:
        started.set()
        release.wait(10)
        return "done"

    return app


def test_a_stop_lets_a_request_in_progress_finish() -> None:
    release, started = threading.Event(), threading.Event()
    server = ServerThread(_slow_app(release, started)).start()
    answers: list[tuple[int, bytes]] = []

    def client() -> None:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        conn.request("GET", "/slow")
        response = conn.getresponse()
        answers.append((response.status, response.read()))

    request = threading.Thread(target=client)
    request.start()
    assert started.wait(10)
    stopping = threading.Thread(target=server.stop)
    stopping.start()
    stopping.join(0.3)
    assert stopping.is_alive()  # the stop waits for the request in progress
    release.set()
    stopping.join(10)
    request.join(10)
    assert not stopping.is_alive()
    assert answers == [(200, b"done")]


def test_a_stop_does_not_wait_for_idle_connections() -> None:
    release, started = threading.Event(), threading.Event()
    server = ServerThread(_slow_app(release, started)).start()
    idle = socket.create_connection((server.host, server.port))  # connected, sends nothing
    try:
        # Wait until a handler holds it (a connection still in the listen backlog would be
        # reset when the listening socket closes, which is not what this test is about).
        deadline = time.monotonic() + 5
        while not server._server._idle and time.monotonic() < deadline:
            time.sleep(0.005)
        stopping = threading.Thread(target=server.stop)
        stopping.start()
        stopping.join(5)  # far below the drain timeout (10 s)
        assert not stopping.is_alive()
        idle.settimeout(5)
        assert idle.recv(10) == b""  # closed by the server
    finally:
        idle.close()


def _echo_app() -> Flask:
    app = Flask("echo")

    @app.post("/ignore")
    def ignore() -> str:  # leaves the request body unread
        return "ignored"

    @app.get("/nodelay")
    def nodelay() -> str:
        sock = request.environ["werkzeug.socket"]
        return str(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    return app


def test_a_body_the_view_left_unread_does_not_break_the_next_request() -> None:
    server = ServerThread(_echo_app()).start()
    try:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        conn.request("POST", "/ignore", body=b"x" * 100_000)
        response = conn.getresponse()
        assert (response.status, response.read(), response.will_close) == (200, b"ignored", False)
        sock = conn.sock
        conn.request("GET", "/nodelay")
        assert conn.getresponse().read() == b"1"  # TCP_NODELAY on the server's socket
        assert sock is not None and conn.sock is sock
        conn.close()
    finally:
        server.stop()


def test_back_to_back_requests_on_one_socket_are_all_answered() -> None:
    server = ServerThread(_echo_app()).start()
    try:
        with socket.create_connection((server.host, server.port), timeout=10) as sock:
            one = b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
            sock.sendall(one * 2 + b"GET /nodelay HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        assert received.count(b"HTTP/1.1 200") == 3
        assert received.count(b"Connection: close") == 1  # only where the client asked
    finally:
        server.stop()


def test_a_request_and_its_answer_each_leave_in_one_send(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the server and the shim's client in this process, counting each side's sends
    import socketserver

    from shims.backends.http import HttpClient

    sends: list[tuple[str, int]] = []
    server_write = socketserver._SocketWriter.write  # type: ignore[attr-defined]
    client_sendall = socket.socket.sendall

    def counted_write(self: object, data: bytes) -> int:
        sends.append(("server", len(data)))
        return int(server_write(self, data))

    def counted_sendall(self: socket.socket, data: bytes, *args: int) -> None:
        if threading.current_thread() is threading.main_thread():
            sends.append(("client", len(data)))
        client_sendall(self, data, *args)

    monkeypatch.setattr(socketserver._SocketWriter, "write", counted_write)  # type: ignore[attr-defined]
    monkeypatch.setattr(socket.socket, "sendall", counted_sendall)
    runtime = build_runtime(None, ":memory:")
    server = ServerThread(runtime_app(runtime)).start()
    client = HttpClient(server.address)
    body = b'{"tasks": [{"payload": "QUFB"}]}'
    try:
        # When a body is posted, then a request without a body is made
        for method, path, payload in [
            ("POST", "/v1/queues/default/tasks", body),
            ("GET", "/healthz", None),
        ]:
            sends.clear()
            reply = client.request(method, path, payload, {}, deadline=10, idempotent=False)
            # Then the client sent head and body in one send, the server its answer in one
            assert reply.status == 200 and reply.body
            assert [side for side, _ in sends] == ["client", "server"], sends
            assert sends[1][1] > len(reply.body)  # the head came with the body
    finally:
        client.close()
        server.stop()


@pytest.mark.parametrize(("level", "lines"), [(logging.WARNING, 0), (logging.INFO, 1)])
def test_the_access_log_line_is_built_only_when_it_is_written(
    monkeypatch: pytest.MonkeyPatch, level: int, lines: int
) -> None:
    # Given the werkzeug logger at ``level``, counting the access lines werkzeug formats
    from emulator.server import KeepAliveRequestHandler

    built: list[str] = []

    def stamp(self: object) -> str:
        built.append("line")
        return "now"

    monkeypatch.setattr(KeepAliveRequestHandler, "log_date_time_string", stamp)
    logger = logging.getLogger("werkzeug")
    before = logger.level
    logger.setLevel(level)  # setLevel, not the attribute: it clears the logger's cache
    server = ServerThread(runtime_app(build_runtime(None, ":memory:"))).start()
    try:
        # When one request is answered
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        conn.request("GET", "/healthz")
        assert conn.getresponse().read()
        conn.close()
    finally:
        server.stop()
        logger.setLevel(before)
    # Then its access line was built only if the logger writes INFO lines
    assert len(built) == lines


def test_heads_kept_for_one_send_still_go_out_alone_when_nothing_follows() -> None:
    # Given a server, and a raw socket speaking to it (timeouts make a held-back head fail)
    server = ServerThread(runtime_app(build_runtime(None, ":memory:"))).start()
    sock = socket.create_connection((server.host, server.port), timeout=5)
    reader = sock.makefile("rb")
    body = b'{"tasks": [{"payload": "QUFB"}]}'
    try:
        # When a client asks to continue before sending its body
        sock.sendall(
            b"POST /v1/queues/default/tasks HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        # Then the 100 Continue comes before the body is sent, and the answer after it
        assert reader.readline().startswith(b"HTTP/1.1 100")
        assert reader.readline() == b"\r\n"
        sock.sendall(body)
        status = reader.readline()
        while status.startswith(
            b"HTTP/1.1 100"
        ):  # werkzeug sends its own 100 too (RFC 9110 allows it)
            assert reader.readline() == b"\r\n"
            status = reader.readline()
        assert status.startswith(b"HTTP/1.1 200")
        length = _read_head(reader)
        assert b'"code":"OK"' in reader.read(length)
        # And a HEAD answer, which has no body, arrives whole on the same connection
        sock.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reader.readline().startswith(b"HTTP/1.1 200")
        _read_head(reader)
    finally:
        reader.close()
        sock.close()
    try:
        # And http.server's own error answers are whole: one with a head, and one to a line
        # it reads as HTTP/0.9, which has no head at all
        too_long = b"GET / HTTP/1.1\r\nX-Long: " + b"x" * 70_000 + b"\r\n\r\n"
        assert _answer(server, too_long).startswith(b"HTTP/1.1 431 ")
        assert _answer(server, b"NOT A REQUEST\r\n\r\n").startswith(b"<!DOCTYPE HTML>")
    finally:
        server.stop()


def _answer(server: ServerThread, request: bytes) -> bytes:
    """Everything the server answers to ``request`` on a new connection, until it closes."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _read_head(reader: Any) -> int:
    """Read header lines up to the blank line; the Content-Length (0 if none)."""
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return length
