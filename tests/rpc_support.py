"""Shared helpers for the ``/rpc_http`` tests: the queue.yaml, a frozen fake time for Google's
SDK, a live emulator in a thread driven through its test-control endpoints, and envelopes.

Requests are built with the SDK's own ``*_pb2`` classes wherever possible, so every test also
checks wire compatibility with ``appengine-python-standard``.
"""

from __future__ import annotations

import json
import time
import types
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from google.appengine.api.taskqueue import taskqueue as sdk_taskqueue
from google.appengine.ext.remote_api import remote_api_bytes_pb2 as sdk_remote

from emulator.runtime import Runtime, ServerThread, build_runtime

#: 2026-01-01T00:00:00Z: every clock starts here (exact in float seconds and in microseconds).
T0_SECONDS = 1_767_225_600.0
T0_USEC = 1_767_225_600_000_000
SEC = 1_000_000

PULL = "pullq"
LIMITED = "limited"
QUEUE_YAML = f"""\
queue:
- name: {PULL}
  mode: pull
- name: {LIMITED}
  mode: pull
  retry_parameters:
    task_retry_limit: 2
"""


def write_queue_yaml(directory: Path) -> Path:
    """Write :data:`QUEUE_YAML` as ``directory/queue.yaml`` (testbed's ``root_path`` layout)."""
    path = directory / "queue.yaml"
    path.write_text(QUEUE_YAML)
    return path


class FakeTime:
    """A float-seconds clock for the SDK and the testbed stub; moves only when told to."""

    def __init__(self, start: float = T0_SECONDS) -> None:
        self.now = start

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def usec(self) -> int:
        """The time as the stub converts it (``int(t * 1e6)``)."""
        return int(self.now * 1e6)


class _TimeModule(types.ModuleType):
    """The ``time`` module, except that ``time()`` reads a :class:`FakeTime`."""

    def __init__(self, fake: FakeTime) -> None:
        super().__init__("time")
        self._fake = fake

    def time(self) -> float:
        return self._fake.time()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextmanager
def sdk_time(fake: FakeTime) -> Iterator[None]:
    """Make Google's ``taskqueue`` module compute ETAs (``time.time()``) from ``fake``."""
    original = sdk_taskqueue.time
    sdk_taskqueue.time = _TimeModule(fake)
    try:
        yield
    finally:
        sdk_taskqueue.time = original


@dataclass
class LiveEmulator:
    """An emulator served on 127.0.0.1:<free port> with test control enabled."""

    runtime: Runtime
    server: ServerThread

    @property
    def address(self) -> str:
        return self.server.address

    def _control(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://{self.address}/_emulator/{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            result: dict[str, Any] = json.load(answer)
            return result

    def freeze(self, now_usec: int) -> None:
        """Stop the emulator's clock at ``now_usec`` (``POST /_emulator/clock``)."""
        self._control("clock", {"now_usec": now_usec})

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward."""
        self._control("clock", {"advance_seconds": seconds})

    def use_system_clock(self) -> None:
        """Let the emulator's clock follow the real time again."""
        self._control("clock", {"system": True})

    def reset(self) -> None:
        """Drop every task, tombstone and counter (``POST /_emulator/reset``)."""
        self._control("reset", {})

    def stop(self) -> None:
        self.server.stop()
        self.runtime.close()


def start_emulator(queue_yaml: Path) -> LiveEmulator:
    """Serve a fresh in-memory emulator for ``queue_yaml``, its clock frozen at T0."""
    runtime = build_runtime(str(queue_yaml), ":memory:")
    server = ServerThread(runtime.app(enable_test_control=True)).start()
    emulator = LiveEmulator(runtime, server)
    emulator.freeze(T0_USEC)
    return emulator


def envelope(method: str, request: Any, service: str = "taskqueue") -> bytes:
    """A serialized remote_api ``Request`` carrying ``request`` (any message, or raw bytes)."""
    body = request if isinstance(request, bytes) else request.SerializeToString()
    return sdk_remote.Request(
        service_name=service, method=method, request=body, request_id="ticket"
    ).SerializeToString()


def post_rpc(client: FlaskClient, body: bytes) -> Any:
    """POST ``body`` to /rpc_http; assert HTTP 200 and return the parsed SDK ``Response``."""
    answer = client.post("/rpc_http", data=body, content_type="application/octet-stream")
    assert answer.status_code == 200, answer.data
    assert answer.content_type == "application/octet-stream"
    return sdk_remote.Response.FromString(answer.data)
