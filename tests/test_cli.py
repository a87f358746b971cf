"""``python -m emulator`` as a real process: banner, flags and environment variables, clean
failures (exit 2, one line, no traceback), signals, and durable storage across restarts and
``kill -9``. Every wait is bounded; readiness is the banner plus a ``/healthz`` poll."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.cloud import tasks_v2beta2

from emulator import __version__
from emulator.app import runtime_app
from emulator.cli import _serve
from emulator.domain.limits import MEMORY_STORAGE
from emulator.server import ServerThread, make_wsgi_server
from emulator.wiring import build_runtime
from tests.cloud_tasks_support import make_client
from tests.http_support import make_api

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 20.0
EXIT_TIMEOUT = 10.0
BANNER_RE = re.compile(rf"^taskqueue-emulator {re.escape(__version__)} listening on http://(\S+)$")

QUEUE_YAML = """\
queue:
- name: pull-q
  mode: pull
- name: mail
  rate: 1/s
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQUEUE_EMULATOR")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _command(args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "emulator", *args]


def run_cli(
    args: Sequence[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI to completion (for commands that must exit by themselves)."""
    return subprocess.run(
        _command(args),
        cwd=cwd,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=READY_TIMEOUT,
        check=False,
    )


@dataclass
class Server:
    """A running emulator process and what it printed."""

    proc: subprocess.Popen[str]
    banner: list[str]
    stderr_path: Path
    more: queue.Queue[str | None]

    @property
    def address(self) -> str:
        match = BANNER_RE.match(self.banner[0])
        assert match, self.banner
        return match.group(1)

    def line(self, prefix: str) -> str:
        """The banner line starting with ``prefix`` (after indentation), waiting a bounded
        time for lines printed after the ``storage:`` line."""
        deadline = time.monotonic() + EXIT_TIMEOUT
        while not any(line.strip().startswith(prefix) for line in self.banner):
            try:
                line = self.more.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.banner.append(line)
        found = [line.strip() for line in self.banner if line.strip().startswith(prefix)]
        assert len(found) == 1, (prefix, self.banner)
        return found[0]

    def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://{self.address}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def ok(self, method: str, path: str, body: object = None) -> Any:
        status, answer = self.call(method, path, body)
        assert status == 200, answer
        return answer

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send ``sig`` and wait (bounded) for the exit status."""
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=EXIT_TIMEOUT)

    def stderr(self) -> str:
        return self.stderr_path.read_text()


@contextmanager
def running(args: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Start the emulator; yield once the banner is printed and ``/healthz`` answers."""
    stderr_path = cwd / f"stderr-{time.monotonic_ns()}.log"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            _command(args),
            cwd=cwd,
            env=env or _env(),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        server = Server(proc, _read_banner(lines, stderr_path), stderr_path, lines)
        _wait_healthy(server)
        yield server
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=EXIT_TIMEOUT)


def _read_banner(lines: queue.Queue[str | None], stderr_path: Path) -> list[str]:
    deadline = time.monotonic() + READY_TIMEOUT
    banner: list[str] = []
    while not banner or not banner[-1].lstrip().startswith("storage:"):
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no banner within {READY_TIMEOUT}s: {banner}\n{stderr_path.read_text()}")
        if line is None:
            pytest.fail(f"emulator exited before its banner:\n{stderr_path.read_text()}")
        banner.append(line)
    return banner


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            status, body = server.call("GET", "/healthz")
            if status == 200 and body["status"] == "ok":
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("/healthz did not answer")
        time.sleep(0.05)


def _write_yaml(directory: Path, text: str = QUEUE_YAML) -> Path:
    path = directory / "queue.yaml"
    path.write_text(text)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _one_line_failure(result: subprocess.CompletedProcess[str], *mentions: str) -> str:
    """Exit status 2, nothing on stdout, one readable stderr line naming ``mentions``."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in mentions:
        assert text in lines[0], (text, lines[0])
    return lines[0]


# -- start-up -------------------------------------------------------------------------------


#: What the banner says of a storage file without and with ``--fsync``.
_NO_FSYNC = "no fsync: see --fsync"
_FSYNC = "synced at each checkpoint"


def test_banner_names_address_queues_and_storage(tmp_path: Path) -> None:
    yaml_path = _write_yaml(tmp_path)
    (tmp_path / "data").mkdir()
    args = ["--port", "0", "--storage", "data/tasks.db", "--queue-yaml", str(yaml_path)]

    with running(args, tmp_path) as server:
        host, port = server.address.rsplit(":", 1)
        assert (host, int(port) > 0) == ("127.0.0.1", True)
        assert server.line("export") == f"export TASKQUEUE_EMULATOR_HOST={server.address}"
        console = f"http://{server.address}/"
        assert server.line("console:") == f"console: {console}"
        with urllib.request.urlopen(console, timeout=10) as page:
            assert "<h1>Queues</h1>" in page.read().decode()
        assert server.line("queue.yaml:") == f"queue.yaml: {yaml_path}"
        assert "pull-q (pull)" in server.line("queues:")
        assert "mail (push)" in server.line("queues:")
        db = tmp_path / "data" / "tasks.db"
        assert server.line("storage:") == f"storage: {db} (SQLite, WAL, {_NO_FSYNC})"
        assert db.is_file()
        assert server.ok("GET", "/healthz") == {"status": "ok", "version": __version__}
        assert server.ok("GET", "/v1/queues/pull-q")["mode"] == "pull"
        assert server.call("POST", "/_emulator/reset")[0] == 404  # off by default
        assert server.stop() == 0
    assert "Traceback" not in server.stderr()


def test_default_storage_is_in_the_working_directory(tmp_path: Path) -> None:
    with running(["--port", "0"], tmp_path) as server:
        db = tmp_path / ".taskqueue-emulator" / "tasks.sqlite3"
        assert server.line("storage:") == f"storage: {db} (SQLite, WAL, {_NO_FSYNC})"
        assert server.line("queue.yaml:") == "queue.yaml: (none)"
        assert server.line("queues:") == "queues: default (push)"
        assert db.is_file()


def test_memory_storage(tmp_path: Path) -> None:
    with running(["--port", "0", "--storage", ":memory:"], tmp_path) as server:
        assert server.line("storage:") == "storage: in memory (lost on exit)"
    assert not (tmp_path / ".taskqueue-emulator").exists()
    assert not (tmp_path / ":memory:").exists()


def test_version(tmp_path: Path) -> None:
    result = run_cli(["--version"], tmp_path)

    assert result.returncode == 0
    assert result.stdout == f"taskqueue-emulator {__version__}\n"


# -- failures: exit 2 with one readable line ----------------------------------------------------


def test_bad_queue_yaml_names_file_and_line(tmp_path: Path) -> None:
    yaml_path = _write_yaml(
        tmp_path, "queue:\n- name: ok\n  mode: pull\n- name: bad\n  rate: fast\n"
    )

    result = run_cli(["--port", "0", "--queue-yaml", str(yaml_path)], tmp_path)

    _one_line_failure(result, f"{yaml_path}:5", "'bad'", "rate")


def test_missing_queue_yaml(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    result = run_cli(["--port", "0", "--queue-yaml", str(missing)], tmp_path)

    _one_line_failure(result, str(missing))


def test_busy_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run_cli(["--port", str(port), "--storage", ":memory:"], tmp_path)

    _one_line_failure(result, f"cannot listen on 127.0.0.1:{port}")


def test_unknown_host(tmp_path: Path) -> None:
    result = run_cli(["--host", "host.invalid", "--port", "0", "--storage", ":memory:"], tmp_path)

    _one_line_failure(result, "cannot listen on host.invalid:0")


@pytest.mark.parametrize("kind", ["directory", "not-a-database", "under-a-file"])
def test_unusable_storage(tmp_path: Path, kind: str) -> None:
    if kind == "directory":
        storage = tmp_path / "dir"
        storage.mkdir()
    elif kind == "not-a-database":
        storage = tmp_path / "notes.txt"
        storage.write_bytes(b"these are not the tables you are looking for\n" * 100)
    else:
        (tmp_path / "file").write_text("x")
        storage = tmp_path / "file" / "tasks.db"

    result = run_cli(["--port", "0", "--storage", str(storage)], tmp_path)

    _one_line_failure(result, str(storage))
    if kind == "not-a-database":
        assert storage.read_bytes().startswith(b"these are not")


def test_a_missing_directory_of_an_explicit_storage_path_is_not_created(tmp_path: Path) -> None:
    result = run_cli(["--port", "0", "--storage", "typo/dir/x.db"], tmp_path)

    _one_line_failure(result, "--storage: cannot open task storage typo/dir/x.db")
    assert "the directory typo/dir does not exist" in result.stderr
    assert not (tmp_path / "typo").exists()


def test_a_missing_directory_named_by_the_environment_names_the_variable(
    tmp_path: Path,
) -> None:
    env = _env(TASKQUEUE_EMULATOR_STORAGE="nope/x.db")
    result = run_cli(["--port", "0"], tmp_path, env)

    _one_line_failure(result, "TASKQUEUE_EMULATOR_STORAGE: cannot open task storage nope/x.db")


def test_a_storage_parent_that_is_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = run_cli(["--port", "0", "--storage", "file/tasks.db"], tmp_path)

    _one_line_failure(result, "file is not a directory")


@pytest.mark.parametrize(
    ("args", "env", "mention"),
    [
        (["--port", "70000"], {}, "--port"),
        (["--port", "http"], {}, "--port"),
        ([], {"TASKQUEUE_EMULATOR_PORT": "abc"}, "TASKQUEUE_EMULATOR_PORT: port must be a number"),
        ([], {"TASKQUEUE_EMULATOR_PORT": "99999"}, "TASKQUEUE_EMULATOR_PORT: port must be between"),
        ([], {"TASKQUEUE_EMULATOR_LOG_LEVEL": "loud"}, "TASKQUEUE_EMULATOR_LOG_LEVEL: must be one"),
        ([], {"TASKQUEUE_EMULATOR_TEST_CONTROL": "garbage"}, "TASKQUEUE_EMULATOR_TEST_CONTROL"),
        (["--cloud-tasks-grpc-port", "-1"], {}, "--cloud-tasks-grpc-port"),
        (
            [],
            {"TASKQUEUE_EMULATOR_CLOUD_TASKS_GRPC_PORT": "grpc"},
            "TASKQUEUE_EMULATOR_CLOUD_TASKS_GRPC_PORT: port must be a number",
        ),
        (["--log-level", "loud"], {}, "--log-level"),
        (["--bogus"], {}, "--bogus"),
    ],
)
def test_bad_flags_and_environment_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], mention: str
) -> None:
    result = run_cli(["--storage", ":memory:", *args], tmp_path, _env(**env))

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert mention in result.stderr.strip().splitlines()[-1]


# -- signals ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_signal_shuts_down_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    with running(["--port", "0", "--storage", "tasks.db"], tmp_path) as server:
        address = server.address
        assert server.stop(sig) == 0

    assert f"received {sig.name}" in server.stderr()
    assert "Traceback" not in server.stderr()
    host, port = address.rsplit(":", 1)
    with socket.socket() as probe:  # nothing listens on the port any more
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, int(port)))
        probe.listen()


def test_sigterm_right_after_the_banner_still_exits_0(tmp_path: Path) -> None:
    """The banner is the readiness signal: handlers must already be installed by then."""
    proc = subprocess.Popen(
        _command(["--port", "0", "--storage", ":memory:"]),
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert BANNER_RE.match(proc.stdout.readline().rstrip("\n"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=EXIT_TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=EXIT_TIMEOUT)


def test_a_signal_while_a_request_is_dispatched_still_stops_the_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM may land while the server hands a connection to a request thread. The
    server used to raise from its signal handler, and socketserver's per-request
    ``except Exception`` swallowed that and kept serving (seen once in CI). Here the signal
    is sent from inside ``process_request`` every time; a watchdog bounds the old hang."""
    runtime = build_runtime(None, MEMORY_STORAGE)
    server = make_wsgi_server(runtime_app(runtime), "127.0.0.1", 0)
    dispatch = server.process_request

    def signal_then_dispatch(request: Any, client_address: Any) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        dispatch(request, client_address)

    monkeypatch.setattr(server, "process_request", signal_then_dispatch)
    fired = threading.Event()

    def give_up() -> None:
        fired.set()
        server.shutdown()

    watchdog = threading.Timer(EXIT_TIMEOUT, give_up)
    watchdog.start()
    socket.create_connection(("127.0.0.1", server.port), timeout=EXIT_TIMEOUT).close()
    try:
        assert _serve(server, runtime, "banner") == 0
    finally:
        watchdog.cancel()
    assert not fired.is_set(), "the signal was swallowed; the server kept serving"
    out, err = capsys.readouterr()
    assert (out, "Traceback" in err) == ("banner\n", False)


def test_a_server_loop_that_dies_ends_the_process_with_status_1(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No signal, but the loop raised: the main thread must not wait forever, and the exit
    status must say something went wrong."""
    runtime = build_runtime(None, MEMORY_STORAGE)
    server = make_wsgi_server(runtime_app(runtime), "127.0.0.1", 0)

    def broken() -> None:  # runs once per turn of socketserver's own serve_forever loop
        raise OSError("selector gone")

    monkeypatch.setattr(server, "service_actions", broken)
    assert _serve(server, runtime, "banner") == 1
    assert "the server loop failed" in caplog.text
    assert "OSError: selector gone" in caplog.text
    assert "stopped unexpectedly" in caplog.text
    with pytest.raises(OSError):  # the listening socket is closed
        socket.create_connection(("127.0.0.1", server.port), timeout=EXIT_TIMEOUT).close()


# -- durability -------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_tasks_and_tombstones_survive_a_restart(tmp_path: Path, sig: signal.Signals) -> None:
    yaml_path = _write_yaml(tmp_path)
    args = ["--port", "0", "--storage", "tasks.db", "--queue-yaml", str(yaml_path)]
    payload = base64.b64encode(b"\x00payload\xff").decode()

    with running(args, tmp_path) as server:
        added = server.ok(
            "POST",
            "/v1/queues/pull-q/tasks",
            {"tasks": [{"name": "keep", "payload": payload, "tag": "T"}, {"name": "gone"}, {}]},
        )
        assert [t["name"] for t in added["tasks"]] == ["keep", "gone", "task1"]
        assert server.ok("DELETE", "/v1/queues/pull-q/tasks/gone")["code"] == "OK"
        assert server.ok("POST", "/v1/queues/pull-q/pause")["paused"] is True
        status = server.stop(sig)
    assert status == (0 if sig is signal.SIGTERM else -signal.SIGKILL)

    with running(args, tmp_path) as server:
        kept = server.ok("GET", "/v1/queues/pull-q/tasks/keep")
        assert (kept["payload"], kept["tag"], kept["retry_count"]) == (payload, "T", 0)
        assert server.call("GET", "/v1/queues/pull-q/tasks/gone")[0] == 410
        again = server.ok("POST", "/v1/queues/pull-q/tasks", {"tasks": [{"name": "gone"}, {}]})
        assert [(t["code"], t["name"]) for t in again["tasks"]] == [
            ("TOMBSTONED_TASK", "gone"),
            ("OK", "task2"),
        ]
        assert server.ok("GET", "/v1/queues/pull-q/stats")["paused"] is True
        assert server.stop() == 0


# -- environment ------------------------------------------------------------------------------


def test_environment_variables_configure_the_server(tmp_path: Path) -> None:
    port = _free_port()
    yaml_path = _write_yaml(tmp_path)
    env = _env(
        TASKQUEUE_EMULATOR_BIND_HOST="127.0.0.1",
        TASKQUEUE_EMULATOR_PORT=str(port),
        TASKQUEUE_EMULATOR_STORAGE=str(tmp_path / "env.db"),
        TASKQUEUE_EMULATOR_QUEUE_YAML=str(yaml_path),
        TASKQUEUE_EMULATOR_TEST_CONTROL="1",
        TASKQUEUE_EMULATOR_LOG_LEVEL="warning",
        TASKQUEUE_EMULATOR_FSYNC="1",
    )

    with running([], tmp_path, env) as server:
        assert server.address == f"127.0.0.1:{port}"
        assert server.line("storage:") == f"storage: {tmp_path / 'env.db'} (SQLite, WAL, {_FSYNC})"
        assert server.line("queue.yaml:") == f"queue.yaml: {yaml_path}"
        assert server.line("test control:").startswith("test control: enabled")
        assert (
            server.ok("POST", "/_emulator/clock", {"now_usec": 5_000_000})["now_usec"] == 5_000_000
        )
        assert server.ok("GET", "/v1/time")["now_usec"] == 5_000_000
        assert server.stop() == 0
    assert "received SIGTERM" not in server.stderr()  # INFO is below WARNING


def test_flags_override_the_environment(tmp_path: Path) -> None:
    env = _env(
        TASKQUEUE_EMULATOR_STORAGE=str(tmp_path / "env.db"),
        TASKQUEUE_EMULATOR_PORT="http",  # would be an error if it were used
        TASKQUEUE_EMULATOR_TEST_CONTROL="0",
    )

    with running(
        ["--port", "0", "--storage", "flag.db", "--enable-test-control", "--fsync"], tmp_path, env
    ) as server:
        assert server.line("storage:") == f"storage: {tmp_path / 'flag.db'} (SQLite, WAL, {_FSYNC})"
        assert server.call("GET", "/_emulator/clock")[0] == 200
    assert not (tmp_path / "env.db").exists()


# -- the server wiring the CLI and the pytest plugin share --------------------------------------


def test_server_thread_serves_and_stops() -> None:
    server = ServerThread(make_api().app).start()
    try:
        url = f"http://{server.address}/healthz"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert json.loads(response.read())["status"] == "ok"
    finally:
        server.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)


def test_server_thread_on_a_busy_port_raises_oserror() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()

        with pytest.raises(OSError):
            ServerThread(make_api().app, port=taken.getsockname()[1])


def test_an_auth_token_is_required_and_never_printed(tmp_path: Path) -> None:
    env = _env(TASKQUEUE_EMULATOR_AUTH_TOKEN="tok-123")
    with running(["--port", "0", "--storage", ":memory:"], tmp_path, env) as server:
        line = server.line("auth:")
        assert "TASKQUEUE_EMULATOR_AUTH_TOKEN" in line
        assert server.line("console:").endswith("/ (log in with the token)")
        assert server.call("GET", "/v1/queues")[0] == 401
        assert server.ok("GET", "/healthz")["status"] == "ok"
        assert server.stop() == 0
    assert "tok-123" not in "\n".join(server.banner) + server.stderr()


def test_a_token_with_spaces_is_refused_naming_the_flag(tmp_path: Path) -> None:
    result = run_cli(["--port", "0", "--storage", ":memory:", "--auth-token", "a b"], tmp_path)

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "--auth-token" in last and "printable ASCII without spaces" in last


# -- Cloud Tasks ------------------------------------------------------------------------------


def test_cloud_tasks_grpc_and_rest_serve_the_same_queues(tmp_path: Path) -> None:
    args = ["--port", "0", "--storage", ":memory:", "--queue-yaml", str(_write_yaml(tmp_path))]
    with running([*args, "--cloud-tasks-grpc-port", "0"], tmp_path) as server:
        line = server.line("cloud tasks:")
        match = re.search(r"gRPC on (\S+)$", line)
        assert match and f"REST on http://{server.address}/v2beta2/" in line, line
        hint = server.line("any project and location")
        assert f"CLOUDTASKS_EMULATOR_HOST={server.address}" in hint
        assert f"CLOUD_TASKS_EMULATOR_HOST={server.address}" in hint
        grpc_client = make_client("v2beta2", "grpc", server.address, match[1])
        parent = grpc_client.queue_path("p", "l", "pull-q")
        task = tasks_v2beta2.Task(pull_message=tasks_v2beta2.PullMessage(payload=b"x"))
        created = grpc_client.create_task(parent=parent, task=task)
        rest_client = make_client("v2beta2", "rest", server.address, match[1])
        assert rest_client.get_task(name=created.name).name == created.name
        assert server.stop() == 0
    assert "Traceback" not in server.stderr()


def test_without_the_flag_grpc_is_off_and_rest_is_served(tmp_path: Path) -> None:
    with running(["--port", "0", "--storage", ":memory:"], tmp_path) as server:
        assert "gRPC off (--cloud-tasks-grpc-port PORT)" in server.line("cloud tasks:")
        status, body = server.call("GET", "/v2/projects/p/locations/l/queues/default")
        assert (status, body["name"]) == (200, "projects/p/locations/l/queues/default")


@pytest.mark.parametrize("source", ["flag", "env"])
def test_a_busy_cloud_tasks_grpc_port_is_one_line_naming_its_source(
    tmp_path: Path, source: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        args = ["--port", "0", "--storage", ":memory:"]
        if source == "flag":
            result = run_cli([*args, "--cloud-tasks-grpc-port", port], tmp_path)
            named = "--cloud-tasks-grpc-port"
        else:
            env = _env(TASKQUEUE_EMULATOR_CLOUD_TASKS_GRPC_PORT=port)
            result = run_cli(args, tmp_path, env)
            named = "TASKQUEUE_EMULATOR_CLOUD_TASKS_GRPC_PORT"

    _one_line_failure(result, named, f"cannot listen on 127.0.0.1:{port}")
