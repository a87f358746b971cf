"""The systems under test, each opened as a :class:`Session` on a queue of a given depth.

| target           | what runs                                                         |
|------------------|-------------------------------------------------------------------|
| ``stub``         | Google's SDK + testbed ``TaskQueueServiceStub`` (in process, memory) |
| ``embedded-mem`` | our shim, embedded emulator on ``:memory:``                        |
| ``embedded-file``| our shim, embedded emulator on a durable SQLite file               |
| ``http-file``    | our shim → ``python -m emulator`` on a durable file (JSON ``/v1``) |
| ``sdk-rpc-file`` | Google's SDK → the same server's ``/rpc_http`` (protobuf)          |
| ``floor``        | a trivial route on the same server stack: the HTTP floor           |

Each session lives in its own worker process (``bench.worker``), so module names never
collide (our shim replaces ``google.appengine.api.taskqueue``) and RSS is per target.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from bench import emulator_api
from bench.workloads import LegacyQueue, past_eta

QUEUE = "bench"
QUEUE_YAML = f"queue:\n- name: {QUEUE}\n  mode: pull\n"

STUB = "stub"
EMBEDDED_MEM = "embedded-mem"
EMBEDDED_FILE = "embedded-file"
HTTP_FILE = "http-file"
SDK_RPC_FILE = "sdk-rpc-file"
FLOOR = "floor"
#: Targets that run the queue workloads, in report order.
QUEUE_TARGETS = (STUB, EMBEDDED_MEM, EMBEDDED_FILE, HTTP_FILE, SDK_RPC_FILE)
ALL_TARGETS = (*QUEUE_TARGETS, FLOOR)
HTTP_TARGETS = (HTTP_FILE, SDK_RPC_FILE)
FILE_TARGETS = (EMBEDDED_FILE, HTTP_FILE, SDK_RPC_FILE)
#: Targets whose concurrent workers are separate processes (the rest use threads: Google's
#: stub and a ``:memory:`` store exist only inside one process).
PROCESS_WORKER_TARGETS = FILE_TARGETS

DESCRIPTIONS = {
    STUB: "Google SDK + testbed stub (memory)",
    EMBEDDED_MEM: "shim embedded, :memory:",
    EMBEDDED_FILE: "shim embedded, durable file",
    HTTP_FILE: "shim -> server /v1 JSON, durable file",
    SDK_RPC_FILE: "Google SDK -> server /rpc_http, durable file",
    FLOOR: "trivial route, same server stack",
}


def proc_memory_mib(pid: int) -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` (peak RSS) of process ``pid``, in MiB."""
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key.lower() + "_mib"] = int(value.split()[0]) / 1024
    return out


def db_size_mib(path: str) -> float:
    """Size of a SQLite database with its ``-wal`` and ``-shm`` files, in MiB."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            total += os.path.getsize(path + suffix)
    return total / 2**20


def remove_db(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


class Server:
    """``python -m emulator`` in a subprocess on ``storage``; ``startup_s`` is the time from
    spawning it to the first ``200`` from ``GET /healthz``. ``extra`` flags go at the end of
    its command line."""

    def __init__(self, storage: str, queue_yaml: str, extra: Sequence[str] = ()) -> None:
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            emulator_api.server_command(0, storage, queue_yaml, extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        self.address = _read_address(self.proc.stdout)
        threading.Thread(target=_drain, args=(self.proc.stdout,), daemon=True).start()
        host, port = self.address.rsplit(":", 1)
        while True:
            try:
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.perf_counter() - start > 60:
                raise RuntimeError(f"the emulator did not start (exit {self.proc.poll()})")
            time.sleep(0.002)
        self.startup_s = time.perf_counter() - start

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """``kill -9`` the server and reap it."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _read_address(stream: IO[str]) -> str:
    for line in stream:
        marker = "listening on http://"
        if marker in line:
            return line.split(marker, 1)[1].split()[0]
    raise RuntimeError("the emulator exited before printing its address")


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


@dataclass
class Session:
    """One target holding a seeded queue, ready for the workloads."""

    target: str
    depth: int
    queue: LegacyQueue
    holder_pid: int
    seed_s: float
    db_path: str | None = None
    server: Server | None = None
    cleanup: list[Any] = field(default_factory=list)

    def worker_spec(self, queue_yaml: str) -> dict[str, Any]:
        """How a separate worker process reaches this session's tasks."""
        address = self.server.address if self.server else None
        return {
            "target": self.target,
            "address": address,
            "storage": self.db_path,
            "queue_yaml": queue_yaml,
        }

    def memory(self) -> dict[str, float]:
        out = proc_memory_mib(self.holder_pid)
        if self.db_path:
            out["db_mib"] = db_size_mib(self.db_path)
        return out

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        for fn in reversed(self.cleanup):
            fn()
        if self.db_path:
            remove_db(self.db_path)


def connect(target: str, *, address: str | None, storage: str | None, queue_yaml: str) -> Any:
    """The ``taskqueue`` module of a target whose tasks live elsewhere (a worker process)."""
    if target == EMBEDDED_FILE:
        assert storage
        return emulator_api.install_embedded(queue_yaml, storage)
    assert address
    if target == HTTP_FILE:
        return emulator_api.install_remote(address)
    if target == SDK_RPC_FILE:
        return emulator_api.install_sdk(address)
    raise ValueError(f"{target} has no out-of-process workers")


def open_session(
    target: str, depth: int, root: str, queue_yaml: str, template: str | None
) -> Session:
    """Open ``target`` with ``depth`` ready tasks in queue ``bench``."""
    if target == STUB:
        return _open_stub(depth, root)
    if target == EMBEDDED_MEM:
        tq = emulator_api.install_embedded(queue_yaml, ":memory:")
        start = time.perf_counter()
        emulator_api.seed_embedded(QUEUE, depth, _seed_eta_usec(), 10)
        seed_s = time.perf_counter() - start
        return Session(target, depth, LegacyQueue(tq, QUEUE), os.getpid(), seed_s)
    assert template is not None, f"{target} needs a seeded template database"
    db = os.path.join(root, f"{target}-{depth}.sqlite3")
    start = time.perf_counter()
    shutil.copyfile(template, db)
    seed_s = time.perf_counter() - start
    if target == EMBEDDED_FILE:
        tq = emulator_api.install_embedded(queue_yaml, db)
        return Session(target, depth, LegacyQueue(tq, QUEUE), os.getpid(), seed_s, db)
    server = Server(db, queue_yaml)
    tq = connect(target, address=server.address, storage=db, queue_yaml=queue_yaml)
    return Session(target, depth, LegacyQueue(tq, QUEUE), server.pid, seed_s, db, server)


def _seed_eta_usec() -> int:
    return int(past_eta(2).timestamp() * 1_000_000)


def _open_stub(depth: int, root: str) -> Session:
    # Google's own module, in this process (the shim is never installed here).
    from google.appengine.api import taskqueue  # type: ignore[import-untyped, unused-ignore]
    from google.appengine.ext import testbed  # type: ignore[import-untyped, unused-ignore]

    bed = testbed.Testbed()
    bed.activate()
    bed.init_taskqueue_stub(root_path=root)
    queue = LegacyQueue(taskqueue, QUEUE)
    start = time.perf_counter()
    queue.add(depth, eta=past_eta(2))
    seed_s = time.perf_counter() - start
    return Session(STUB, depth, queue, os.getpid(), seed_s, cleanup=[bed.deactivate])


def seed_template(path: str, depth: int) -> float:
    """Write a database with ``depth`` ready tasks; return the seconds it took."""
    remove_db(path)
    start = time.perf_counter()
    emulator_api.seed_file(path, QUEUE, depth, _seed_eta_usec(), 10)
    return time.perf_counter() - start


def python_env() -> dict[str, str]:
    """The environment for child processes: this interpreter's import path, no warnings."""
    env = dict(os.environ)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH")) if p)
    env["PYTHONWARNINGS"] = "ignore"
    env.pop(emulator_api.ENV_HOST, None)
    return env
