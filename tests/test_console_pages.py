"""The web console's pages through Flask's test client: what each page shows, and how
every service error reads on it."""

from __future__ import annotations

import base64

import pytest

from emulator.domain.errors import ErrorCode
from emulator.faces.console.errors import ERRORS
from tests.console_support import ConsoleSite, error_message, table_rows
from tests.core_support import LIMITED, PULL, PUSH, pull

SEC = 1_000_000


def _seed(site: ConsoleSite) -> None:
    """A ready task (oldest, due 5 s ago), a leased one, a delayed one, a binary one."""
    now = site.world.clock.now_usec()
    site.world.add(
        pull(b"lease me", name="busy", eta_usec=now - 10 * SEC),
        pull(b'{"job": 1}', name="json", tag="alpha", eta_usec=now - 5 * SEC),
        pull(b"\x00\xff\xfe\x01", name="binary", eta_usec=now - SEC),
        pull(b"later", name="later", tag="beta", countdown_seconds=90),
    )
    [leased] = site.world.service.lease(PULL, 30, 1)
    assert leased.name == "busy"


# -- the queues page ----------------------------------------------------------------------------


def test_the_queues_page_lists_every_queue_with_its_type_and_counts(site: ConsoleSite) -> None:
    # Given a pull queue with ready, leased and delayed tasks, and a paused one
    _seed(site)
    site.world.service.pause(LIMITED)
    # When the queues page is opened
    rows = table_rows(site.page("/"), "data-queue")
    # Then every configured queue is listed, the pull queue with its counts
    assert sorted(rows) == sorted(["default", LIMITED, PULL, PUSH])
    name, kind, tasks, ready, leased, delayed, oldest, recent, state, limit, rate = rows[PULL][:11]
    assert (name, kind, tasks, ready, leased, delayed) == (PULL, "Pull", "4", "2", "1", "1")
    assert oldest == "2025-12-31 23:59:55 UTC 5 s ago"  # the leased task's ETA moved ahead
    assert (recent, state, limit, rate) == ("1 / 1", "running", "—", "—")
    assert rows[LIMITED][8:10] == ["paused", "2"]
    assert (rows[PUSH][1], rows[PUSH][10]) == ("Push", "5/s")


def test_a_queue_name_links_to_its_page(site: ConsoleSite) -> None:
    page = site.page("/")
    assert f'<a class="queue-name" href="/queues/{PULL}">{PULL}</a>' in page


def test_the_queues_page_offers_pause_resume_and_a_purge_confirmation(site: ConsoleSite) -> None:
    site.world.service.pause(LIMITED)
    page = site.page("/")
    assert f'action="/queues/{PULL}/pause"' in page
    assert f'action="/queues/{LIMITED}/resume"' in page
    assert f'href="/queues/{PULL}/purge"' in page


def test_each_page_view_samples_the_depth_chart(site: ConsoleSite) -> None:
    # Given two page views 10 s apart on the test clock, with a task added between them
    site.page("/")
    site.world.add(pull(name="a"), pull(name="b"))
    site.world.tick(10)
    # When the queues page is viewed a second time
    page = site.page("/")
    # Then the queue's sparkline has a point per view, the last one at 2 ready tasks
    chart = page[page.index(f'data-queue="{PULL}"') :]
    chart = chart[chart.index("<svg") : chart.index("</svg>")]
    ready_points = chart.split('class="series-ready" points="')[1].split('"')[0].split()
    assert len(ready_points) == 2
    assert "ready 2, leased 0" in chart


# -- a queue's page -----------------------------------------------------------------------------


def test_a_queue_page_lists_its_tasks_with_state_eta_retries_size_and_preview(
    site: ConsoleSite,
) -> None:
    _seed(site)
    rows = table_rows(site.page(f"/queues/{PULL}"), "data-task")
    assert list(rows) == ["json", "binary", "busy", "later"]  # (eta, name) order
    assert rows["json"][:7] == ["json", "alpha", "ready", "due 5 s ago", "0", "10 B", '{"job": 1}']
    assert rows["binary"][:7] == ["binary", "—", "ready", "due 1 s ago", "0", "4 B", "00 ff fe 01"]
    assert rows["busy"][2:5] == ["leased", "lease ends in 30 s", "1"]
    assert rows["later"][1:4] == ["beta", "delayed", "due in 1 min"]


def test_a_queue_page_shows_its_figures(site: ConsoleSite) -> None:
    _seed(site)
    page = site.page(f"/queues/{PULL}")
    for figure, value in [("tasks", 4), ("ready", 2), ("leased", 1), ("delayed", 1)]:
        assert f'id="count-{figure}">{value}</dd>' in page
    assert '<svg class="chart"' in page and "ready 2, leased 1" in page


def test_only_a_leased_task_can_be_released_and_with_its_current_token(site: ConsoleSite) -> None:
    _seed(site)
    page = site.page(f"/queues/{PULL}")
    token = site.world.service.get_task(PULL, "busy").eta_usec
    assert page.count('/delete"') == 4  # one per task
    assert page.count('/release"') == 1
    assert f'action="/queues/{PULL}/tasks/busy/release"' in page
    assert f'name="eta_usec" value="{token}"' in page


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"state": "ready"}, ["json", "binary"]),
        ({"state": "leased"}, ["busy"]),
        ({"state": ["leased", "delayed"]}, ["busy", "later"]),
        ({"state": "leased,delayed"}, ["busy", "later"]),
        ({"tag": "alpha"}, ["json"]),
        ({"untagged": "1"}, ["binary", "busy"]),
        ({"tag": "beta", "state": "ready"}, []),
    ],
)
def test_a_queue_page_filters_by_state_and_tag(
    site: ConsoleSite, query: dict[str, object], names: list[str]
) -> None:
    _seed(site)
    page = site.page(f"/queues/{PULL}", **query)
    assert list(table_rows(page, "data-task")) == names
    if not names:
        assert "No task matches the filter." in page


def test_pages_go_forward_back_and_to_the_first_one(site: ConsoleSite) -> None:
    # Given 7 tasks and pages of 3
    site.world.add(*(pull(name=f"t{i}") for i in range(7)))
    first = site.page(f"/queues/{PULL}", limit=3)
    # When "Next" is followed twice, then "Previous", then "First"
    second = site.page(_link(first, "next"))
    third = site.page(_link(second, "next"))
    back = site.page(_link(third, "prev"))
    start = site.page(_link(third, "first"))
    # Then each page holds the next 3 tasks in order, and going back gives the same pages
    assert list(table_rows(first, "data-task")) == ["t0", "t1", "t2"]
    assert list(table_rows(second, "data-task")) == ["t3", "t4", "t5"]
    assert list(table_rows(third, "data-task")) == ["t6"]
    assert list(table_rows(back, "data-task")) == ["t3", "t4", "t5"]
    assert list(table_rows(start, "data-task")) == ["t0", "t1", "t2"]
    assert 'rel="next"' not in third and 'rel="prev"' not in first
    assert "Page 3" in third and "Page 2" in back
    assert list(table_rows(site.page(_link(back, "prev")), "data-task")) == ["t0", "t1", "t2"]


def test_pages_keep_the_filter(site: ConsoleSite) -> None:
    site.world.add(*(pull(name=f"t{i}", tag="A" if i % 2 else None) for i in range(7)))
    first = site.page(f"/queues/{PULL}", limit=2, tag="A")
    second = site.page(_link(first, "next"))
    assert list(table_rows(second, "data-task")) == ["t5"]
    assert list(table_rows(site.page(_link(second, "prev")), "data-task")) == ["t1", "t3"]


def _link(page: str, rel: str) -> str:
    marker = f'rel="{rel}"'
    tag = page[page.rindex("<a ", 0, page.index(marker)) : page.index(marker)]
    return tag.split('href="')[1].split('"')[0].replace("&amp;", "&")


def test_a_push_queue_page_has_no_add_form_and_no_release(site: ConsoleSite) -> None:
    page = site.page(f"/queues/{PUSH}")
    assert "Push queue" in page and "Add a task" not in page and "/release" not in page


# -- a task's page and its payload ----------------------------------------------------------------


def test_a_task_page_shows_every_field_and_the_whole_payload(site: ConsoleSite) -> None:
    _seed(site)
    page = site.page(f"/queues/{PULL}/tasks/json")
    for text in [
        "Task json",
        "<th>ETA</th><td>2025-12-31 23:59:55 UTC",
        '<code class="tag-value">alpha</code>',
        "<th>Retry count</th><td>0</td>",
        "<th>Created</th><td>2026-01-01 00:00:00 UTC",
        '<span class="none">never</span>',
        "10 B (10 bytes)",
        '<pre class="payload text" id="payload">{&#34;job&#34;: 1}</pre>',
        f'href="/queues/{PULL}/tasks/json/payload"',
    ]:
        assert text in page, text


def test_a_leased_task_page_shows_the_lease_token_and_the_release_button(
    site: ConsoleSite,
) -> None:
    _seed(site)
    task = site.world.service.get_task(PULL, "busy")
    page = site.page(f"/queues/{PULL}/tasks/busy")
    assert (
        "<th>Lease expiry</th>" in page
        and f"<code>{task.eta_usec}</code> µs (the lease token)" in page
    )
    assert "Release lease" in page


@pytest.mark.parametrize(
    ("view", "shown"),
    [
        (None, "00000000  00 ff fe 01"),
        ("hex", "00000000  00 ff fe 01"),
        ("base64", base64.b64encode(b"\x00\xff\xfe\x01").decode()),
        ("text", "00000000  00 ff fe 01"),  # not text: hex instead
    ],
)
def test_a_binary_payload_shows_as_hex_or_base64(
    site: ConsoleSite, view: str | None, shown: str
) -> None:
    _seed(site)
    query = {"view": view} if view else {}
    page = site.page(f"/queues/{PULL}/tasks/binary", **query)
    assert shown in page.split('id="payload">')[1]


def test_the_payload_downloads_as_a_file(site: ConsoleSite) -> None:
    _seed(site)
    answer = site.get(f"/queues/{PULL}/tasks/binary/payload")
    assert answer.status_code == 200
    assert answer.data == b"\x00\xff\xfe\x01"
    assert answer.headers["Content-Type"] == "application/octet-stream"
    assert answer.headers["Content-Disposition"] == "attachment; filename=binary.bin"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"


def test_viewing_changes_nothing(site: ConsoleSite) -> None:
    _seed(site)
    before = [site.world.service.get_task(PULL, n) for n in ("json", "busy", "later")]
    for path in ["/", f"/queues/{PULL}", f"/queues/{PULL}/tasks/busy", f"/queues/{PULL}/purge"]:
        site.page(path)
    site.get(f"/queues/{PULL}/tasks/busy/payload")
    assert [site.world.service.get_task(PULL, n) for n in ("json", "busy", "later")] == before
    assert site.world.service.stats([PULL])[0].leased_last_hour == 1


# -- errors read as words on the page --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "status", "words"),
    [
        ("/queues/nope", {}, 404, "No such queue: queue 'nope' is unknown"),
        ("/queues/bad name!", {}, 400, "Invalid queue name"),
        (f"/queues/{PULL}/tasks/ghost", {}, 404, "No such task: task 'ghost' does not exist"),
        (f"/queues/{PULL}", {"page_token": "%%%"}, 400, "invalid page_token (INVALID_REQUEST)"),
        (f"/queues/{PULL}", {"limit": "0"}, 400, "limit must be between 1 and 1000"),
        (f"/queues/{PULL}", {"limit": "ten"}, 400, "limit: must be a whole number, not 'ten'"),
        (f"/queues/{PULL}", {"state": "gone"}, 400, "state: must be ready, leased or delayed"),
        (f"/queues/{PULL}", {"tag": "a", "untagged": "1"}, 400, "tag: give a tag or ask"),
        ("/queues/nope/purge", {}, 404, "No such queue"),
        ("/queues/nope/tasks/t/payload", {}, 404, "No such queue"),
    ],
)
def test_a_bad_page_request_is_a_readable_error_page(
    site: ConsoleSite, path: str, query: dict[str, str], status: int, words: str
) -> None:
    answer = site.get(path, **query)
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("text/html")
    assert words in error_message(answer.get_data(as_text=True))


def test_a_deleted_task_page_says_it_was_deleted(site: ConsoleSite) -> None:
    site.world.add(pull(name="gone"))
    site.world.service.delete(PULL, ["gone"])
    answer = site.get(f"/queues/{PULL}/tasks/gone")
    assert answer.status_code == 410
    assert "The task has been deleted" in error_message(answer.get_data(as_text=True))


def test_every_error_code_has_words_and_a_status_in_the_console_table() -> None:
    assert set(ERRORS) == set(ErrorCode) - {ErrorCode.OK}
    assert all(400 <= view.status < 600 and view.title for view in ERRORS.values())


def test_an_unexpected_failure_is_an_html_500_without_a_traceback(
    site: ConsoleSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(names: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(site.world.service, "stats", broken)
    answer = site.get("/")
    assert answer.status_code == 500
    assert "Internal error (RuntimeError)" in error_message(answer.get_data(as_text=True))
    assert "Traceback" not in answer.get_data(as_text=True)
