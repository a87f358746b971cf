"""How the console writes values (instants, durations, sizes, payloads) and reads its query
strings and forms."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from emulator.domain.model import TaskState
from emulator.faces.console import render
from emulator.faces.console.forms import MAX_BACK_PAGES, AddTaskForm, FormError, Listing, listing

SEC = 1_000_000
T0 = 1_767_225_600 * SEC  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("usec", "text"),
    [
        (0, "0 s"),
        (250_000, "0.25 s"),
        (45 * SEC, "45 s"),
        (12 * 60 * SEC, "12 min"),
        (3 * 3600 * SEC, "3 h"),
        ((3 * 3600 + 5 * 60) * SEC, "3 h 5 min"),
        ((2 * 86400 + 4 * 3600) * SEC, "2 d 4 h"),
        (-90 * SEC, "1 min"),
    ],
)
def test_durations_are_short_and_human(usec: int, text: str) -> None:
    assert render.duration(usec) == text


def test_instants_are_absolute_utc_and_relative_to_the_emulators_clock() -> None:
    assert render.utc(T0 + 5 * SEC + 1) == "2026-01-01 00:00:05 UTC"
    assert render.rfc3339(T0 + 1) == "2026-01-01T00:00:00.000001Z"
    assert render.relative(T0 + 5 * SEC, T0) == "in 5 s"
    assert render.relative(T0 - 5 * SEC, T0) == "5 s ago"
    assert render.relative(T0, T0) == "now"
    assert (render.utc(None), render.relative(None, T0), render.rfc3339(None)) == ("—", "—", "")


@pytest.mark.parametrize(
    ("count", "text"), [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (2**20, "1.0 MiB")]
)
def test_sizes(count: int, text: str) -> None:
    assert render.size(count) == text


@pytest.mark.parametrize(
    ("payload", "kind", "text", "truncated"),
    [
        (b"", "empty", "", False),
        (b"hello\tworld\r\n", "text", "hello\tworld\r\n", False),
        ("é".encode() * 40, "text", "é" * 32, True),  # never cut inside a character
        (b"\x00\x01", "hex", "00 01", False),
        (b"ok\x7f", "hex", "6f 6b 7f", False),  # DEL is a control character
        (b"\xff" * 100, "hex", " ".join(["ff"] * 64), True),
    ],
)
def test_a_preview_is_text_when_the_payload_is_text_else_hex(
    payload: bytes, kind: str, text: str, truncated: bool
) -> None:
    assert render.preview(payload) == render.PayloadView(kind, text, truncated)


def test_the_hex_dump_has_offsets_bytes_and_printable_ascii() -> None:
    dump = render.hexdump(b"Hello, world!\x00\x01\x02" + b"\xff")
    assert dump.splitlines() == [
        "00000000  48 65 6c 6c 6f 2c 20 77 6f 72 6c 64 21 00 01 02  |Hello, world!...|",
        "00000010  ff                                               |.|",
    ]


def test_base64_is_wrapped() -> None:
    assert render.base64_text(b"\x00" * 60).splitlines() == ["A" * 76, "A" * 4]


# -- the listing's query string --------------------------------------------------------------------


def test_a_listing_reads_states_tag_size_and_position() -> None:
    args = MultiDict(
        [("state", "ready,leased"), ("state", "delayed"), ("tag", "t"), ("limit", "25"),
         ("page_token", "abc"), ("back", ""), ("back", "x"), ("page", "3")]
    )  # fmt: skip
    wanted = listing(args)
    assert wanted == Listing(frozenset(TaskState), "t", 25, "abc", ("", "x"), 3)
    assert wanted.peek_filter().limit == 25 and wanted.filtered


def test_the_next_and_previous_pages_carry_the_stack_of_tokens() -> None:
    first = Listing(limit=10)
    second_args = first.next_args("T1")
    assert second_args == {"state": [], "limit": 10, "page_token": "T1", "back": [""], "page": 2}
    second = Listing(limit=10, page_token="T1", back=("",), page=2)
    assert second.next_args("T2")["back"] == ["", "T1"]
    assert second.previous_args() == {"state": [], "limit": 10, "back": []}
    third = Listing(page_token="T2", back=("", "T1"), page=3)
    assert third.previous_args() == {"state": [], "back": [""], "page_token": "T1", "page": 2}
    assert first.previous_args() is None


def test_the_stack_of_previous_pages_is_bounded() -> None:
    deep = Listing(page_token="T", back=tuple(f"t{i}" for i in range(MAX_BACK_PAGES)))
    back = deep.next_args("U")["back"]
    assert isinstance(back, list) and len(back) == MAX_BACK_PAGES and back[-1] == "T"
    huge = MultiDict([("back", f"t{i}") for i in range(500)])
    assert len(listing(huge).back) == MAX_BACK_PAGES


def test_untagged_means_the_empty_tag() -> None:
    wanted = listing(MultiDict([("untagged", "1")]))
    assert wanted.tag == "" and wanted.filter_args() == {"state": [], "untagged": "1"}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ([("state", "asleep")], "state"),
        ([("limit", "²")], "limit"),
        ([("limit", "9" * 30)], "limit"),
        ([("page", "-1")], "page"),
        ([("tag", "a"), ("untagged", "on")], "tag"),
    ],
)
def test_a_bad_query_names_its_parameter(args: list[tuple[str, str]], field: str) -> None:
    with pytest.raises(FormError) as error:
        listing(MultiDict(args))
    assert error.value.field == field and str(error.value).startswith(f"{field}: ")


# -- the add-task form ----------------------------------------------------------------------------


def test_the_add_form_builds_a_pull_task() -> None:
    form = AddTaskForm.read(
        MultiDict({"payload": "a\r\nb", "tag": "t", "countdown": "1.5", "name": " n1 "})
    )
    asked = form.request()
    assert (asked.payload, asked.tag, asked.countdown_seconds, asked.name) == (
        b"a\nb",
        "t",
        1.5,
        "n1",
    )


def test_empty_fields_leave_the_choice_to_the_service() -> None:
    asked = AddTaskForm.read(MultiDict()).request()
    assert (asked.payload, asked.tag, asked.countdown_seconds, asked.name) == (
        b"",
        None,
        None,
        None,
    )


def test_an_error_is_attached_to_its_field_and_keeps_the_input() -> None:
    form = AddTaskForm(payload="zz", encoding="hex")
    with pytest.raises(FormError) as error:
        form.request()
    shown = form.with_error(error.value)
    assert (shown.payload, shown.errors) == ("zz", {"payload": error.value.message})
