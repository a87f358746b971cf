"""The remote backend: the shim over HTTP to a live emulator, and what it does when the
server is slow, absent, flaky or refuses test control."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from emulator.domain.limits import MAX_PEEK_PAGE_SIZE
from shims import apiproxy_errors, backends, testing
from shims import taskqueue as tq
from shims.backends.http import MAX_IDLE_CONNECTIONS
from shims.backends.remote import RemoteBackend
from tests.shim_support import (
    PULL,
    T0,
    LiveServer,
    free_port,
    live_server,
    silent_server,
    write_queue_yaml,
)

pytestmark = pytest.mark.e2e


B = TypeVar("B", bound=backends.ControlledBackend)


@contextlib.contextmanager
def using(backend: B) -> Iterator[B]:
    previous = backends.use(backend)
    try:
        yield backend
    finally:
        backends.use(previous)
        backend.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(write_queue_yaml(tmp_path_factory.mktemp("remote"))) as running:
        yield running


@pytest.fixture
def remote(server: LiveServer) -> Iterator[RemoteBackend]:
    with using(server.backend()) as backend:
        testing.reset()
        testing.set_clock(T0)
        yield backend
        testing.use_system_clock()


def test_tasks_round_trip_through_the_server(remote: RemoteBackend) -> None:
    queue = tq.Queue(PULL)
    queue.add(
        [tq.Task(payload=b"\x00\xff", method="PULL", tag="t"), tq.Task(payload="é", method="PULL")]
    )
    testing.advance_clock(1)
    leased = queue.lease_tasks_by_tag(30, 10)
    assert [(t.name, t.payload, t.tag, t.retry_count) for t in leased] == [
        ("task1", b"\x00\xff", "t", 1)
    ]
    assert leased[0]._eta_usec == T0 + 31_000_000
    queue.modify_task_lease(leased[0], 5)
    assert leased[0]._eta_usec == T0 + 6_000_000
    assert [t.was_deleted for t in queue.delete_tasks(leased)] == [True]
    assert queue.fetch_statistics().tasks == 1


def test_tasks_pages_through_the_whole_queue_over_http(remote: RemoteBackend) -> None:
    queue = tq.Queue(PULL)
    count = MAX_PEEK_PAGE_SIZE + 1
    for start in range(0, count, 100):
        queue.add([tq.Task(payload=b"", method="PULL") for _ in range(min(100, count - start))])

    tasks = remote.tasks(PULL)

    assert len(tasks) == count
    assert len({t.name for t in tasks}) == count
    assert [(t.eta_usec, t.name) for t in tasks] == sorted((t.eta_usec, t.name) for t in tasks)


def test_no_answer_within_the_deadline_raises_deadline_exceeded() -> None:
    with silent_server() as address, using(RemoteBackend(address)):
        with pytest.raises(apiproxy_errors.DeadlineExceededError, match="QueryAndOwnTasks"):
            tq.Queue(PULL).lease_tasks(10, 1, deadline=0.2)
        rpc = tq.create_rpc(deadline=0.2)
        tq.Queue(PULL).add_async(tq.Task(payload="x", method="PULL"), rpc=rpc)
        with pytest.raises(apiproxy_errors.DeadlineExceededError):
            rpc.get_result()


def test_a_refused_connection_raises_transient_error() -> None:
    with using(RemoteBackend(f"127.0.0.1:{free_port()}")):
        queue = tq.Queue(PULL)
        for call in (
            lambda: queue.lease_tasks(10, 1),
            lambda: queue.add(tq.Task(payload="x", method="PULL")),
            queue.purge,
            queue.fetch_statistics,
            lambda: queue.delete_tasks_by_name("a"),
            lambda: queue.modify_task_lease(tq.Task(name="a", payload="", method="PULL"), 1),
        ):
            with pytest.raises(tq.TransientError, match="cannot reach"):
                call()


def test_environment_variable_selects_the_remote_backend(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous = backends.use(None)
    try:
        monkeypatch.setenv(backends.ENV_HOST, server.address)
        chosen = backends.current()
        assert isinstance(chosen, RemoteBackend)
        assert chosen.description == f"http://{server.address}"
        assert backends.current() is chosen
        monkeypatch.delenv(backends.ENV_HOST)
        assert not isinstance(backends.current(), RemoteBackend)
    finally:
        backends.close_all()
        backends.use(previous)


def test_threads_share_a_backend_safely(remote: RemoteBackend) -> None:
    queue = tq.Queue(PULL)
    leased: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            queue.add(
                [tq.Task(payload=b"x", method="PULL", name=f"w{worker}-{i}") for i in range(20)]
            )
            while True:
                got = queue.lease_tasks(60, 7)
                if not got:
                    return
                with lock:
                    leased.extend(str(t.name) for t in got)
                queue.delete_tasks(got)
        except BaseException as exc:  # reported below, with the thread's name
            errors.append(exc)

    testing.use_system_clock()  # leases need time to pass between the adds and the leases
    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while remaining := queue.lease_tasks(60, 1000):
        leased.extend(str(t.name) for t in remaining)
    assert errors == []
    assert sorted(leased) == sorted(f"w{w}-{i}" for w in range(8) for i in range(20))
    assert len(remote._http._idle) <= MAX_IDLE_CONNECTIONS


def test_server_without_test_control_is_reported(tmp_path: Path) -> None:
    with (
        live_server(write_queue_yaml(tmp_path), test_control=False) as running,
        using(running.backend()),
    ):
        for call in (testing.reset, lambda: testing.set_clock(T0)):
            with pytest.raises(testing.ControlUnavailableError, match="--enable-test-control"):
                call()
        assert testing.GetTasks(PULL) == []


# -- a scripted HTTP server for transport edge cases ---------------------------------------------

Reply = tuple[int, bytes] | None  # None: close the connection without answering


@dataclass
class ScriptedServer:
    """Answers requests from ``replies`` in order (keep-alive); records each request line."""

    replies: list[Reply]
    requests: list[str] = field(default_factory=list)
    connections: int = 0
    idle_close: set[int] = field(default_factory=set)
    closed: threading.Event = field(default_factory=threading.Event)

    def serve(self, listener: socket.socket) -> None:
        while self.replies:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                self._serve_connection(conn)

    def _serve_connection(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        while self.replies:
            line = reader.readline().decode().strip()
            if not line:
                return
            length = 0
            while header := reader.readline().decode().strip():
                name, _, value = header.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            reader.read(length)
            self.requests.append(line)
            reply = self.replies.pop(0)
            if reply is None:
                return
            status, body = reply
            conn.sendall(
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            if len(self.requests) in self.idle_close:
                conn.shutdown(socket.SHUT_RDWR)
                self.closed.set()
                return


@contextlib.contextmanager
def scripted(server: ScriptedServer) -> Iterator[RemoteBackend]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    thread = threading.Thread(target=server.serve, args=(listener,), daemon=True)
    thread.start()
    try:
        with using(RemoteBackend(f"127.0.0.1:{listener.getsockname()[1]}")) as backend:
            yield backend
    finally:
        listener.close()
        thread.join(timeout=5)


STATS = (200, json.dumps({"stats": [{"queue": PULL, "exists": True, "tasks": 4}]}).encode())
NO_TASKS = (200, b'{"tasks": []}')


def test_an_idempotent_call_is_retried_once_after_a_stale_connection() -> None:
    server = ScriptedServer([STATS, None, STATS])
    with scripted(server):
        assert tq.QueueStatistics.fetch(PULL).tasks == 4
        assert tq.QueueStatistics.fetch(PULL).tasks == 4
    assert server.connections == 2 and len(server.requests) == 3


def test_a_lease_is_not_retried_after_a_lost_connection() -> None:
    server = ScriptedServer([NO_TASKS, None, NO_TASKS])
    with scripted(server):
        assert tq.Queue(PULL).lease_tasks(10, 1) == []
        with pytest.raises(tq.TransientError, match="may or may not have taken effect"):
            tq.Queue(PULL).lease_tasks(10, 1)
        assert tq.Queue(PULL).lease_tasks(10, 1) == []
    assert len(server.requests) == 3


def test_a_connection_closed_while_idle_is_replaced_before_use() -> None:
    server = ScriptedServer([NO_TASKS, NO_TASKS], idle_close={1})
    with scripted(server):
        assert tq.Queue(PULL).lease_tasks(10, 1) == []
        server.closed.wait(5)
        assert tq.Queue(PULL).lease_tasks(10, 1) == []
    assert server.connections == 2


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            (409, b'{"error": {"code": "TASK_LEASE_EXPIRED", "message": "m"}}'),
            tq.TaskLeaseExpiredError,
        ),
        ((500, b'{"error": {"code": "SOMETHING_NEW", "message": "m"}}'), tq.InternalError),
        ((502, b"<html>bad gateway</html>"), tq.TransientError),
        ((404, b"not json"), tq.InternalError),
    ],
)
def test_error_bodies_map_to_taskqueue_exceptions(reply: Reply, expected: type[Exception]) -> None:
    with scripted(ScriptedServer([reply])), pytest.raises(expected):
        tq.Queue(PULL).modify_task_lease(tq.Task(name="a", payload="", method="PULL"), 1)


def test_a_bad_address_is_refused() -> None:
    for address in ("localhost:http", ":80", "https://localhost:1", "localhost:1/path"):
        with pytest.raises(ValueError, match="host:port"):
            RemoteBackend(address)
    assert RemoteBackend("http://localhost:8089/").description == "http://localhost:8089"
    assert RemoteBackend("localhost").description == "http://localhost:8089"  # default port
    assert RemoteBackend("[::1]:9000").description == "http://[::1]:9000"
