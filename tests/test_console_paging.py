"""A queue page deep in a queue of 100,000 tasks: keyset pagination, shown on the SQL itself
(the store's traced statements and SQLite's plans and instruction counts), never on time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.core.paging import encode_page_token
from emulator.domain.model import StoredTask
from tests.console_support import ConsoleSite, make_site, table_rows
from tests.core_support import PULL, insert_tasks, make_world, query_plan, traced_sql, vm_steps

TASKS = 100_000
DEEP = 90_000  # the deep page starts after this many tasks


@pytest.fixture(scope="module")
def big() -> Iterator[ConsoleSite]:
    """The console of a queue holding 100,000 ready tasks, every other one tagged ``even``."""
    world = make_world()
    start = world.clock.now_usec() - TASKS
    insert_tasks(
        world.store,
        (
            StoredTask(PULL, f"t{i:06d}", start + i, payload=b"x", tag=None if i % 2 else "even")
            for i in range(TASKS)
        ),
    )
    yield make_site(world)
    world.store.close()


def _peek_sql(statements: list[str]) -> str:
    [sql] = [s for s in statements if s.startswith("SELECT") and "ORDER BY eta_usec, name" in s]
    return sql


@pytest.mark.parametrize(
    ("query", "deep_after", "expected_first"),
    [
        ({}, DEEP - 1, DEEP),
        ({"tag": "even"}, DEEP, DEEP + 2),
        ({"state": "ready"}, DEEP - 1, DEEP),
    ],
    ids=["all", "tag", "ready"],
)
def test_a_deep_page_is_an_index_range_from_its_key_not_an_offset(
    big: ConsoleSite, query: dict[str, str], deep_after: int, expected_first: int
) -> None:
    # Given the page token a user holds after paging to task 90,000
    store = big.world.store
    start = big.world.clock.now_usec() - TASKS
    token = encode_page_token(start + deep_after, f"t{deep_after:06d}")
    # When the first page and that deep page are viewed
    with traced_sql(store) as first_statements:
        big.page(f"/queues/{PULL}", **query)
    with traced_sql(store) as deep_statements:
        deep = big.page(f"/queues/{PULL}", page_token=token, **query)
    # Then the deep page lists the tasks right after the token
    names = list(table_rows(deep, "data-task"))
    step = 2 if "tag" in query else 1
    assert names[:2] == [f"t{expected_first:06d}", f"t{expected_first + step:06d}"]
    assert len(names) == 50
    # and its listing is one index search starting at the key: no OFFSET, no scan, no sort
    first_sql, deep_sql = _peek_sql(first_statements), _peek_sql(deep_statements)
    assert "OFFSET" not in deep_sql.upper()
    [plan] = query_plan(store, deep_sql)
    assert plan.startswith("SEARCH tasks USING INDEX") and "(eta_usec,name)>(?,?)" in plan, plan
    # and it costs SQLite about the work of the first page, not of the 90,000 tasks before it
    with vm_steps(store) as first_work:
        store._conn.execute(first_sql).fetchall()
    with vm_steps(store) as deep_work:
        store._conn.execute(deep_sql).fetchall()
    assert deep_work[0] <= first_work[0] + 2, (first_work, deep_work)


def test_next_and_previous_work_deep_in_the_queue(big: ConsoleSite) -> None:
    start = big.world.clock.now_usec() - TASKS
    token = encode_page_token(start + DEEP - 1, f"t{DEEP - 1:06d}")
    deep = big.page(f"/queues/{PULL}", page_token=token, back="", page="1801")
    following = big.page(_href(deep, "next"))
    assert next(iter(table_rows(following, "data-task"))) == f"t{DEEP + 50:06d}"
    assert "Page 1802" in following
    assert list(table_rows(big.page(_href(following, "prev")), "data-task")) == list(
        table_rows(deep, "data-task")
    )


def test_the_statistics_of_100k_tasks_are_counted(big: ConsoleSite) -> None:
    page = big.page(f"/queues/{PULL}")
    assert 'id="count-tasks">100000</dd>' in page and 'id="count-ready">100000</dd>' in page


def _href(page: str, rel: str) -> str:
    marker = page.index(f'rel="{rel}"')
    anchor = page[page.rindex("<a ", 0, marker) : marker]
    return anchor.split('href="')[1].split('"')[0].replace("&amp;", "&")
