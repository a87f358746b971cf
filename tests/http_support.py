"""Shared builders for the HTTP face tests: the Flask app over an in-memory service whose
controllable clock is frozen at a fixed instant, plus request helpers that check the
contract every response must keep (JSON, never a 5xx)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from emulator.app import create_app
from emulator.config import parse_queue_yaml
from emulator.core.faults import FaultPlan
from emulator.core.pull_queue import LocalQueueService
from emulator.core.service import QueueService
from emulator.domain.clock import ControllableClock
from emulator.domain.production import ProductionOptions
from emulator.store.sqlite import SqliteTaskStore
from emulator.wiring import compose

#: 2026-01-01T00:00:00Z in microseconds: the instant every test starts at.
NOW = 1_767_225_600_000_000
NOW_TEXT = "2026-01-01T00:00:00.000000Z"
SEC = 1_000_000

PULL = "pull-q"
OTHER = "other-pull"
LIMITED = "limited"
PUSH = "push-q"

QUEUE_YAML = f"""\
queue:
- name: {PULL}
  mode: pull
- name: {OTHER}
  mode: pull
- name: {LIMITED}
  mode: pull
  retry_parameters:
    task_retry_limit: 2
- name: {PUSH}
  rate: 5/s
  bucket_size: 10
"""
ALL_QUEUES = sorted(["default", PULL, OTHER, LIMITED, PUSH])

Json = dict[str, Any]


@dataclass
class Api:
    """A test client over a fresh service; every request asserts a JSON, non-5xx answer."""

    app: Flask
    client: FlaskClient
    clock: ControllableClock
    service: QueueService
    faults: FaultPlan

    # -- raw requests ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        raw: bytes | str | None = None,
        query: Mapping[str, str | list[str]] | None = None,
    ) -> TestResponse:
        """Send ``body`` as JSON (or ``raw`` as is) and check the universal contract."""
        kwargs: dict[str, Any] = {"query_string": query}
        if raw is not None:
            kwargs["data"] = raw
            kwargs["content_type"] = "application/json"
        elif body is not None:
            kwargs["json"] = body
        response = self.client.open(path, method=method, **kwargs)
        assert response.status_code < 500, response.get_data(as_text=True)
        if method != "HEAD":
            assert response.is_json, response.get_data(as_text=True)[:200]
        return response

    def get(self, path: str, **query: str | list[str]) -> TestResponse:
        return self.request("GET", path, query=query or None)

    def post(self, path: str, body: object = None, *, raw: bytes | str | None = None) -> Json:
        """POST and return the body of a 200 answer (asserting it is one)."""
        response = self.request("POST", path, body, raw=raw)
        assert response.status_code == 200, response.get_json()
        return _json(response)

    # -- the native API in domain words ----------------------------------------------------

    def add(self, queue: str, *tasks: Json) -> list[Json]:
        """Add tasks and return the per-task results (any codes)."""
        body = self.post(f"/v1/queues/{queue}/tasks", {"tasks": list(tasks)})
        results: list[Json] = body["tasks"]
        assert len(results) == len(tasks)
        assert body["added"] == sum(r["code"] == "OK" for r in results)
        return results

    def add_ok(self, queue: str, *tasks: Json) -> list[str]:
        """Add tasks, asserting every one was added; return their names."""
        results = self.add(queue, *tasks)
        assert [r["code"] for r in results] == ["OK"] * len(tasks), results
        return [r["name"] for r in results]

    def lease(
        self, queue: str, lease_seconds: float = 30, max_tasks: int = 10, **kw: Any
    ) -> list[Json]:
        body = {"lease_seconds": lease_seconds, "max_tasks": max_tasks, **kw}
        tasks: list[Json] = self.post(f"/v1/queues/{queue}/lease", body)["tasks"]
        return tasks

    def lease_names(self, queue: str, **kw: Any) -> list[str]:
        return [t["name"] for t in self.lease(queue, **kw)]

    def peek(self, queue: str, **query: str | list[str]) -> list[Json]:
        """Every task of one page of the peek listing."""
        response = self.get(f"/v1/queues/{queue}/tasks", **query)
        assert response.status_code == 200, response.get_json()
        tasks: list[Json] = _json(response)["tasks"]
        return tasks

    def peek_names(self, queue: str, **query: str | list[str]) -> list[str]:
        return [t["name"] for t in self.peek(queue, **query)]

    def task(self, queue: str, name: str) -> Json:
        response = self.get(f"/v1/queues/{queue}/tasks/{name}")
        assert response.status_code == 200, response.get_json()
        return _json(response)

    def stats(self, queue: str) -> Json:
        response = self.get(f"/v1/queues/{queue}/stats")
        assert response.status_code == 200
        return _json(response)

    def delete(self, queue: str, *names: str) -> list[str]:
        results = self.post(f"/v1/queues/{queue}/delete", {"names": list(names)})["results"]
        assert [r["name"] for r in results] == list(names)
        return [r["code"] for r in results]

    def snapshot(self) -> dict[str, list[Json]]:
        """Every stored task of every queue, as the peek listing shows it."""
        return {q: self.peek(q, limit="1000") for q in ALL_QUEUES}

    def at(self, now_usec: int) -> None:
        """Freeze the clock at ``now_usec``."""
        self.clock.freeze(now_usec)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


def make_api(
    *,
    test_control: bool = False,
    queue_yaml: str = QUEUE_YAML,
    production: ProductionOptions | None = None,
) -> Api:
    """A fresh app: in-memory SQLite, clock frozen at :data:`NOW`, the queues of QUEUE_YAML,
    the ``production`` behaviours (default: none) composed as the emulator composes them."""
    clock = ControllableClock()
    clock.freeze(NOW)
    core = LocalQueueService(SqliteTaskStore(":memory:"), clock, parse_queue_yaml(queue_yaml))
    service, faults = compose(core, clock, production or ProductionOptions())
    app = create_app(service, clock=clock, enable_test_control=test_control, faults=faults)
    return Api(app, app.test_client(), clock, service, faults)


def _json(response: TestResponse) -> Json:
    body = response.get_json()
    assert isinstance(body, dict), body
    return body


def assert_error(response: TestResponse, status: int, code: str, *mentions: str) -> str:
    """Assert the JSON error contract: status, ``{"error": {"code", "message"}}`` and nothing
    else, with a message naming each of ``mentions``. Returns the message."""
    body = response.get_json()
    assert response.status_code == status, body
    assert response.is_json
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert isinstance(message, str) and message, body
    for text in mentions:
        assert text in message, (text, message)
    return message


def assert_error_shape(response: TestResponse) -> None:
    """Any 4xx: the error body with a known-looking code and a message."""
    body = response.get_json()
    assert 400 <= response.status_code < 500, body
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"].isupper()
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
