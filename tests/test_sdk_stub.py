"""End to end: Google's SDK, unmodified, through :mod:`shims.sdk.stub` and a live emulator.

The emulator runs on a free port in a thread with test control enabled; its clock and the
SDK's ``time.time()`` are frozen at the same instant (T0) and moved together. Each test gets a
fresh ``apiproxy`` map, so nothing registered here leaks into other tests.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from google.appengine.api import apiproxy_stub_map, taskqueue
from google.appengine.api.taskqueue import taskqueue_service_bytes_pb2 as sdk
from google.appengine.runtime import apiproxy_errors

from emulator.app import runtime_app
from emulator.domain.limits import MAX_REQUEST_SIZE_BYTES
from emulator.server import ServerThread
from emulator.settings import HOST_ENV
from shims.backends.http import MAX_IDLE_CONNECTIONS, split_host
from shims.sdk.stub import EmulatorTaskQueueStub, register_sdk_stub
from tests.rpc_support import (
    LIMITED,
    PULL,
    SEC,
    T0_SECONDS,
    T0_USEC,
    FakeTime,
    LiveEmulator,
    sdk_time,
    start_emulator,
    write_queue_yaml,
)

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEmulator]:
    live = start_emulator(write_queue_yaml(tmp_path_factory.mktemp("app")))
    yield live
    live.stop()


@pytest.fixture
def fake(emulator: LiveEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTime]:
    """A clean emulator at T0, the SDK's clock at T0, and a fresh apiproxy map."""
    emulator.reset()
    emulator.freeze(T0_USEC)
    monkeypatch.setattr(apiproxy_stub_map, "apiproxy", apiproxy_stub_map.APIProxyStubMap())
    monkeypatch.setenv("HTTP_HOST", "localhost")
    clock = FakeTime()
    with sdk_time(clock):
        yield clock


@pytest.fixture
def stub(emulator: LiveEmulator, fake: FakeTime) -> Iterator[EmulatorTaskQueueStub]:
    register_sdk_stub(emulator.address)
    registered = apiproxy_stub_map.apiproxy.GetStub("taskqueue")
    assert isinstance(registered, EmulatorTaskQueueStub)
    yield registered
    registered.close()


def advance(emulator: LiveEmulator, fake: FakeTime, seconds: float) -> None:
    fake.advance(seconds)
    emulator.advance(seconds)


def pull_task(payload: bytes = b"p", **kw: Any) -> taskqueue.Task:
    return taskqueue.Task(payload=payload, method="PULL", **kw)


# -- the public API end to end ---------------------------------------------------------------------


def test_add_lease_modify_delete_through_the_sdk(
    stub: EmulatorTaskQueueStub, emulator: LiveEmulator, fake: FakeTime
) -> None:
    queue = taskqueue.Queue(PULL)
    added = queue.add([pull_task(b"a", tag="t"), pull_task(b"b", name="named"), pull_task(b"c")])
    assert [(t.name, t.was_enqueued, t.eta_posix) for t in added] == [
        ("task1", True, T0_SECONDS),
        ("named", True, T0_SECONDS),
        ("task2", True, T0_SECONDS),
    ]
    advance(emulator, fake, 1)
    leased = queue.lease_tasks(30, 10)
    assert [(t.name, t.retry_count, t.tag, t.payload) for t in leased] == [
        ("named", 1, None, b"b"),
        ("task1", 1, "t", b"a"),
        ("task2", 1, None, b"c"),
    ]
    assert {t._eta_usec for t in leased} == {T0_USEC + 31 * SEC}
    assert queue.lease_tasks(30, 10) == []

    queue.modify_task_lease(leased[0], 60)
    assert leased[0]._eta_usec == T0_USEC + 61 * SEC
    stale = pull_task(name="named")
    with pytest.raises(taskqueue.TaskLeaseExpiredError):
        queue.modify_task_lease(stale, 10)

    assert [t.was_deleted for t in queue.delete_tasks(leased)] == [True, True, True]
    again = queue.delete_tasks_by_name(["named", "never"])
    assert [t.was_deleted for t in again] == [False, False]
    with pytest.raises(taskqueue.TombstonedTaskError):
        queue.add(pull_task(name="named"))
    with pytest.raises(taskqueue.TombstonedTaskError):
        queue.modify_task_lease(leased[0], 10)


def test_lease_by_tag_groups_by_the_oldest_tasks_tag(
    stub: EmulatorTaskQueueStub, emulator: LiveEmulator, fake: FakeTime
) -> None:
    queue = taskqueue.Queue(PULL)
    for i, (name, tag) in enumerate([("u1", None), ("a1", "A"), ("u2", None), ("a2", "A")]):
        queue.add(pull_task(name=name, tag=tag, countdown=i))
    queue.add(pull_task(name="fut", tag="A", countdown=100))
    advance(emulator, fake, 10)
    assert [t.name for t in queue.lease_tasks_by_tag(30, 2)] == ["u1"]
    assert [t.name for t in queue.lease_tasks_by_tag(30, 2)] == ["a1", "a2"]
    assert [t.name for t in queue.lease_tasks_by_tag(30, 2, tag="A")] == []
    assert [t.name for t in queue.lease_tasks_by_tag(30, 5, tag=None)] == ["u2"]


def test_purge_stats_and_retry_limit(
    stub: EmulatorTaskQueueStub, emulator: LiveEmulator, fake: FakeTime
) -> None:
    queue = taskqueue.Queue(LIMITED)
    queue.add([pull_task(name="x"), pull_task(name="y", countdown=500)])
    stats = queue.fetch_statistics()
    assert (stats.tasks, stats.oldest_eta_usec, stats.in_flight) == (2, T0_USEC, 0)
    for retry_count in (1, 2):
        advance(emulator, fake, 1)
        assert [t.retry_count for t in queue.lease_tasks(0, 1)] == [retry_count]
    advance(emulator, fake, 1)
    assert queue.lease_tasks(0, 1) == []  # x was deleted instead of leased a third time
    stats = queue.fetch_statistics()
    assert (stats.tasks, stats.executed_last_minute) == (1, 2)
    queue.purge()
    assert queue.fetch_statistics().tasks == 0
    with pytest.raises(taskqueue.TombstonedTaskError):
        queue.add(pull_task(name="x"))
    unknown = taskqueue.QueueStatistics.fetch(taskqueue.Queue("nope"))
    assert (unknown.tasks, unknown.oldest_eta_usec, unknown.executed_last_minute) == (0, None, None)


def test_errors_become_the_sdks_exceptions(stub: EmulatorTaskQueueStub) -> None:
    with pytest.raises(taskqueue.UnknownQueueError):
        taskqueue.Queue("nope").lease_tasks(1, 1)
    with pytest.raises(taskqueue.UnknownQueueError):
        taskqueue.Queue("nope").purge()
    with pytest.raises(taskqueue.UnknownQueueError):
        taskqueue.Queue("nope").add(pull_task())
    with pytest.raises(taskqueue.InvalidQueueModeError):
        taskqueue.Queue("default").lease_tasks(1, 1)
    with pytest.raises(taskqueue.InvalidQueueModeError):
        taskqueue.Queue(PULL).add(taskqueue.Task(url="/work"))
    with pytest.raises(taskqueue.Error) as unknown_task:
        taskqueue.Queue(PULL).modify_task_lease(pull_task(name="ghost"), 1)
    assert type(unknown_task.value) is taskqueue.Error
    queue = taskqueue.Queue(PULL)
    queue.add(pull_task(name="dup"))
    tasks = [pull_task(name="new"), pull_task(name="dup")]
    with pytest.raises(taskqueue.TaskAlreadyExistsError):
        queue.add(tasks)
    assert [t.was_enqueued for t in tasks] == [True, False]


def test_async_user_rpcs_and_callbacks(
    stub: EmulatorTaskQueueStub, emulator: LiveEmulator, fake: FakeTime
) -> None:
    queue = taskqueue.Queue(PULL)
    called = threading.Event()
    rpc = taskqueue.create_rpc(deadline=5, callback=called.set)
    queue.add_async([pull_task(name="a"), pull_task(name="b")], rpc=rpc)
    assert [t.name for t in rpc.get_result()] == ["a", "b"]
    assert called.is_set()
    assert queue.fetch_statistics_async().get_result().tasks == 2
    leases = [queue.lease_tasks_async(10, 1) for _ in range(2)]
    leased = [rpc.get_result() for rpc in leases]
    assert sorted(task.name for tasks in leased for task in tasks) == ["a", "b"]


def test_a_push_task_is_stored_in_a_push_queue(stub: EmulatorTaskQueueStub) -> None:
    task = taskqueue.Queue("default").add(taskqueue.Task(url="/work", params={"a": "1"}))
    assert task.was_enqueued and task.name == "task1"
    assert taskqueue.Queue("default").fetch_statistics().tasks == 1


# -- registration ----------------------------------------------------------------------------------


def test_only_the_taskqueue_service_is_replaced(
    emulator: LiveEmulator, fake: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    datastore, default = object(), object()
    apiproxy_stub_map.apiproxy.RegisterStub("datastore_v3", datastore)
    apiproxy_stub_map.apiproxy.SetDefaultStub(default)
    monkeypatch.setenv(HOST_ENV, emulator.address)
    register_sdk_stub()
    first = apiproxy_stub_map.apiproxy.GetStub("taskqueue")
    assert isinstance(first, EmulatorTaskQueueStub) and first.address == emulator.address
    assert apiproxy_stub_map.apiproxy.GetStub("datastore_v3") is datastore
    assert apiproxy_stub_map.apiproxy.GetStub("mail") is default
    register_sdk_stub(f"http://{emulator.address}")
    assert apiproxy_stub_map.apiproxy.GetStub("taskqueue") is not first
    monkeypatch.delenv(HOST_ENV)
    with pytest.raises(ValueError, match="TASKQUEUE_EMULATOR_HOST"):
        register_sdk_stub()


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost:9000", ("localhost", 9000)),
        ("http://127.0.0.1:8123", ("127.0.0.1", 8123)),
        ("[::1]:8089", ("::1", 8089)),
        ("emulator", ("emulator", 8089)),
    ],
)
def test_split_host(host: str, expected: tuple[str, int]) -> None:
    assert split_host(host) == expected


@pytest.mark.parametrize("host", ["", "https://x:1", "x:1/path", "x:notaport"])
def test_split_host_rejects_bad_hosts(host: str) -> None:
    with pytest.raises(ValueError):
        split_host(host)


# -- transport -------------------------------------------------------------------------------------


class _KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive (werkzeug's dev server always answers ``Connection: close``),
    forwarding ``/rpc_http`` to an emulator app and counting the connections it accepted."""

    protocol_version = "HTTP/1.1"
    connections = 0
    app: Flask

    def setup(self) -> None:
        super().setup()
        type(self).connections += 1

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = self.app.test_client().post(self.path, data=body)
        self.send_response(answer.status_code)
        self.send_header("Content-Length", str(len(answer.data)))
        self.end_headers()
        self.wfile.write(answer.data)

    def log_message(self, *args: Any) -> None:
        pass


def test_keep_alive_connections_are_reused_and_survive_a_closed_socket(
    emulator: LiveEmulator, fake: FakeTime
) -> None:
    class Handler(_KeepAliveHandler):
        app = runtime_app(emulator.runtime)

    handler = Handler
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        register_sdk_stub(f"127.0.0.1:{server.server_address[1]}")
        stub = apiproxy_stub_map.apiproxy.GetStub("taskqueue")
        queue = taskqueue.Queue(PULL)
        for _ in range(3):
            assert queue.fetch_statistics().tasks == 0
        assert handler.connections == 1
        [conn] = stub._http._idle
        assert conn.sock is not None
        conn.sock.shutdown(socket.SHUT_RDWR)  # as if the server had dropped the idle connection
        assert queue.fetch_statistics().tasks == 0
        assert handler.connections == 2
        stub.close()
    finally:
        server.shutdown()
        server.server_close()


def test_concurrent_calls_share_the_stub_safely(stub: EmulatorTaskQueueStub) -> None:
    queue = taskqueue.Queue(PULL)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(5):
                queue.add(pull_task(name=f"t{i}-{j}"))
                queue.fetch_statistics()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert queue.fetch_statistics().tasks == 40
    assert len(stub._http._idle) <= MAX_IDLE_CONNECTIONS


def test_a_silent_server_hits_the_deadline(fake: FakeTime) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        register_sdk_stub(f"127.0.0.1:{silent.getsockname()[1]}")
        with pytest.raises(apiproxy_errors.DeadlineExceededError):
            taskqueue.Queue(PULL).lease_tasks(1, 1, deadline=0.2)
        rpc = taskqueue.create_rpc(deadline=0.2)
        with pytest.raises(apiproxy_errors.DeadlineExceededError):
            taskqueue.Queue(PULL).fetch_statistics_async(rpc).get_result()


def test_an_emulator_that_is_down_is_a_transient_error(fake: FakeTime) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    register_sdk_stub(f"127.0.0.1:{port}")
    with pytest.raises(taskqueue.TransientError, match="unreachable"):
        taskqueue.Queue(PULL).lease_tasks(1, 1)
    with pytest.raises(taskqueue.TransientError):
        taskqueue.Queue(PULL).purge()


def test_rpc_errors_become_apiproxy_errors(stub: EmulatorTaskQueueStub) -> None:
    request = sdk.TaskQueuePurgeQueueRequest(queue_name=PULL.encode())
    response = sdk.TaskQueuePurgeQueueResponse()
    with pytest.raises(apiproxy_errors.CallNotFoundError, match="ForceRun"):
        stub.MakeSyncCall("taskqueue", "ForceRun", request, response)
    with pytest.raises(apiproxy_errors.CallNotFoundError):
        stub.MakeSyncCall("mail", "Send", request, response)

    class Garbage:
        def SerializeToString(self) -> bytes:
            return b"\xff\xff"

    with pytest.raises(apiproxy_errors.ArgumentError, match="Additional details"):
        stub.MakeSyncCall("taskqueue", "PurgeQueue", Garbage(), response)
    big = sdk.TaskQueuePurgeQueueRequest(queue_name=b"q" * (MAX_REQUEST_SIZE_BYTES + 1))
    with pytest.raises(apiproxy_errors.RequestTooLargeError):
        stub.MakeSyncCall("taskqueue", "PurgeQueue", big, response)


def test_a_non_200_answer_is_an_rpc_failure(fake: FakeTime) -> None:
    broken = Flask("broken")
    broken.add_url_rule("/rpc_http", "rpc", lambda: ("nope", 502), methods=["POST"])
    server = ServerThread(broken).start()
    try:
        register_sdk_stub(server.address)
        with pytest.raises(apiproxy_errors.RPCFailedError, match="502"):
            taskqueue.Queue(PULL).purge()
    finally:
        server.stop()


# -- zero code: the SDK's own transport (wrap_wsgi_app + API_HOST/API_PORT) ------------------------

WSGI_APP = """
import os
from google.appengine.api import taskqueue, wrap_wsgi_app
from werkzeug.test import Client

def app(environ, start_response):
    queue = taskqueue.Queue("pullq")
    name = "n" + environ["PATH_INFO"][1:]
    queue.add([taskqueue.Task(payload=b"hello", method="PULL", tag="t"),
               taskqueue.Task(payload=b"world", method="PULL", name=name)])
    leased = queue.lease_tasks_by_tag(60, 10, tag="t")
    queue.delete_tasks(leased)
    try:
        taskqueue.Queue("nope").purge()
    except taskqueue.UnknownQueueError:
        unknown = "UnknownQueueError"
    stats = queue.fetch_statistics()
    body = f"{[t.name for t in leased]} {leased[0].payload!r} {unknown} {stats.tasks}"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]

def show(answer):
    print(answer.status_code, answer.get_data(as_text=True).splitlines()[0][:60])

client = Client(wrap_wsgi_app(app))
for path, header in [("/1", "X-AppEngine-Dev-Request-Id"), ("/2", "X-AppEngine-Api-Ticket")]:
    show(client.get(path, headers={header: "any-ticket"}))
try:
    show(client.get("/3"))  # no ticket: the SDK refuses to call
except Exception as exc:
    print(type(exc).__name__, exc)
os.environ["HTTP_X_APPENGINE_DEV_REQUEST_ID"] = "local"  # a ticket for every request
show(Client(wrap_wsgi_app(app)).get("/4"))
"""


def test_an_unmodified_app_under_wrap_wsgi_app_talks_to_the_emulator(
    emulator: LiveEmulator, fake: FakeTime
) -> None:
    """The SDK's own transport (``default_api_stub``), pointed at the emulator with
    ``API_HOST``/``API_PORT``, with either ticket header, or with a ticket for every request
    from ``HTTP_X_APPENGINE_DEV_REQUEST_ID`` in the process environment. Run in a child process:
    ``wrap_wsgi_app`` changes process-wide state (default stub, threading hooks, os.environ)."""
    emulator.use_system_clock()  # the child process's SDK reads the real time
    host, port = emulator.address.rsplit(":", 1)
    env = {**os.environ, "API_HOST": host, "API_PORT": port, "GAE_APPLICATION": "s~demo"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", WSGI_APP], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "200 ['task1'] b'hello' UnknownQueueError 1",
        "200 ['task2'] b'hello' UnknownQueueError 2",
        "RPCFailedError Attempted RPC call without active security ticket",
        "200 ['task3'] b'hello' UnknownQueueError 3",
    ]


# -- the SDK on the wall clock, the emulator frozen (as testbed users drive it) ----------------


@pytest.fixture
def wall_clock_stub(
    emulator: LiveEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulatorTaskQueueStub]:
    """Google's SDK on its own (real) clock; the emulator frozen at T0, months before it."""
    emulator.reset()
    emulator.freeze(T0_USEC)
    monkeypatch.setattr(apiproxy_stub_map, "apiproxy", apiproxy_stub_map.APIProxyStubMap())
    monkeypatch.setenv("HTTP_HOST", "localhost")
    register_sdk_stub(emulator.address)
    registered = apiproxy_stub_map.apiproxy.GetStub("taskqueue")
    yield registered
    registered.close()


def test_an_sdk_task_is_ready_at_the_frozen_instant_it_was_added(
    wall_clock_stub: EmulatorTaskQueueStub,
) -> None:
    queue = taskqueue.Queue(PULL)
    queue.add(pull_task(name="now"))
    [task] = queue.lease_tasks(60, 10)
    assert task.name == "now" and task._eta_usec == T0_USEC + 60 * SEC


def test_an_sdk_countdown_counts_on_the_frozen_clock(
    wall_clock_stub: EmulatorTaskQueueStub, emulator: LiveEmulator
) -> None:
    queue = taskqueue.Queue(PULL)
    queue.add(pull_task(name="later", countdown=30))
    # The countdown runs from when the SDK built the task: the time it took to reach the
    # emulator (well under a second, even on a loaded machine) counts.
    emulator.advance(29)
    assert queue.lease_tasks(60, 10) == []
    emulator.advance(1)
    assert [t.name for t in queue.lease_tasks(60, 10)] == ["later"]
    [stats] = taskqueue.QueueStatistics.fetch([queue])
    assert stats.tasks == 1
