"""The web console's actions: add, delete, release, purge, pause and resume, each one
service call followed by a flash message on the page it goes back to."""

from __future__ import annotations

import pytest

from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.model import PeekFilter, TaskState
from tests.console_support import ConsoleSite, error_message, flashes, table_rows
from tests.core_support import LIMITED, PULL, PUSH, pull

SEC = 1_000_000


# -- add ------------------------------------------------------------------------------------------


def test_adding_a_task_from_the_form_stores_payload_tag_and_countdown(site: ConsoleSite) -> None:
    # When the form is sent with a text payload, a tag and a countdown of 90 s
    form = {"payload": "line 1\r\nline 2", "tag": "t1", "countdown": "90", "name": ""}
    messages = site.act(f"/queues/{PULL}/tasks", {**form, "next": f"/queues/{PULL}"})
    # Then the task is stored with them (the browser's CRLF kept as the LF that was typed)
    [task] = site.world.service.peek(PULL, PeekFilter()).tasks
    assert (task.payload, task.tag) == (b"line 1\nline 2", "t1")
    assert task.eta_usec == site.world.clock.now_usec() + 90 * SEC
    assert task.state(site.world.clock.now_usec()) is TaskState.DELAYED
    assert messages == [("success", f"Added task {task.name} (ready at 2026-01-01 00:01:30 UTC).")]


@pytest.mark.parametrize(
    ("encoding", "typed", "stored"),
    [
        ("base64", "AP/+AQ==", b"\x00\xff\xfe\x01"),
        ("base64", "AP/+\nAQ==", b"\x00\xff\xfe\x01"),
        ("hex", "00 ff fe 01", b"\x00\xff\xfe\x01"),
        ("text", "héllo", "héllo".encode()),
        ("text", "", b""),
    ],
)
def test_a_payload_can_be_typed_as_text_base64_or_hex(
    site: ConsoleSite, encoding: str, typed: str, stored: bytes
) -> None:
    site.act(f"/queues/{PULL}/tasks", {"payload": typed, "encoding": encoding, "name": "t"})
    assert site.world.service.get_task(PULL, "t").payload == stored


def test_a_task_added_without_countdown_is_ready_at_once_and_listed(site: ConsoleSite) -> None:
    site.act(f"/queues/{PULL}/tasks", {"payload": "now", "name": "fresh"})
    rows = table_rows(site.page(f"/queues/{PULL}"), "data-task")
    assert rows["fresh"][2:4] == ["ready", "due now"]


@pytest.mark.parametrize(
    ("form", "status", "words"),
    [
        ({"payload": "not base64!", "encoding": "base64"}, 400, "payload: is not valid base64"),
        ({"payload": "zz", "encoding": "hex"}, 400, "payload: is not valid hex"),
        ({"payload": "x", "encoding": "rot13"}, 400, "encoding: must be one of text, base64"),
        ({"payload": "x", "countdown": "soon"}, 400, "countdown: must be a number of seconds"),
        ({"payload": "x", "countdown": "-1"}, 400, "countdown: must be a number of seconds, 0"),
        ({"payload": "x", "countdown": "nan"}, 400, "countdown: must be a number of seconds, 0"),
        ({"payload": "x", "countdown": "1e300"}, 400, "countdown: is too large"),
        ({"payload": "x", "countdown": str(31 * 86400)}, 400, "Invalid ETA"),
        ({"payload": "x", "name": "bad name"}, 400, "Invalid task name"),
        ({"payload": "x", "tag": "t" * 501}, 400, "Invalid tag"),
        ({"payload": "x" * (2**20 + 1)}, 413, "Task too large"),
    ],
)
def test_a_task_that_cannot_be_added_shows_the_form_again_with_the_error(
    site: ConsoleSite, form: dict[str, str], status: int, words: str
) -> None:
    answer = site.post(f"/queues/{PULL}/tasks", form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == status
    error = page.split('<p class="form-error" role="alert">')[1].split("</p>")[0]
    assert words in error
    assert f">{form['payload'][:50]}" in page  # the payload as typed, ready to fix
    assert site.world.service.stats([PULL])[0].tasks == 0


def test_a_taken_or_deleted_name_is_refused_with_its_reason(site: ConsoleSite) -> None:
    site.world.add(pull(name="taken"), pull(name="gone"))
    site.world.service.delete(PULL, ["gone"])
    for name, words in [("taken", "A task with this name exists"), ("gone", "has been deleted")]:
        answer = site.post(f"/queues/{PULL}/tasks", {"payload": "x", "name": name})
        assert answer.status_code in (409, 410)
        assert words in answer.get_data(as_text=True)
    assert site.world.service.stats([PULL])[0].tasks == 1


def test_adding_to_a_push_queue_or_an_unknown_one_is_an_error_page(site: ConsoleSite) -> None:
    push = site.post(f"/queues/{PUSH}/tasks", {"payload": "x"})
    assert push.status_code == 400
    assert "Not possible on this type of queue" in error_message(push.get_data(as_text=True))
    assert site.post("/queues/nope/tasks", {"payload": "x"}).status_code == 404


# -- delete and release ---------------------------------------------------------------------------


def test_deleting_a_task_tombstones_it(site: ConsoleSite) -> None:
    site.world.add(pull(name="t"))
    messages = site.act(f"/queues/{PULL}/tasks/t/delete", {"next": f"/queues/{PULL}"})
    assert messages == [("success", "Deleted task t.")]
    with pytest.raises(TaskQueueError) as gone:
        site.world.service.get_task(PULL, "t")
    assert gone.value.code is ErrorCode.TOMBSTONED_TASK


def test_deleting_a_missing_task_says_why(site: ConsoleSite) -> None:
    [(kind, text)] = site.act(f"/queues/{PULL}/tasks/ghost/delete")
    assert kind == "error" and text.startswith("No such task: task 'ghost' could not be deleted")


def test_releasing_a_lease_makes_the_task_ready_now(site: ConsoleSite) -> None:
    site.world.add(pull(name="t"))
    [leased] = site.world.service.lease(PULL, 60, 1)
    messages = site.act(f"/queues/{PULL}/tasks/t/release", {"eta_usec": str(leased.eta_usec)})
    task = site.world.service.get_task(PULL, "t")
    assert (task.eta_usec, task.retry_count) == (site.world.clock.now_usec(), 1)
    assert messages == [
        ("success", "Released the lease on task t: it is ready to be leased again.")
    ]


def test_releasing_a_lease_that_changed_meanwhile_is_a_flash_not_a_500(site: ConsoleSite) -> None:
    # Given a page showing a lease, whose holder then extends it
    site.world.add(pull(name="t"))
    [leased] = site.world.service.lease(PULL, 60, 1)
    site.world.service.modify_lease(PULL, "t", leased.eta_usec, 120)
    extended = site.world.service.get_task(PULL, "t").eta_usec
    # When the page's release button is pressed
    [(kind, text)] = site.act(f"/queues/{PULL}/tasks/t/release", {"eta_usec": str(leased.eta_usec)})
    # Then the error says so and the holder keeps the lease
    assert kind == "error"
    assert text.startswith("The lease has changed or ended: task 't' is not leased with ETA")
    assert text.endswith("(TASK_LEASE_EXPIRED)")
    assert site.world.service.get_task(PULL, "t").eta_usec == extended


def test_releasing_an_ended_lease_or_on_a_paused_queue_is_refused(site: ConsoleSite) -> None:
    site.world.add(pull(name="t"))
    [leased] = site.world.service.lease(PULL, 5, 1)
    site.world.tick(5)
    [(_, ended)] = site.act(f"/queues/{PULL}/tasks/t/release", {"eta_usec": str(leased.eta_usec)})
    assert "TASK_LEASE_EXPIRED" in ended
    [again] = site.world.service.lease(PULL, 60, 1)
    site.world.service.pause(PULL)
    [(_, paused)] = site.act(f"/queues/{PULL}/tasks/t/release", {"eta_usec": str(again.eta_usec)})
    assert paused.startswith("The queue is paused") and "(QUEUE_PAUSED)" in paused
    assert site.world.service.get_task(PULL, "t").eta_usec == again.eta_usec


@pytest.mark.parametrize("token", [None, "", "soon", "--5", "1" * 25, "²"])
def test_a_release_without_a_readable_token_is_refused(
    site: ConsoleSite, token: str | None
) -> None:
    site.world.add(pull(name="t"))
    [leased] = site.world.service.lease(PULL, 60, 1)
    form = {} if token is None else {"eta_usec": token}
    [(kind, text)] = site.act(f"/queues/{PULL}/tasks/t/release", form)
    assert kind == "error" and "eta_usec: not a lease token" in text
    assert site.world.service.get_task(PULL, "t").eta_usec == leased.eta_usec


# -- purge, pause, resume -------------------------------------------------------------------------


def test_purging_takes_a_confirmation_step(site: ConsoleSite) -> None:
    # Given 3 tasks
    site.world.add(pull(), pull(), pull())
    # When the purge link is followed: a confirmation page, nothing purged yet
    confirm = site.page(f"/queues/{PULL}/purge")
    assert "Purge queue pull-q?" in confirm and "Purge 3 tasks" in confirm
    assert site.world.service.stats([PULL])[0].tasks == 3
    # When it is confirmed
    messages = site.act(f"/queues/{PULL}/purge", {"next": f"/queues/{PULL}"})
    # Then the queue is empty
    assert messages == [("success", "Purged 3 tasks from queue pull-q.")]
    assert site.world.service.stats([PULL])[0].tasks == 0


def test_pausing_and_resuming_a_queue(site: ConsoleSite) -> None:
    [(_, paused)] = site.act(f"/queues/{LIMITED}/pause", {"next": "/"})
    assert site.world.service.stats([LIMITED])[0].paused
    assert paused.startswith("Queue limited is paused")
    [(_, resumed)] = site.act(f"/queues/{LIMITED}/resume", {"next": "/"})
    assert not site.world.service.stats([LIMITED])[0].paused
    assert resumed == "Queue limited is running."


def test_an_action_on_an_unknown_queue_flashes_the_error(site: ConsoleSite) -> None:
    [(kind, text)] = site.act("/queues/nope/pause", {"next": "/"})
    assert kind == "error" and text.startswith("No such queue: queue 'nope' is unknown")


@pytest.mark.parametrize(
    ("target", "lands"),
    [
        (f"/queues/{PULL}?state=ready", f"/queues/{PULL}?state=ready"),
        ("//evil.example/x", f"/queues/{PULL}"),
        ("https://evil.example/", f"/queues/{PULL}"),
        ("/\\evil.example", f"/queues/{PULL}"),
        ("javascript:alert(1)", f"/queues/{PULL}"),
        (None, f"/queues/{PULL}"),
    ],
)
def test_an_action_goes_back_only_to_a_page_of_this_server(
    site: ConsoleSite, target: str | None, lands: str
) -> None:
    answer = site.post(f"/queues/{PULL}/pause", {} if target is None else {"next": target})
    assert answer.status_code == 303
    assert answer.headers["Location"] == lands


def test_a_flash_message_is_shown_once(site: ConsoleSite) -> None:
    site.act(f"/queues/{PULL}/pause", {"next": "/"})
    assert flashes(site.page("/")) == []


def test_a_form_larger_than_the_console_reads_is_a_413_page(site: ConsoleSite) -> None:
    answer = site.post(f"/queues/{PULL}/tasks", {"payload": "x" * (5 * 2**20)})
    assert answer.status_code == 413
    assert "<h1>Error 413</h1>" in answer.get_data(as_text=True)
    assert site.world.service.stats([PULL])[0].tasks == 0
