"""Google's own SDK (appengine-python-standard 3.1) forwarding push queues to Cloud Tasks
(``APPENGINE_USE_CLOUDTASK_PUSH_QUEUE=true``) lands in the emulator: its v2 client creates
(CreateTask, BatchCreateTasks), deletes (BatchDeleteTasks) and purges, its v2beta3 client reads
``QueueStatistics``, while its pull tasks take the legacy path (``/rpc_http`` through
:mod:`shims.sdk.stub`) to the same emulator. Its clients are pointed at the emulator the way
docs/CLOUD_TASKS.md shows (the SDK builds them without arguments)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from google.appengine.api import apiproxy_stub_map, taskqueue
from google.appengine.api.taskqueue import cloudtask

from emulator.faces.cloud_tasks.grpc_server import CloudTasksGrpcServer
from shims.sdk.stub import register_sdk_stub
from tests.cloud_tasks_support import LOCATION, PROJECT, TRANSPORTS, make_client
from tests.shim_support import PULL, PUSH, T0, FakeTime, LiveServer, sdk_time

pytestmark = pytest.mark.e2e


@pytest.fixture(params=TRANSPORTS)
def sdk(
    request: pytest.FixtureRequest,
    server: LiveServer,
    cloud_tasks_grpc: CloudTasksGrpcServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """Google's ``taskqueue`` with Cloud Tasks push queues on, its clients on the emulator."""
    server.runtime.service.reset()
    server.runtime.clock.freeze(T0)
    monkeypatch.setattr(apiproxy_stub_map, "apiproxy", apiproxy_stub_map.APIProxyStubMap())
    for key, value in {
        "APPENGINE_USE_CLOUDTASK_PUSH_QUEUE": "true",
        "GOOGLE_CLOUD_PROJECT": f"s~{PROJECT}",
        "LOCATION_ID": LOCATION,
        "HTTP_HOST": "localhost",
    }.items():
        monkeypatch.setenv(key, value)
    register_sdk_stub(server.address)
    cloudtask._reset_clients()
    for version in ("v2", "v2beta3"):  # what cloudtask._get_cached_client would build
        client = make_client(version, request.param, server.address, cloud_tasks_grpc.address)
        cloudtask._CLIENTS[(version, os.getpid())] = client
    try:
        with sdk_time(FakeTime(T0)):
            yield taskqueue
    finally:
        cloudtask._reset_clients()
        apiproxy_stub_map.apiproxy.GetStub("taskqueue").close()
        server.runtime.clock.unfreeze()


def test_push_tasks_are_created_through_cloud_tasks(sdk: Any, server: LiveServer) -> None:
    queue = sdk.Queue(PUSH)
    one = queue.add(sdk.Task(url="/work", payload=b"one", name="one", method="PUT"))
    two, three = queue.add([sdk.Task(url="/a", payload=b"2"), sdk.Task(url="/b", countdown=5)])

    assert (one.name, one.was_enqueued) == ("one", True)
    assert [two.name, three.name] == ["task1", "task2"]  # BatchCreateTasks; the emulator's names
    stored = server.runtime.service.get_task(PUSH, "one")
    assert (stored.url, stored.method, stored.payload) == ("/work", "PUT", b"one")
    assert server.runtime.service.get_task(PUSH, "task2").eta_usec == T0 + 5_000_000
    assert sdk.QueueStatistics.fetch(queue).tasks == 3  # v2beta3 GetQueue with stats


def test_names_taken_or_deleted_raise_the_legacy_exceptions(sdk: Any) -> None:
    queue = sdk.Queue(PUSH)
    queue.add(sdk.Task(url="/w", name="a"))
    queue.add(sdk.Task(url="/w", name="b"))
    with pytest.raises(sdk.TaskAlreadyExistsError):
        queue.add(sdk.Task(url="/w", name="a"))

    queue.delete_tasks_by_name("b")  # BatchDeleteTasks
    with pytest.raises(sdk.TombstonedTaskError):  # the error's name travels in the message
        queue.add(sdk.Task(url="/w", name="b"))
    with pytest.raises(sdk.TombstonedTaskError):
        queue.add([sdk.Task(url="/w", name="b"), sdk.Task(url="/w", name="c")])


def test_delete_purge_and_an_unknown_queue(sdk: Any, server: LiveServer) -> None:
    queue = sdk.Queue(PUSH)
    tasks = queue.add([sdk.Task(url="/w", name=f"t{i}") for i in range(3)])

    deleted = queue.delete_tasks(tasks[:2])
    assert [t.was_deleted for t in deleted] == [True, True]
    assert [t.was_deleted for t in queue.delete_tasks_by_name(["t0", "never"])] == [False, False]
    queue.purge()
    assert server.runtime.service.stats([PUSH])[0].tasks == 0
    with pytest.raises(sdk.UnknownQueueError):
        sdk.Queue("nope").add(sdk.Task(url="/w"))


def test_pull_tasks_take_the_legacy_path_to_the_same_emulator(sdk: Any, server: LiveServer) -> None:
    queue = sdk.Queue(PULL)
    queue.add(sdk.Task(payload=b"pulled", method="PULL", tag="x", name="p"))

    [task] = queue.lease_tasks_by_tag(60, 10)
    assert (task.name, task.payload, task.retry_count) == ("p", b"pulled", 1)
    assert server.runtime.service.get_task(PULL, "p").retry_count == 1
    queue.delete_tasks(task)
    assert sdk.QueueStatistics.fetch(queue).tasks == 0
