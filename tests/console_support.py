"""Shared builders for the web console's tests: the app over the core on a fake clock, a
Flask test client that reads CSRF tokens and flash messages from the pages it gets."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from emulator.app import create_app
from emulator.faces.console import csrf
from tests.core_support import World, make_world

_TOKEN_RE = re.compile(rf'name="{csrf.FIELD}" value="([^"]+)"')
_FLASH_RE = re.compile(r'<li class="flash (success|error)"[^>]*>(.*?)</li>', re.S)
_ERROR_RE = re.compile(r'id="error-message">(.*?)</p>', re.S)


@dataclass
class ConsoleSite:
    """The console of one world, seen through a test client (one browser session)."""

    world: World
    app: Flask
    client: FlaskClient

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.client.get(path, query_string=query or None)

    def page(self, path: str, **query: Any) -> str:
        """The HTML of a page that must answer 200."""
        answer = self.get(path, **query)
        assert answer.status_code == 200, (answer.status_code, answer.get_data(as_text=True))
        return answer.get_data(as_text=True)

    def token(self) -> str:
        """This session's CSRF token, as the queues page writes it into its forms."""
        found = _TOKEN_RE.search(self.page("/"))
        assert found, "no CSRF token on the queues page"
        return found.group(1)

    def post(
        self, path: str, data: dict[str, str] | None = None, *, token: str | None = "page"
    ) -> TestResponse:
        """POST a form: with this session's token (``"page"``), none (None) or ``token``."""
        form = dict(data or {})
        if token == "page":
            form[csrf.FIELD] = self.token()
        elif token is not None:
            form[csrf.FIELD] = token
        return self.client.post(path, data=form)

    def act(self, path: str, data: dict[str, str] | None = None) -> list[tuple[str, str]]:
        """POST a form that must redirect (303), follow it and return its flash messages."""
        answer = self.post(path, data)
        assert answer.status_code == 303, (answer.status_code, answer.get_data(as_text=True))
        return flashes(self.page(answer.headers["Location"]))


def flashes(page: str) -> list[tuple[str, str]]:
    """(category, text) of each flash message on a page."""
    return [(kind, html.unescape(text)) for kind, text in _FLASH_RE.findall(page)]


def error_message(page: str) -> str:
    """The message of an error page."""
    found = _ERROR_RE.search(page)
    assert found, page
    return html.unescape(found.group(1))


def make_site(world: World | None = None, *, auth_token: str | None = None) -> ConsoleSite:
    """The console over ``world`` (a fresh core on a fake clock by default)."""
    world = world or make_world()
    app = create_app(world.service, auth_token=auth_token)
    return ConsoleSite(world, app, app.test_client())


class _RowReader(HTMLParser):
    """Collects the text of each cell of the rows carrying ``attribute``."""

    def __init__(self, attribute: str) -> None:
        super().__init__()
        self.attribute = attribute
        self.rows: dict[str, list[str]] = {}
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            key = dict(attrs).get(self.attribute)
            if key is not None:
                self._row = self.rows.setdefault(key, [])
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "svg":
            self._depth += 1
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "svg":
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._depth:  # an SVG's <title> is not cell text
            self._cell.append(data)


def table_rows(page: str, attribute: str) -> dict[str, list[str]]:
    """The text of each cell of the rows ``<tr {attribute}="key">``, by key, in order."""
    reader = _RowReader(attribute)
    reader.feed(page)
    return reader.rows
