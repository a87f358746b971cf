"""Core: what Cloud Tasks' faces need beyond the legacy API — acknowledge (delete only with the
current lease token), change_lease (a lease change answering with the task), creation times
on leases and adds, and HTTP-target push tasks (an absolute ``http_url``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.model import AddRequest, LeasedTask
from emulator.domain.queue_config import QueueMode
from emulator.store.sqlite import SqliteTaskStore
from tests.core_support import PULL, PUSH, World, make_world, pull

SEC = 1_000_000


def leased(world: World, name: str = "t", lease: float = 30) -> LeasedTask:
    world.add(pull(name=name, tag="x"))
    world.tick()
    [task] = world.service.lease(PULL, lease, 1)
    return task


def error_of(call: Callable[..., object], *args: object) -> TaskQueueError:
    with pytest.raises(TaskQueueError) as err:
        call(*args)
    return err.value


def push(**fields: object) -> AddRequest:
    return AddRequest(payload=b"body", mode=QueueMode.PUSH, method="POST", **fields)  # type: ignore[arg-type]


# -- acknowledge --------------------------------------------------------------------------------


def test_acknowledge_with_the_current_token_deletes_and_tombstones(world: World) -> None:
    task = leased(world)
    world.service.acknowledge(PULL, "t", task.eta_usec)
    assert error_of(world.service.get_task, PULL, "t").code is ErrorCode.TOMBSTONED_TASK
    assert world.service.add(PULL, [pull(name="t")])[0].code is ErrorCode.TOMBSTONED_TASK


def test_acknowledge_with_a_stale_token_is_refused_and_keeps_the_task(world: World) -> None:
    task = leased(world)
    err = error_of(world.service.acknowledge, PULL, "t", task.eta_usec - 1)
    assert err.code is ErrorCode.TASK_LEASE_EXPIRED
    assert "its lease changed" in err.message
    assert world.service.get_task(PULL, "t").eta_usec == task.eta_usec


def test_acknowledge_after_another_worker_leased_the_task_is_refused(world: World) -> None:
    first = leased(world, lease=10)
    world.tick(10)  # the first lease has ended; a second worker takes the task
    [second] = world.service.lease(PULL, 10, 1)
    assert error_of(world.service.acknowledge, PULL, "t", first.eta_usec).code is (
        ErrorCode.TASK_LEASE_EXPIRED
    )
    world.service.acknowledge(PULL, "t", second.eta_usec)
    assert world.service.stats([PULL])[0].tasks == 0


def test_acknowledge_at_the_instant_the_lease_ends_is_expired(world: World) -> None:
    task = leased(world, lease=10)
    world.clock.set(task.eta_usec)
    err = error_of(world.service.acknowledge, PULL, "t", task.eta_usec)
    assert err.code is ErrorCode.TASK_LEASE_EXPIRED
    assert "has expired" in err.message


def test_acknowledge_in_its_last_microsecond_succeeds(world: World) -> None:
    task = leased(world, lease=10)
    world.clock.set(task.eta_usec - 1)
    world.service.acknowledge(PULL, "t", task.eta_usec)
    assert world.service.stats([PULL])[0].tasks == 0


def test_acknowledge_of_deleted_unknown_push_and_unknown_queue(world: World) -> None:
    task = leased(world)
    world.service.delete(PULL, ["t"])
    assert error_of(world.service.acknowledge, PULL, "t", task.eta_usec).code is (
        ErrorCode.TOMBSTONED_TASK
    )
    assert error_of(world.service.acknowledge, PULL, "u", 1).code is ErrorCode.UNKNOWN_TASK
    assert error_of(world.service.acknowledge, PUSH, "t", 1).code is ErrorCode.INVALID_QUEUE_MODE
    assert error_of(world.service.acknowledge, "nope", "t", 1).code is ErrorCode.UNKNOWN_QUEUE


def test_acknowledge_works_on_a_paused_queue(world: World) -> None:
    task = leased(world)
    world.service.pause(PULL)
    world.service.acknowledge(PULL, "t", task.eta_usec)
    assert world.service.stats([PULL])[0].tasks == 0


# -- change_lease -------------------------------------------------------------------------------


def test_change_lease_returns_the_task_with_its_new_eta(world: World) -> None:
    task = leased(world)
    world.tick(5)
    changed = world.service.change_lease(PULL, "t", task.eta_usec, 60)
    assert changed.eta_usec == world.clock.now_usec() + 60 * SEC
    assert (changed.name, changed.payload, changed.tag, changed.retry_count) == ("t", b"p", "x", 1)
    assert world.service.get_task(PULL, "t") == changed


def test_change_lease_to_zero_makes_the_task_leasable_now(world: World) -> None:
    task = leased(world)
    changed = world.service.change_lease(PULL, "t", task.eta_usec, 0)
    assert changed.eta_usec == world.clock.now_usec()
    assert [t.retry_count for t in world.service.lease(PULL, 10, 1)] == [2]


def test_change_lease_refuses_what_modify_lease_refuses(world: World) -> None:
    task = leased(world)
    stale = error_of(world.service.change_lease, PULL, "t", task.eta_usec + 1, 10)
    assert stale.code is ErrorCode.TASK_LEASE_EXPIRED
    world.service.pause(PULL)
    assert error_of(world.service.change_lease, PULL, "t", task.eta_usec, 10).code is (
        ErrorCode.QUEUE_PAUSED
    )


# -- creation times -----------------------------------------------------------------------------


def test_add_and_lease_report_when_the_task_was_created(world: World) -> None:
    created = world.clock.now_usec()
    [result] = world.service.add(PULL, [pull(name="t")])
    assert result.created_usec == created
    world.tick(3)
    [task] = world.service.lease(PULL, 10, 1)
    assert task.created_usec == created


# -- HTTP-target push tasks ---------------------------------------------------------------------


def test_an_http_target_task_keeps_its_absolute_url(world: World) -> None:
    url = "https://example.com/hook?x=1"
    [name] = world.add(push(http_url=url), queue=PUSH)
    task = world.service.get_task(PUSH, name)
    assert (task.http_url, task.url, task.method) == (url, None, "POST")


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"http_url": "/relative"}, "absolute"),
        ({"http_url": "ftp://example.com/x"}, "absolute"),
        ({"http_url": "https://"}, "absolute"),
        ({"http_url": "https://h/" + "a" * 2100}, "at most 2083"),
        ({"http_url": "https://h/", "url": "/x"}, "not both"),
    ],
)
def test_bad_http_urls_are_invalid_url(world: World, fields: dict[str, str], mentions: str) -> None:
    [result] = world.service.add(PUSH, [push(**fields)])
    assert result.code is ErrorCode.INVALID_URL
    assert mentions in result.message


def test_http_url_on_a_pull_task_is_invalid_url(world: World) -> None:
    [result] = world.service.add(PULL, [pull(http_url="https://example.com/")])
    assert result.code is ErrorCode.INVALID_URL


def test_the_http_url_survives_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "tasks.db")
    first = make_world(path)
    [name] = first.add(push(http_url="http://h/p"), queue=PUSH)
    first.store.close()
    assert make_world(path).service.get_task(PUSH, name).http_url == "http://h/p"


def test_a_schema_1_file_gains_the_http_url_column_and_keeps_its_tasks(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = SqliteTaskStore(str(path))
    with store.transaction() as tx:  # make it look like a file written by schema 1
        tx._conn.execute("DROP TABLE tasks")
        tx._conn.execute(
            "CREATE TABLE tasks (queue TEXT NOT NULL, name TEXT NOT NULL, eta_usec INTEGER "
            "NOT NULL, payload BLOB NOT NULL, tag TEXT, retry_count INTEGER NOT NULL DEFAULT 0, "
            "created_usec INTEGER NOT NULL, leased_at_usec INTEGER, mode INTEGER NOT NULL, "
            "method TEXT, url TEXT, headers TEXT, retry_parameters TEXT, "
            "dispatch_deadline_usec INTEGER, UNIQUE (queue, name))"
        )
        tx._conn.execute(
            "INSERT INTO tasks (queue, name, eta_usec, payload, created_usec, mode) "
            f"VALUES ('{PULL}', 'old', 5, x'6869', 1, 1)"
        )
        tx._conn.execute("PRAGMA user_version = 1")
    store.close()
    world = make_world(str(path))
    assert world.service.get_task(PULL, "old").payload == b"hi"
    [name] = world.add(push(http_url="https://h/"), queue=PUSH)
    assert world.service.get_task(PUSH, name).http_url == "https://h/"
