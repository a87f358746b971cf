"""``emulator.core.paging``: page tokens and the one pager every whole-queue listing uses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.core import paging
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import MAX_PEEK_PAGE_SIZE
from emulator.domain.model import PeekFilter, StoredTask, TaskPage
from tests.core_support import PULL, World, pull


@settings(max_examples=100)
@given(eta=st.integers(-(2**63), 2**63 - 1), name=st.text(min_size=0, max_size=50))
def test_a_page_token_decodes_to_what_it_encodes(eta: int, name: str) -> None:
    assert paging.decode_page_token(paging.encode_page_token(eta, name)) == (eta, name)


@pytest.mark.parametrize(
    "token", ["%%%", "bm8tY29sb24", "eDph", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk6YQ"]
)
def test_a_bad_page_token_is_invalid_request(token: str) -> None:
    with pytest.raises(TaskQueueError) as err:
        paging.decode_page_token(token)
    assert err.value.code is ErrorCode.INVALID_REQUEST


def _task(name: str) -> StoredTask:
    return StoredTask(queue=PULL, name=name, eta_usec=0)


def test_the_pager_follows_the_tokens_until_a_page_has_none() -> None:
    pages = {
        None: TaskPage([_task("a"), _task("b")], "t1"),
        "t1": TaskPage([], "t2"),  # an empty page that still has a successor
        "t2": TaskPage([_task("c")], None),
    }
    asked: list[str | None] = []

    def fetch(token: str | None) -> TaskPage:
        asked.append(token)
        return pages[token]

    assert [t.name for t in paging.iterate_tasks(fetch)] == ["a", "b", "c"]
    assert asked == [None, "t1", "t2"]


def test_the_pager_is_lazy_and_lets_errors_through() -> None:
    def fetch(token: str | None) -> TaskPage:
        raise TaskQueueError(ErrorCode.UNKNOWN_QUEUE, "nope")

    tasks = paging.iterate_tasks(fetch)  # nothing fetched yet
    with pytest.raises(TaskQueueError) as err:
        next(tasks)
    assert err.value.code is ErrorCode.UNKNOWN_QUEUE


def test_all_tasks_pages_with_the_largest_page(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = MAX_PEEK_PAGE_SIZE + 1
    for start in range(0, count, 100):
        world.add(*(pull(name=f"t{i:05d}") for i in range(start, min(start + 100, count))))
    limits: list[int] = []
    peek = world.service.peek

    def spy(queue: str, where: PeekFilter) -> TaskPage:
        limits.append(where.limit)
        return peek(queue, where)

    monkeypatch.setattr(world.service, "peek", spy)

    names = [t.name for t in paging.all_tasks(world.service, PULL)]

    assert names == [f"t{i:05d}" for i in range(count)]
    assert limits == [MAX_PEEK_PAGE_SIZE, MAX_PEEK_PAGE_SIZE]


def test_all_tasks_of_an_unknown_queue_is_unknown_queue(world: World) -> None:
    with pytest.raises(TaskQueueError) as err:
        paging.all_tasks(world.service, "nope")
    assert err.value.code is ErrorCode.UNKNOWN_QUEUE
