"""The console on a server with ``--auth-token``: a browser without the cookie is sent to the
login page, which checks the token once and keeps it in an HttpOnly cookie."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import TestResponse

from emulator.faces import auth
from emulator.faces.console.login import safe_next
from tests.console_support import ConsoleSite, flashes, make_site
from tests.core_support import PULL, pull

TOKEN = 'tok;en"with,odd\\chars'


@pytest.fixture
def locked() -> ConsoleSite:
    """The console of a server that requires :data:`TOKEN`."""
    return make_site(auth_token=TOKEN)


def _login(site: ConsoleSite, token: str, target: str = "/") -> TestResponse:
    form = site.page("/login", next=target)
    csrf_token = form.split('name="csrf_token" value="')[1].split('"')[0]
    return site.client.post(
        "/login", data={"token": token, "next": target, "csrf_token": csrf_token}
    )


def test_a_browser_without_the_cookie_is_sent_to_the_login_page(locked: ConsoleSite) -> None:
    answer = locked.get(f"/queues/{PULL}", state="ready")
    assert answer.status_code == 303
    location = urlsplit(answer.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": [f"/queues/{PULL}?state=ready"]}
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_the_login_page_and_its_stylesheet_need_no_token(locked: ConsoleSite) -> None:
    page = locked.page("/login")
    assert '<input type="password" name="token"' in page
    assert "console.js" not in page  # the script is not served before login
    assert locked.get("/console/static/console.css").status_code == 200
    assert locked.get("/console/static/console.js").status_code == 303


def test_logging_in_sets_an_httponly_strict_cookie_and_opens_the_console(
    locked: ConsoleSite,
) -> None:
    answer = _login(locked, TOKEN, f"/queues/{PULL}")
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/queues/{PULL}"
    [cookie] = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith(auth.COOKIE_NAME)]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert locked.get(f"/queues/{PULL}").status_code == 200  # the cookie reads back as the token
    assert "Log out" in locked.page("/")


def test_a_wrong_token_is_refused_and_sets_no_cookie(locked: ConsoleSite) -> None:
    answer = _login(locked, TOKEN + "x")
    assert answer.status_code == 403
    assert "That is not the emulator" in answer.get_data(as_text=True)
    assert locked.client.get_cookie(auth.COOKIE_NAME) is None
    assert locked.get("/").status_code == 303


def test_the_login_form_needs_its_csrf_token(locked: ConsoleSite) -> None:
    answer = locked.client.post("/login", data={"token": TOKEN})
    assert answer.status_code == 400
    assert locked.client.get_cookie(auth.COOKIE_NAME) is None


def test_the_login_page_never_sends_the_browser_to_another_site(locked: ConsoleSite) -> None:
    answer = _login(locked, TOKEN, "//evil.example/")
    assert answer.headers["Location"] == "/"


def test_logging_out_drops_the_cookie(locked: ConsoleSite) -> None:
    _login(locked, TOKEN)
    answer = locked.post("/logout")
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    assert locked.client.get_cookie(auth.COOKIE_NAME) is None
    assert locked.get("/").status_code == 303
    assert flashes(locked.page("/login")) == [("success", "Logged out.")]


def test_a_refused_post_is_sent_to_the_login_page_and_changes_nothing(
    locked: ConsoleSite,
) -> None:
    locked.world.add(pull(name="t"))
    answer = locked.client.post(f"/queues/{PULL}/purge", data={"csrf_token": "x"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"
    assert locked.world.service.stats([PULL])[0].tasks == 1


def test_the_bearer_header_opens_the_console_too(locked: ConsoleSite) -> None:
    answer = locked.client.get("/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200


def test_without_a_server_token_there_is_nothing_to_log_in_to(site: ConsoleSite) -> None:
    answer = site.get("/login", next=f"/queues/{PULL}")
    assert answer.status_code == 303 and answer.headers["Location"] == f"/queues/{PULL}"
    assert "Log out" not in site.page("/")


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/queues/q?state=ready", "/queues/q?state=ready"),
        ("/", "/"),
        ("", "/"),
        (None, "/"),
        ("//evil.example", "/"),
        ("///evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("queues/q", "/"),
        ("/queues/q\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_safe_next_keeps_only_paths_of_this_server(target: str | None, safe: str) -> None:
    assert safe_next(target) == safe
