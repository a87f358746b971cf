"""Both worlds see the same queues: the legacy shim (remote backend) and google-cloud-tasks'
clients (v2beta2 on gRPC and REST, v2 for push tasks) on one live emulator. A task added in
one world is read, leased and deleted in the other; ``retry_count`` is
``attempt_dispatch_count``, a tombstone blocks the name in both, a lease token from one
world is accepted by the other, and ``task_retry_limit`` (``max_attempts`` - 1 leases)
deletes the task for both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulator.faces.cloud_tasks.grpc_server import CloudTasksGrpcServer
from shims import testing
from tests.cloud_tasks_support import (
    TRANSPORTS,
    CloudTasksWorld,
    cloud_tasks_world,
    raises_status,
    seconds,
    usec,
)
from tests.shim_support import LIMITED, PULL, PUSH, SEC, T0, LiveServer, ShimWorld, shim_world

pytestmark = pytest.mark.e2e


@pytest.fixture(params=TRANSPORTS)
def ct(
    request: pytest.FixtureRequest, server: LiveServer, cloud_tasks_grpc: CloudTasksGrpcServer
) -> Iterator[CloudTasksWorld]:
    with cloud_tasks_world(server, cloud_tasks_grpc, "v2beta2", request.param) as world:
        yield world


@pytest.fixture
def legacy(server: LiveServer, ct: CloudTasksWorld) -> Iterator[ShimWorld]:
    with shim_world(server.backend(), T0) as world:
        yield world
        testing.use_system_clock()


def lease(ct: CloudTasksWorld, queue: str = PULL, lease_s: float = 60) -> list[Any]:
    request = {
        "parent": ct.queue(queue),
        "max_tasks": 10,
        "lease_duration": seconds(lease_s),
        "response_view": ct.types.Task.View.FULL,
    }
    return list(ct.client.lease_tasks(request=request).tasks)


def test_a_legacy_task_is_read_and_leased_through_cloud_tasks(
    ct: CloudTasksWorld, legacy: ShimWorld
) -> None:
    tq = legacy.taskqueue
    [added] = tq.Queue(PULL).add([tq.Task(payload=b"from legacy", method="PULL", tag="a")])

    got = ct.client.get_task(request={"name": ct.task(PULL, added.name), "response_view": 2})
    assert (got.pull_message.payload, got.pull_message.tag) == (b"from legacy", "a")
    assert usec(got.schedule_time) == added._eta_usec
    [leased] = lease(ct, lease_s=30)
    assert leased.status.attempt_dispatch_count == 1
    legacy.advance(30)  # the Cloud Tasks lease ends; the legacy world leases it next
    [again] = tq.Queue(PULL).lease_tasks(60, 10)
    assert (again.name, again.retry_count) == (added.name, 2)
    assert ct.client.get_task(name=got.name).status.attempt_dispatch_count == 2


def test_a_cloud_tasks_task_is_leased_and_deleted_by_the_legacy_shim(
    ct: CloudTasksWorld, legacy: ShimWorld
) -> None:
    tq = legacy.taskqueue
    t = ct.types
    message = t.PullMessage(payload=b"from cloud tasks", tag="b")
    ct.client.create_task(
        parent=ct.queue(PULL), task=t.Task(name=ct.task(PULL, "ct-1"), pull_message=message)
    )

    [task] = tq.Queue(PULL).lease_tasks_by_tag(60, 10, tag="b")
    assert (task.name, task.payload, task.tag, task.retry_count) == (
        "ct-1",
        b"from cloud tasks",
        "b",
        1,
    )
    tq.Queue(PULL).delete_tasks(task)
    with raises_status(ct, "NOT_FOUND", "deleted"):
        ct.client.get_task(name=ct.task(PULL, "ct-1"))
    with raises_status(ct, "ALREADY_EXISTS", "was deleted"):
        ct.client.create_task(
            parent=ct.queue(PULL), task=t.Task(name=ct.task(PULL, "ct-1"), pull_message=message)
        )


def test_an_acknowledged_name_is_tombstoned_for_the_legacy_shim(
    ct: CloudTasksWorld, legacy: ShimWorld
) -> None:
    tq = legacy.taskqueue
    tq.Queue(PULL).add(tq.Task(name="shared", payload=b"x", method="PULL"))
    [leased] = lease(ct)

    ct.client.acknowledge_task(name=leased.name, schedule_time=leased.schedule_time)
    with pytest.raises(tq.TombstonedTaskError):
        tq.Queue(PULL).add(tq.Task(name="shared", payload=b"x", method="PULL"))


def test_the_lease_token_crosses_worlds(ct: CloudTasksWorld, legacy: ShimWorld) -> None:
    tq = legacy.taskqueue
    tq.Queue(PULL).add(tq.Task(name="t", payload=b"x", method="PULL"))
    [task] = tq.Queue(PULL).lease_tasks(30, 1)  # a legacy worker holds the lease
    token = ct.types.Task.pb(ct.client.get_task(name=ct.task(PULL, "t"))).schedule_time
    assert token.seconds * SEC + token.nanos // 1000 == task._eta_usec

    renewed = ct.client.renew_lease(
        name=ct.task(PULL, "t"), schedule_time=token, lease_duration=seconds(90)
    )
    assert usec(renewed.schedule_time) == T0 + 90 * SEC
    with pytest.raises(tq.TaskLeaseExpiredError):  # the legacy worker's token is now stale
        tq.Queue(PULL).modify_task_lease(task, 10)


def test_the_retry_limit_means_the_same_in_both_worlds(
    ct: CloudTasksWorld, legacy: ShimWorld
) -> None:
    tq = legacy.taskqueue
    queue = ct.client.get_queue(name=ct.queue(LIMITED))
    assert queue.retry_config.max_attempts == 3  # task_retry_limit: 2
    tq.Queue(LIMITED).add(tq.Task(name="t", payload=b"x", method="PULL"))

    [first] = tq.Queue(LIMITED).lease_tasks(10, 1)
    legacy.advance(10)
    [second] = lease(ct, queue=LIMITED, lease_s=10)
    assert (first.retry_count, second.status.attempt_dispatch_count) == (1, 2)
    legacy.advance(10)
    assert lease(ct, queue=LIMITED) == []  # the lease that would be attempt 3 deletes it
    with raises_status(ct, "NOT_FOUND", "deleted"):
        ct.client.get_task(name=ct.task(LIMITED, "t"))
    with pytest.raises(tq.TombstonedTaskError):
        tq.Queue(LIMITED).add(tq.Task(name="t", payload=b"x", method="PULL"))


def test_legacy_push_tasks_are_seen_by_tasks_v2(ct: CloudTasksWorld, legacy: ShimWorld) -> None:
    tq = legacy.taskqueue
    v2 = ct.other("v2")
    tq.Queue(PUSH).add(tq.Task(url="/work", payload=b"body", method="PUT", countdown=5, name="job"))

    [task] = v2.list_tasks(request={"parent": ct.queue(PUSH), "response_view": 2})
    assert task.name == ct.task(PUSH, "job")
    request = task.app_engine_http_request
    assert (request.relative_uri, request.body) == ("/work", b"body")
    assert request.http_method == ct.other_types("v2").HttpMethod.PUT
    assert usec(task.schedule_time) == T0 + 5 * SEC
    v2.delete_task(name=task.name)
    assert testing.stub.get_filtered_tasks(queue_names=[PUSH]) == []


def test_cloud_tasks_push_tasks_are_counted_by_the_legacy_statistics(
    ct: CloudTasksWorld, legacy: ShimWorld
) -> None:
    tq = legacy.taskqueue
    v2 = ct.other("v2")
    t = ct.other_types("v2")
    for url in ("https://a.example/x", "https://b.example/y"):
        v2.create_task(parent=ct.queue(PUSH), task=t.Task(http_request=t.HttpRequest(url=url)))

    assert tq.QueueStatistics.fetch(tq.Queue(PUSH)).tasks == 2
