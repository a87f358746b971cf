"""The shim module on the embedded emulator: what it does beyond (or unlike) Google's stub,
and the RPC objects' contract."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shims import apiproxy_errors, backends, testing
from shims import clock as client_clock
from shims import taskqueue as tq
from shims.backends.embedded import EmbeddedBackend
from shims.taskqueue import _task
from tests.shim_support import PULL, PUSH, SEC, T0, embedded_backend, write_queue_yaml


@pytest.fixture
def backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedBackend]:
    monkeypatch.setenv("HTTP_HOST", "testbed.example.com")
    chosen = embedded_backend(write_queue_yaml(tmp_path))
    previous = backends.use(chosen)
    testing.set_clock(T0)
    try:
        yield chosen
    finally:
        testing.use_system_clock()
        backends.use(previous)
        chosen.close()


def pull(name: str | None = None, **kwargs: Any) -> tq.Task:
    return tq.Task(payload=b"p", method="PULL", name=name, **kwargs)


def test_unnamed_tasks_get_the_names_the_emulator_chose(backend: EmbeddedBackend) -> None:
    tasks = tq.Queue(PULL).add([pull(), pull(), pull()])
    assert [t.name for t in tasks] == ["task1", "task2", "task3"]
    assert tq.add(payload="x", method="PULL", queue_name=PULL).name == "task4"


def test_auto_names_skip_names_already_taken(backend: EmbeddedBackend) -> None:
    tq.Queue(PULL).add([pull("task1"), pull("task2")])
    assert tq.Queue(PULL).add(pull()).name == "task3"


def test_added_task_takes_the_eta_the_emulator_stored(backend: EmbeddedBackend) -> None:
    backend.set_clock(T0 + 500 * SEC)
    client_clock.set_source(lambda: T0)  # a client whose clock disagrees with the emulator's
    plain, later = pull(), pull(countdown=10)
    assert plain._eta_usec == T0
    tq.Queue(PULL).add([plain, later])
    assert plain._eta_usec == T0 + 500 * SEC
    assert later._eta_usec == T0 + 510 * SEC
    assert later.eta_posix == (T0 + 510 * SEC) / 1e6


def test_explicit_eta_is_sent_as_given(backend: EmbeddedBackend) -> None:
    import datetime

    eta = datetime.datetime.fromtimestamp(T0 / 1e6 + 42.5, datetime.timezone.utc)
    task = tq.Queue(PULL).add(pull(eta=eta))
    assert task._eta_usec == T0 + 42_500_000


def test_eta_before_1970_is_refused_before_sending(backend: EmbeddedBackend) -> None:
    import datetime

    old = datetime.datetime(1969, 12, 31, tzinfo=datetime.timezone.utc)
    with pytest.raises(tq.InvalidEtaError):
        tq.Queue(PULL).add(pull(eta=old))
    with pytest.raises(tq.InvalidEtaError):
        tq.Queue(PULL).add(pull(countdown=-2e12))
    assert testing.GetTasks(PULL) == []


def test_statistics_are_real(backend: EmbeddedBackend) -> None:
    queue = tq.Queue(PULL)
    queue.add([pull("a"), pull("b"), pull("c", countdown=60)])
    testing.advance_clock(1)
    queue.lease_tasks(30, 1)
    stats = queue.fetch_statistics()
    assert (stats.tasks, stats.oldest_eta_usec) == (3, T0)
    assert (stats.executed_last_minute, stats.in_flight, stats.enforced_rate) == (1, 1, None)
    testing.advance_clock(61)
    stats = queue.fetch_statistics()
    assert (stats.executed_last_minute, stats.in_flight) == (0, 0)
    push = tq.QueueStatistics.fetch(PUSH)
    assert (push.tasks, push.enforced_rate) == (0, 5.0)


def test_lease_on_a_paused_queue_raises_queue_paused(backend: EmbeddedBackend) -> None:
    tq.Queue(PULL).add(pull("a"))
    backend.runtime.service.pause(PULL)
    with pytest.raises(tq.QueuePausedError):
        tq.Queue(PULL).lease_tasks(10, 1)


def test_push_tasks_are_stored_not_dispatched(backend: EmbeddedBackend) -> None:
    queue = tq.Queue(PUSH)
    queue.add([tq.Task(url="/work", params={"k": "v"}, name="p1"), tq.Task(payload="x")])
    [first, second] = testing.GetTasks(PUSH)
    assert (first["name"], first["url"], first["method"]) == ("p1", "/work", "POST")
    assert ("content-type", "application/x-www-form-urlencoded") in first["headers"]
    assert second["url"] == f"/_ah/queue/{PUSH}"
    assert tq.QueueStatistics.fetch(PUSH).tasks == 2


def test_empty_inputs_make_no_call(backend: EmbeddedBackend) -> None:
    assert tq.Queue("nope").add([]) == []
    assert tq.QueueStatistics.fetch([]) == []
    assert tq.Queue("nope").delete_tasks([]) == []


def test_rpc_contract(backend: EmbeddedBackend) -> None:
    calls: list[str] = []
    rpc = tq.create_rpc(deadline=3, callback=lambda: calls.append("done"))
    assert (rpc.state, rpc.deadline, rpc.service) == (rpc.IDLE, 3, "taskqueue")
    tq.Queue(PULL).add_async(pull("a"), rpc=rpc)
    assert (rpc.state, rpc.method, calls) == (rpc.FINISHING, "BulkAdd", [])
    rpc.wait()
    rpc.wait()
    assert calls == ["done"]
    assert rpc.get_result().name == "a"
    assert rpc.request is None and rpc.response[0].name == "a"


def test_failed_rpc_raises_application_error_then_translated(backend: EmbeddedBackend) -> None:
    rpc = tq.Queue("nope").lease_tasks_async(10, 1)
    with pytest.raises(apiproxy_errors.ApplicationError) as raw:
        rpc.check_success()
    assert raw.value.application_error == 1
    with pytest.raises(tq.UnknownQueueError):
        rpc.get_result()
    assert rpc.response is None


def test_rpc_future_holds_the_outcome(backend: EmbeddedBackend) -> None:
    assert tq.create_rpc().future is None
    ok = tq.Queue(PULL).add_async(pull("a"))
    failed = tq.Queue("nope").lease_tasks_async(10, 1)
    assert ok.future is not None and ok.future is ok.future  # built once, on first use
    assert ok.future.done() and ok.future.result()[0].name == "a"
    assert failed.future is not None
    assert isinstance(failed.future.exception(), apiproxy_errors.ApplicationError)


def test_an_async_add_takes_effect_without_get_result(backend: EmbeddedBackend) -> None:
    tq.Queue(PULL).add_async(pull("fire-and-forget"))
    assert [t["name"] for t in testing.GetTasks(PULL)] == ["fire-and-forget"]


def test_wait_any_and_wait_all(backend: EmbeddedBackend) -> None:
    rpcs = [tq.Queue(PULL).add_async(pull(f"t{i}")) for i in range(3)]
    assert tq.taskqueue.UserRPC.wait_any(rpcs) is rpcs[0]
    assert tq.taskqueue.UserRPC.wait_any([]) is None
    assert tq.taskqueue.UserRPC.wait_any([tq.create_rpc(), rpcs[2]]) is rpcs[2]
    calls: list[str] = []
    unstarted = tq.create_rpc(callback=lambda: calls.append("unstarted"))
    tq.taskqueue.UserRPC.wait_all([unstarted])
    assert calls == []  # an RPC never started is not waited for
    tq.taskqueue.UserRPC.wait_all(rpcs)
    assert [r.get_result().was_enqueued for r in rpcs] == [True, True, True]


def test_rpc_cannot_be_reused_or_foreign(backend: EmbeddedBackend) -> None:
    rpc = tq.create_rpc()
    tq.Queue(PULL).add_async(pull("a"), rpc=rpc)
    with pytest.raises(AssertionError):
        tq.Queue(PULL).add_async(pull("b"), rpc=rpc)
    with pytest.raises(TypeError, match="create_rpc"):
        tq.Queue(PULL).add_async(pull("c"), rpc=object())  # type: ignore[arg-type]


def test_missing_http_host_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("HTTP_HOST", raising=False)
    monkeypatch.setattr(_task, "_warned_about_http_host", False)
    with caplog.at_level(logging.WARNING, logger="shims.taskqueue"):
        first = pull()
        pull()
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "HTTP_HOST" in caplog.records[0].message
    assert "Host" not in first.headers


def test_namespace_header_follows_googles_namespace_manager(
    backend: EmbeddedBackend,
) -> None:
    namespace_manager = pytest.importorskip("google.appengine.api.namespace_manager")
    namespace_manager.set_namespace("tenant-1")
    try:
        assert pull().headers["X-AppEngine-Current-Namespace"] == "tenant-1"
    finally:
        namespace_manager.set_namespace(None)
    assert pull().headers["X-AppEngine-Current-Namespace"] == ""


def test_headers_are_case_insensitive_and_copied(backend: EmbeddedBackend) -> None:
    task = tq.Task(url="/a", headers={"X-Thing": "1"})
    headers = task.headers
    assert type(headers) is dict and headers["X-Thing"] == "1"
    headers["X-Thing"] = "2"
    assert task.headers["X-Thing"] == "1"
    assert tq.Task(url="/a", headers={"host": "h"}).headers == {
        "host": "h",
        "X-AppEngine-Current-Namespace": "",
    }


def test_public_classes_live_in_the_public_module() -> None:
    assert tq.Task.__module__ == "shims.taskqueue.taskqueue"
    assert tq.TaskLeaseExpiredError.__module__ == "shims.taskqueue.taskqueue"


#: Every public property of a Task.
_TASK_PROPERTIES = [
    "dispatch_deadline_usec",
    "eta_posix",
    "eta",
    "_eta_usec",
    "headers",
    "method",
    "name",
    "on_queue_url",
    "payload",
    "queue_name",
    "retry_count",
    "retry_options",
    "size",
    "tag",
    "target",
    "url",
    "was_enqueued",
    "was_deleted",
]


def test_leased_tasks_match_tasks_built_one_by_one(
    backend: EmbeddedBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given tasks with and without tags, payloads of different sizes, and a namespace
    monkeypatch.setenv("HTTP_X_APPENGINE_DEFAULT_NAMESPACE", "ns")
    tq.Queue(PULL).add([pull("a", tag="x"), tq.Task(payload=b"longer" * 50, method="PULL")])
    backend.set_clock(T0 + SEC)
    # When they are leased (twice, so the retry count moves)
    first = tq.Queue(PULL).lease_tasks(0, 10)
    leased = tq.Queue(PULL).lease_tasks(60, 10)
    # Then each matches the Task the constructor builds from the same fields
    assert [t.retry_count for t in first] == [1, 1]
    for task in leased:
        expected = tq.Task(payload=task.payload, method="PULL", name=task.name, tag=task.tag)
        expected._set_eta_usec(task._eta_usec)
        expected._mark_added(PULL, None, None)
        expected_values = {p: getattr(expected, p) for p in _TASK_PROPERTIES}
        expected_values["retry_count"] = 2
        assert {p: getattr(task, p) for p in _TASK_PROPERTIES} == expected_values
    assert [(t.name, t.tag, t.size > 300) for t in leased] == [
        ("a", "x", False),
        ("task1", None, True),
    ]
    leased[0].headers["X-Mine"] = "1"  # a copy: the other task is not touched
    assert "X-Mine" not in leased[1].headers
