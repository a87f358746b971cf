"""The web console in a real browser: Debian's Chromium, headless, driven by Playwright,
against the emulator served on a free port (the test clock frozen).

Each test opens a fresh browser context (no cookies, no storage) and fails if the page
shows a JavaScript dialog or logs an error (a Content-Security-Policy violation would).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from emulator.app import runtime_app
from emulator.domain.clock import ControllableClock
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.model import AddRequest
from emulator.faces import auth
from emulator.server import ServerThread
from emulator.wiring import Runtime, build_runtime
from tests.browser_support import chromium_missing, launch_chromium
from tests.shim_support import PULL, PULL_B, T0, write_queue_yaml

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or ""),
]

TOKEN = "browser-Token_9"
XSS_PAYLOAD = '<script>alert(1)</script><img src=x onerror="window.__xss=1">'
XSS_TAG = '"><img src=x onerror=alert(1)>'
WAIT_MS = 20_000  # the longest any step may wait for the page (a bound, never a pace)


@dataclass
class Served:
    """The emulator served for the browser: its runtime and address."""

    runtime: Runtime
    url: str

    def add(self, queue: str, *requests: AddRequest) -> None:
        results = self.runtime.service.add(queue, list(requests))
        assert all(r.code is ErrorCode.OK for r in results), results


@dataclass
class Tab:
    """A page of a fresh browser context, with what it said in dialogs and console errors."""

    page: Any
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _serve(tmp_path: Path, auth_token: str | None = None) -> Iterator[Served]:
    clock = ControllableClock()
    clock.freeze(T0)
    runtime = build_runtime(str(write_queue_yaml(tmp_path)), ":memory:", clock=clock)
    server = ServerThread(runtime_app(runtime, auth_token=auth_token)).start()
    try:
        yield Served(runtime, f"http://{server.address}")
    finally:
        server.stop()
        runtime.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(tmp_path)


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(tmp_path, TOKEN)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    opened = Tab(page)

    def on_dialog(dialog: Any) -> None:
        opened.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    yield opened
    context.close()
    assert opened.dialogs == [], "a dialog opened"
    assert opened.errors == [], "the page logged errors"


def _flash(page: Any) -> str:
    return str(page.locator(".flash").first.inner_text())


def test_queues_page_to_a_queue_add_a_task_see_it_open_it_delete_it(
    served: Served, tab: Tab
) -> None:
    page = tab.page
    # The queues page lists the pull queue with its type
    page.goto(f"{served.url}/")
    row = page.locator(f'tr[data-queue="{PULL}"]')
    assert row.locator("td.type").inner_text() == "Pull"
    # Following the queue's name opens its page
    row.get_by_role("link", name=PULL).click()
    page.wait_for_url(f"{served.url}/queues/{PULL}")
    assert page.locator("h1").inner_text().startswith(PULL)
    # The form adds a task, which the page then lists
    page.locator('textarea[name="payload"]').fill('{"hello": "from the browser"}')
    page.locator('#add-task input[name="tag"]').fill("web")
    page.get_by_role("button", name="Add task").click()
    assert _flash(page).startswith("Added task task1")
    task_row = page.locator('tr[data-task="task1"]')
    assert task_row.locator("td.tag").inner_text() == "web"
    assert task_row.locator(".preview").inner_text() == '{"hello": "from the browser"}'
    assert page.locator("#count-ready").inner_text() == "1"
    # Its name opens the task page, with the whole payload
    task_row.get_by_role("link", name="task1").click()
    page.wait_for_url(f"{served.url}/queues/{PULL}/tasks/task1")
    assert page.locator("#payload").inner_text() == '{"hello": "from the browser"}'
    # Deleting it goes back to the queue, which no longer lists it
    page.get_by_role("button", name="Delete").click()
    page.wait_for_url(f"{served.url}/queues/{PULL}")
    assert _flash(page) == "Deleted task task1."
    assert page.locator('tr[data-task="task1"]').count() == 0
    with pytest.raises(TaskQueueError) as gone:
        served.runtime.service.get_task(PULL, "task1")
    assert gone.value.code is ErrorCode.TOMBSTONED_TASK


def test_purge_asks_for_confirmation(served: Served, tab: Tab) -> None:
    served.add(PULL_B, *(AddRequest(payload=b"x") for _ in range(3)))
    page = tab.page
    page.goto(f"{served.url}/")
    page.locator(f'tr[data-queue="{PULL_B}"]').get_by_role("link", name="Purge…").click()
    assert page.locator("h1").inner_text() == f"Purge queue {PULL_B}?"
    page.get_by_role("link", name="Cancel").click()  # changing one's mind changes nothing
    assert served.runtime.service.stats([PULL_B])[0].tasks == 3
    page.get_by_role("link", name="Purge…").click()
    page.locator("#confirm-purge").click()
    assert _flash(page) == f"Purged 3 tasks from queue {PULL_B}."
    assert page.locator("#count-tasks").inner_text() == "0"
    assert served.runtime.service.stats([PULL_B])[0].tasks == 0


def test_a_script_payload_and_tag_show_as_text_and_never_run(served: Served, tab: Tab) -> None:
    # Given a task whose payload and tag are markup, and one added through the form
    served.add(PULL, AddRequest(payload=XSS_PAYLOAD.encode(), name="xss", tag=XSS_TAG))
    page = tab.page
    page.goto(f"{served.url}/queues/{PULL}")
    page.locator('textarea[name="payload"]').fill(XSS_PAYLOAD)
    page.locator('#add-task input[name="tag"]').fill(XSS_TAG)
    page.get_by_role("button", name="Add task").click()
    assert _flash(page).startswith("Added task")
    # Then both rows show the markup as text, and nothing ran
    for name in ("xss", "task1"):
        row = page.locator(f'tr[data-task="{name}"]')
        assert row.locator("td.tag").inner_text() == XSS_TAG
        assert row.locator(".preview").inner_text().startswith("<script>alert(1)</script>")
    assert page.locator("tbody img, tbody script").count() == 0
    page.get_by_role("link", name="xss").click()
    assert page.locator("#payload").inner_text() == XSS_PAYLOAD
    assert page.locator(".tag-value").inner_text() == XSS_TAG
    assert page.evaluate("window.__xss") is None


def test_releasing_a_lease_and_pausing_from_the_page(served: Served, tab: Tab) -> None:
    served.add(PULL, AddRequest(payload=b"work", name="job"))
    served.runtime.service.lease(PULL, 300, 1)
    page = tab.page
    page.goto(f"{served.url}/queues/{PULL}")
    row = page.locator('tr[data-task="job"]')
    assert row.locator(".badge").inner_text() == "leased"
    row.get_by_role("button", name="Release").click()
    assert _flash(page).startswith("Released the lease on task job")
    assert page.locator('tr[data-task="job"] .badge').inner_text() == "ready"
    page.get_by_role("button", name="Pause").click()
    assert _flash(page).startswith(f"Queue {PULL} is paused")
    assert served.runtime.service.stats([PULL])[0].paused
    page.get_by_role("button", name="Resume").click()
    assert not served.runtime.service.stats([PULL])[0].paused


def test_auto_refresh_shows_new_tasks_and_can_be_switched_off(served: Served, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{served.url}/queues/{PULL}")
    page.wait_for_selector("html[data-refresh=ready]")
    assert page.locator("#count-tasks").inner_text() == "0"
    # A task added behind the page's back appears without a reload
    served.add(PULL, AddRequest(payload=b"new", name="arrived"))
    page.locator('tr[data-task="arrived"]').wait_for()
    assert page.locator("#count-tasks").inner_text() == "1"
    # Switched off, it stays off after a reload
    page.locator("#auto-refresh").uncheck()
    page.reload()
    page.wait_for_selector("html[data-refresh=ready]")
    assert not page.locator("#auto-refresh").is_checked()


def test_the_console_asks_for_the_token_once_and_keeps_it_in_an_httponly_cookie(
    locked: Served, tab: Tab, browser: Any
) -> None:
    page = tab.page
    # Without the cookie, the console sends the browser to its login page
    page.goto(f"{locked.url}/queues/{PULL}")
    assert page.url == f"{locked.url}/login?next=/queues/{PULL}"
    # A wrong token is refused
    page.locator('input[name="token"]').fill("wrong")
    page.get_by_role("button", name="Log in").click()
    assert "That is not the emulator" in page.locator(".form-error").inner_text()
    tab.errors.clear()  # the browser logs the 403 of the refused login
    # The right one opens the page first asked for, and stays in an HttpOnly cookie
    page.locator('input[name="token"]').fill(TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{locked.url}/queues/{PULL}")
    [cookie] = [c for c in page.context.cookies() if c["name"] == auth.COOKIE_NAME]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/")
    assert auth.COOKIE_NAME not in page.evaluate("document.cookie")
    page.goto(f"{locked.url}/")
    assert page.locator("h1").inner_text() == "Queues"
    # Logging out drops it
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{locked.url}/login")
    assert [c for c in page.context.cookies() if c["name"] == auth.COOKIE_NAME] == []
