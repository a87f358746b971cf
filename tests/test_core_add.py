"""Core: adding tasks (legacy-taskqueue-api.md §4.2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core import validation
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import MAX_ETA_USEC, MAX_PULL_TASK_SIZE_BYTES, MAX_PUSH_TASK_SIZE_BYTES
from emulator.domain.model import AddRequest, AddResult
from emulator.domain.queue_config import QueueMode
from tests.core_support import PULL, PUSH, World, pull


def codes(results: Sequence[AddResult]) -> list[str]:
    return [r.code.name for r in results]


def test_unnamed_tasks_get_task1_task2_and_the_names_are_returned(world: World) -> None:
    # Given a fresh emulator, When three unnamed tasks are added
    results = world.service.add(PULL, [pull(), pull(), pull()])
    # Then they are named task1..task3 and the names come back to the caller
    assert [(r.code, r.name) for r in results] == [
        (ErrorCode.OK, "task1"),
        (ErrorCode.OK, "task2"),
        (ErrorCode.OK, "task3"),
    ]


def test_auto_names_skip_names_that_are_taken_or_tombstoned(world: World) -> None:
    world.add(pull(name="task1"), pull(name="task2"))
    world.service.delete(PULL, ["task2"])
    assert world.add(pull()) == ["task3"]


def test_a_batch_of_auto_names_skips_taken_names_inside_and_after_its_block(
    world: World,
) -> None:
    # Given task2 stored, task3 tombstoned and task5 stored
    world.add(pull(name="task2"), pull(name="task3"), pull(name="task5"))
    world.service.delete(PULL, ["task3"])
    # When a batch of three unnamed tasks names "task6" explicitly too
    results = world.service.add(PULL, [pull(), pull(name="task6"), pull(), pull()])
    # Then the auto names are the free ones in counter order, as one by one would choose
    assert [r.name for r in results] == ["task1", "task6", "task4", "task7"]
    assert world.add(pull()) == ["task8"]


def test_a_name_repeated_in_one_batch_is_stored_once(world: World) -> None:
    results = world.service.add(PULL, [pull(name="a"), pull(name="a"), pull()])
    assert [(r.code, r.name) for r in results] == [
        (ErrorCode.OK, "a"),
        (ErrorCode.TASK_ALREADY_EXISTS, "a"),
        (ErrorCode.OK, "task1"),
    ]


def test_add_returns_the_stored_eta_which_defaults_to_now(world: World) -> None:
    now = world.clock.now_usec()
    [result] = world.service.add(PULL, [pull()])
    assert result.eta_usec == now
    [result] = world.service.add(PULL, [pull(countdown_seconds=2.5)])
    assert result.eta_usec == now + 2_500_000


def test_existing_and_tombstoned_names_fail_per_task_and_others_are_added(world: World) -> None:
    world.add(pull(name="exists"), pull(name="gone"))
    world.service.delete(PULL, ["gone"])
    results = world.service.add(
        PULL, [pull(name="a"), pull(name="exists"), pull(name="gone"), pull(name="b")]
    )
    assert codes(results) == ["OK", "TASK_ALREADY_EXISTS", "TOMBSTONED_TASK", "OK"]
    assert world.service.stats([PULL])[0].tasks == 3


def test_a_name_repeated_in_one_batch_is_added_once(world: World) -> None:
    results = world.service.add(PULL, [pull(name="x"), pull(name="x")])
    assert codes(results) == ["OK", "TASK_ALREADY_EXISTS"]


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ({"eta_usec": -1}, "INVALID_ETA"),
        ({"countdown_seconds": 30 * 24 * 3600 + 1}, "INVALID_ETA"),
        ({"payload": b"x" * MAX_PULL_TASK_SIZE_BYTES}, "TASK_TOO_LARGE"),
        ({"name": "a.b"}, "INVALID_TASK_NAME"),
        ({"name": "n" * 501}, "INVALID_TASK_NAME"),
        ({"tag": "t" * 501}, "INVALID_TAG"),
    ],
)
def test_an_invalid_task_rejects_the_whole_batch_and_skips_the_others(
    world: World, bad: dict[str, Any], code: str
) -> None:
    # Given a batch where the middle task is invalid
    results = world.service.add(PULL, [pull(name="ok1"), pull(**bad), pull()])
    # Then nothing is stored, the bad task has its code and the others are SKIPPED
    assert codes(results) == ["SKIPPED", code, "SKIPPED"]
    assert world.service.stats([PULL])[0].tasks == 0
    assert world.service.add(PULL, [pull(name="ok1")])[0].code is ErrorCode.OK


def test_a_refused_batch_names_each_task_as_far_as_it_is_known(world: World) -> None:
    """A valid unnamed task of a refused batch has its chosen auto name; an invalid one has
    its own name, or none."""
    batch = [pull(name="ok1"), pull(eta_usec=-1), pull(name="a.b"), pull()]
    results = world.service.add(PULL, batch)
    assert [(r.code.name, r.name) for r in results] == [
        ("SKIPPED", "ok1"),
        ("INVALID_ETA", None),
        ("INVALID_TASK_NAME", "a.b"),
        ("SKIPPED", "task1"),
    ]


def test_eta_exactly_30_days_ahead_is_allowed(world: World) -> None:
    eta = world.clock.now_usec() + MAX_ETA_USEC
    assert world.service.add(PULL, [pull(eta_usec=eta)])[0].code is ErrorCode.OK
    assert world.service.add(PULL, [pull(eta_usec=eta + 1)])[0].code is ErrorCode.INVALID_ETA


def test_size_limit_counts_the_request_not_just_the_payload(world: World) -> None:
    # A payload of exactly the limit is too large once queue name, name and ETA are counted.
    just_under = MAX_PULL_TASK_SIZE_BYTES - 64
    assert world.service.add(PULL, [pull(b"x" * just_under)])[0].code is ErrorCode.OK
    [too_big] = world.service.add(PULL, [pull(b"x" * MAX_PULL_TASK_SIZE_BYTES)])
    assert too_big.code is ErrorCode.TASK_TOO_LARGE
    assert str(MAX_PULL_TASK_SIZE_BYTES) in too_big.message


def test_push_tasks_have_the_smaller_limit(world: World) -> None:
    push = AddRequest(payload=b"x" * MAX_PUSH_TASK_SIZE_BYTES, mode=QueueMode.PUSH, url="/w")
    assert world.service.add(PUSH, [push])[0].code is ErrorCode.TASK_TOO_LARGE


def test_pull_task_to_a_push_queue_is_invalid_queue_mode(world: World) -> None:
    with pytest.raises(TaskQueueError) as err:
        world.service.add("default", [pull()])
    assert err.value.code is ErrorCode.INVALID_QUEUE_MODE


def test_push_task_to_a_pull_queue_is_invalid_queue_mode(world: World) -> None:
    with pytest.raises(TaskQueueError) as err:
        world.service.add(PULL, [AddRequest(b"x", mode=QueueMode.PUSH, url="/w")])
    assert err.value.code is ErrorCode.INVALID_QUEUE_MODE


def test_mode_none_takes_the_queue_mode(world: World) -> None:
    world.add(AddRequest(b"x", mode=None, name="a"))
    assert world.service.get_task(PULL, "a").mode is QueueMode.PULL
    world.add(AddRequest(b"x", mode=None, url="/w", method="PUT", name="b"), queue=PUSH)
    stored = world.service.get_task(PUSH, "b")
    assert (stored.mode, stored.url, stored.method) == (QueueMode.PUSH, "/w", "PUT")


def test_unknown_queue_and_bad_queue_names_are_whole_batch_errors(world: World) -> None:
    with pytest.raises(TaskQueueError) as err:
        world.service.add("nope", [pull()])
    assert err.value.code is ErrorCode.UNKNOWN_QUEUE
    with pytest.raises(TaskQueueError) as err:
        world.service.add("a_b", [pull()])
    assert err.value.code is ErrorCode.INVALID_QUEUE_NAME


@pytest.mark.parametrize(("count", "code"), [(0, "INVALID_REQUEST"), (101, "TOO_MANY_TASKS")])
def test_batch_size_is_1_to_100(world: World, count: int, code: str) -> None:
    with pytest.raises(TaskQueueError) as err:
        world.service.add(PULL, [pull() for _ in range(count)])
    assert err.value.code.name == code
    assert world.service.add(PULL, [pull() for _ in range(100)])[99].code is ErrorCode.OK


def test_tag_on_a_push_task_is_invalid(world: World) -> None:
    push = AddRequest(b"", mode=QueueMode.PUSH, url="/w", tag="t")
    assert world.service.add(PUSH, [push])[0].code is ErrorCode.INVALID_TAG


def test_empty_tag_is_stored_as_untagged(world: World) -> None:
    world.add(pull(name="e", tag=""))
    assert world.service.get_task(PULL, "e").tag is None


def test_a_rejected_batch_still_advances_the_auto_name_counter_like_the_stub(
    world: World,
) -> None:
    with pytest.raises(TaskQueueError):
        world.service.add("default", [pull()])
    assert world.service.add(PULL, [pull(eta_usec=-1), pull()])[1].code is ErrorCode.SKIPPED
    assert world.add(pull()) == ["task3"]  # task1 and task2 went to the rejected batches


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"url": "http://example.com/w"}, "INVALID_URL"),
        ({"url": "/" + "u" * 2083}, "INVALID_URL"),
        ({"dispatch_deadline_usec": 15 * 1_000_000 - 1}, "INVALID_DISPATCH_DEADLINE"),
        ({"dispatch_deadline_usec": 0}, "INVALID_DISPATCH_DEADLINE"),  # falsy, still checked
        ({"dispatch_deadline_usec": 24 * 3600 * 1_000_000 + 1}, "INVALID_DISPATCH_DEADLINE"),
    ],
)
def test_push_fields_are_checked_server_side(
    world: World, fields: dict[str, Any], code: str
) -> None:
    push = AddRequest(b"", mode=QueueMode.PUSH, **fields)
    assert codes(world.service.add(PUSH, [push])) == [code]


def test_push_fields_at_their_limits_are_accepted(world: World) -> None:
    ok = [
        AddRequest(b"", mode=QueueMode.PUSH, url="/" + "u" * 2082 + "?q=" + "x" * 100),
        AddRequest(b"", mode=QueueMode.PUSH, url="/w", dispatch_deadline_usec=15 * 1_000_000),
        AddRequest(b"", mode=QueueMode.PUSH, dispatch_deadline_usec=24 * 3600 * 1_000_000),
    ]
    assert codes(world.service.add(PUSH, ok)) == ["OK", "OK", "OK"]


_texts = st.text(max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    queue=st.text(min_size=1, max_size=100),
    name=_texts,
    payload=st.binary(max_size=300),
    tag=st.none() | _texts,
    url=st.none() | _texts,
    http_url=st.none() | _texts,
    method=st.none() | st.sampled_from(["GET", "POST"]),
    headers=st.lists(st.tuples(_texts, _texts), max_size=4).map(tuple),
    eta_usec=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    deadline=st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
    mode=st.sampled_from(list(QueueMode)),
)
def test_the_quick_size_bound_is_never_below_the_exact_size(
    queue: str,
    name: str,
    payload: bytes,
    tag: str | None,
    url: str | None,
    http_url: str | None,
    method: str | None,
    headers: tuple[tuple[str, str], ...],
    eta_usec: int,
    deadline: int | None,
    mode: QueueMode,
) -> None:
    request = AddRequest(
        payload=payload,
        tag=tag,
        url=url,
        http_url=http_url,
        method=method,
        headers=headers,
        dispatch_deadline_usec=deadline,
    )
    exact = validation.add_request_size(queue, request, mode, name, eta_usec)
    assert validation.add_request_size_bound(queue, request, name) >= exact
