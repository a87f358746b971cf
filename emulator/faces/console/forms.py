"""Reading the console's query strings and forms into domain values.

Each function checks what it reads and raises :class:`FormError` naming the field; ranges
that the service checks itself (page size, ETA, tag and name rules) are left to it.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from werkzeug.datastructures import MultiDict

from emulator.domain.limits import USEC_PER_SECOND
from emulator.domain.model import AddRequest, PeekFilter, TaskState
from emulator.domain.queue_config import QueueMode

#: Tasks per page of a queue's listing, unless the query asks for another size.
DEFAULT_PAGE_SIZE: Final = 50
#: Page sizes offered by the filter form (any size the service accepts may be asked for).
PAGE_SIZES: Final = (10, 25, 50, 100, 200, 500)
#: How many previous pages "Previous" can go back through (the tokens travel in the URL).
MAX_BACK_PAGES: Final = 50
#: Encodings of the add-task form's payload field.
PAYLOAD_ENCODINGS: Final = ("text", "base64", "hex")
#: The largest number a form may spell (more digits than any int64).
_MAX_DIGITS = 18


class FormError(ValueError):
    """Input that cannot be used: ``field`` names the form field or query parameter."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


#: What is read: ``request.args`` or ``request.form``.
MultiMap = MultiDict[str, str]


@dataclass(frozen=True)
class Listing:
    """A queue page's query: the filter and the pagination state.

    ``back`` holds the page tokens of the previous pages, nearest last (``''`` is the first
    page); ``page`` is the 1-based number of this page (for display).
    """

    states: frozenset[TaskState] = frozenset()
    tag: str | None = None
    limit: int = DEFAULT_PAGE_SIZE
    page_token: str | None = None
    back: tuple[str, ...] = ()
    page: int = 1

    def peek_filter(self) -> PeekFilter:
        """The service's filter for this page."""
        return PeekFilter(
            states=self.states, tag=self.tag, limit=self.limit, page_token=self.page_token
        )

    def filter_args(self) -> dict[str, object]:
        """Query arguments that keep the filter (and page size) on another page."""
        args: dict[str, object] = {"state": sorted(s.value for s in self.states)}
        if self.tag == "":
            args["untagged"] = "1"
        elif self.tag is not None:
            args["tag"] = self.tag
        if self.limit != DEFAULT_PAGE_SIZE:
            args["limit"] = self.limit
        return args

    def next_args(self, next_token: str) -> dict[str, object]:
        """Query arguments of the next page."""
        back = [*self.back, self.page_token or ""][-MAX_BACK_PAGES:]
        return {**self.filter_args(), "page_token": next_token, "back": back, "page": self.page + 1}

    def previous_args(self) -> dict[str, object] | None:
        """Query arguments of the previous page, or None on the first page (or when the
        previous pages are farther back than :data:`MAX_BACK_PAGES`)."""
        if not self.back:
            return None
        args: dict[str, object] = {**self.filter_args(), "back": list(self.back[:-1])}
        if self.back[-1]:
            args["page_token"] = self.back[-1]
        if self.page > 2:
            args["page"] = self.page - 1
        return args

    @property
    def filtered(self) -> bool:
        """Whether a state or tag filter is in force."""
        return bool(self.states) or self.tag is not None


def listing(args: MultiMap) -> Listing:
    """The listing a queue page's query string asks for.

    ``state`` (repeated or comma-separated: ready, leased, delayed), ``tag`` (exact), or
    ``untagged=1``, ``limit``, ``page_token``, ``back`` (repeated), ``page``.
    """
    states: set[TaskState] = set()
    for raw in args.getlist("state"):
        for value in filter(None, (v.strip() for v in raw.split(","))):
            try:
                states.add(TaskState(value))
            except ValueError:
                raise FormError(
                    "state", f"must be ready, leased or delayed, not {value!r}"
                ) from None
    tag: str | None = args.get("tag") or None
    if _flag(args.get("untagged")):
        if tag is not None:
            raise FormError("tag", "give a tag or ask for untagged tasks, not both")
        tag = ""
    return Listing(
        states=frozenset(states),
        tag=tag,
        limit=_whole_number("limit", args.get("limit"), DEFAULT_PAGE_SIZE),
        page_token=args.get("page_token") or None,
        back=tuple(args.getlist("back"))[-MAX_BACK_PAGES:],
        page=max(1, _whole_number("page", args.get("page"), 1)),
    )


def _flag(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "on", "true", "yes")


def _whole_number(name: str, text: str | None, default: int) -> int:
    if text is None or not text.strip():
        return default
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or len(digits.lstrip("0")) > _MAX_DIGITS:
        raise FormError(name, f"must be a whole number, not {text!r}")
    return int(digits)


@dataclass(frozen=True)
class AddTaskForm:
    """The add-task form's fields as typed, to show them again after an error."""

    payload: str = ""
    encoding: str = "text"
    tag: str = ""
    countdown: str = ""
    name: str = ""
    errors: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def read(form: MultiMap) -> AddTaskForm:
        """The fields of a submitted form (missing ones empty)."""
        return AddTaskForm(
            payload=form.get("payload") or "",
            encoding=form.get("encoding") or "text",
            tag=form.get("tag") or "",
            countdown=form.get("countdown") or "",
            name=(form.get("name") or "").strip(),
        )

    def request(self) -> AddRequest:
        """The pull task this form asks for.

        Raises:
            FormError: the encoding is unknown, the payload does not decode, or the
                countdown is not a number of seconds >= 0.
        """
        return AddRequest(
            payload=self._payload(),
            name=self.name or None,
            tag=self.tag or None,
            countdown_seconds=self._countdown(),
            mode=QueueMode.PULL,
        )

    def _payload(self) -> bytes:
        if self.encoding == "text":
            # Browsers send a textarea's line breaks as CRLF: keep the LF that was typed.
            return self.payload.replace("\r\n", "\n").encode("utf-8")
        if self.encoding == "base64":
            try:
                return base64.b64decode("".join(self.payload.split()), validate=True)
            except (binascii.Error, ValueError):
                raise FormError("payload", "is not valid base64") from None
        if self.encoding == "hex":
            try:
                return bytes.fromhex(self.payload)
            except ValueError:
                raise FormError("payload", "is not valid hex (pairs of 0-9, a-f)") from None
        raise FormError("encoding", f"must be one of {', '.join(PAYLOAD_ENCODINGS)}")

    def _countdown(self) -> float | None:
        text = self.countdown.strip()
        if not text:
            return None
        try:
            seconds = float(text)
        except ValueError:
            raise FormError("countdown", f"must be a number of seconds, not {text!r}") from None
        if not math.isfinite(seconds) or seconds < 0:
            raise FormError("countdown", "must be a number of seconds, 0 or more")
        if seconds * USEC_PER_SECOND >= 2**63:
            raise FormError("countdown", "is too large")
        return seconds

    def with_error(self, error: FormError | tuple[str, str]) -> AddTaskForm:
        """This form with an error message attached to a field."""
        name, message = (error.field, error.message) if isinstance(error, FormError) else error
        return AddTaskForm(
            self.payload, self.encoding, self.tag, self.countdown, self.name, {name: message}
        )
