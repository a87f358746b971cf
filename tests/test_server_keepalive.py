"""The threaded server speaks HTTP/1.1 keep-alive, so workers reuse one connection."""

from __future__ import annotations

import http.client

from emulator.runtime import ServerThread, build_runtime


def test_one_connection_serves_many_requests_including_errors() -> None:
    runtime = build_runtime(None, ":memory:")
    server = ServerThread(runtime.app()).start()
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
        assert conn.sock is sock  # no reconnect happened
        conn.close()
    finally:
        server.stop()
        runtime.close()


def test_an_oversized_body_closes_the_connection_cleanly() -> None:
    runtime = build_runtime(None, ":memory:")
    server = ServerThread(runtime.app()).start()
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
