"""The web console's safety: CSRF tokens on every state-changing form, escaping of
attacker-controlled payloads and tags, and the security headers of every response."""

from __future__ import annotations

import re

import pytest
from flask import request, session

from emulator.app import runtime_app
from emulator.domain.model import PeekFilter
from emulator.faces.console import csrf
from emulator.faces.console.headers import CONTENT_SECURITY_POLICY
from emulator.wiring import build_runtime
from tests.console_support import ConsoleSite, make_site, table_rows
from tests.core_support import PULL, pull

XSS_PAYLOAD = "<script>alert(1)</script>"
XSS_TAG = '"><img src=x onerror=alert(1)>'

#: Every POST route of the console, with a form that would change something.
POST_ROUTES = [
    (f"/queues/{PULL}/tasks", {"payload": "x", "name": "new"}),
    (f"/queues/{PULL}/tasks/t/delete", {}),
    (f"/queues/{PULL}/tasks/t/release", {"eta_usec": "LEASE"}),
    (f"/queues/{PULL}/purge", {}),
    (f"/queues/{PULL}/pause", {}),
    (f"/queues/{PULL}/resume", {}),
    ("/logout", {}),
]


def _state(site: ConsoleSite) -> tuple[object, ...]:
    stats = site.world.service.stats([PULL])[0]
    tasks = site.world.service.peek(PULL, PeekFilter()).tasks
    return stats.tasks, stats.paused, tuple(tasks)


def _leased(site: ConsoleSite) -> int:
    site.world.add(pull(name="t"))
    [leased] = site.world.service.lease(PULL, 60, 1)
    return leased.eta_usec


@pytest.mark.parametrize(("path", "form"), POST_ROUTES, ids=[p for p, _ in POST_ROUTES])
@pytest.mark.parametrize(
    ("token", "status"),
    [(None, 400), ("", 400), ("forged-token", 403), ("other-session", 403)],
)
def test_a_post_without_this_sessions_token_is_refused_and_changes_nothing(
    site: ConsoleSite, path: str, form: dict[str, str], token: str | None, status: int
) -> None:
    # Given a leased task, a paused queue (so that both pause and resume would change it)
    lease = _leased(site)
    if path.endswith("/resume"):
        site.world.service.pause(PULL)
    site.token()  # this session has a token
    before = _state(site)
    if token == "other-session":
        token = make_site(site.world).token()  # valid, but another browser's
    data = {k: str(lease) if v == "LEASE" else v for k, v in form.items()}
    # When the form is posted without the session's token
    answer = site.post(path, data, token=token)
    # Then it is refused, in words, and nothing changed
    assert answer.status_code == status
    assert "security token (CSRF)" in answer.get_data(as_text=True)
    assert _state(site) == before


def test_the_same_posts_with_the_token_do_change_things(site: ConsoleSite) -> None:
    """The refusals above are about the token: with it, each form works."""
    lease = _leased(site)
    site.act(f"/queues/{PULL}/tasks/t/release", {"eta_usec": str(lease)})
    site.act(f"/queues/{PULL}/tasks", {"payload": "x", "name": "new"})
    site.act(f"/queues/{PULL}/pause")
    assert _state(site)[:2] == (2, True)
    site.act(f"/queues/{PULL}/resume")
    site.act(f"/queues/{PULL}/tasks/t/delete")
    site.act(f"/queues/{PULL}/purge")
    assert _state(site) == (0, False, ())


def test_every_form_carries_the_token(site: ConsoleSite) -> None:
    _leased(site)
    token = site.token()
    for path in ["/", f"/queues/{PULL}", f"/queues/{PULL}/tasks/t", f"/queues/{PULL}/purge"]:
        page = site.page(path)
        posts = re.findall(r'<form method="post".*?</form>', page, re.S)
        assert posts, path
        for form in posts:
            assert f'name="{csrf.FIELD}" value="{token}"' in form, (path, form)


def test_the_session_cookie_is_httponly_and_samesite(site: ConsoleSite) -> None:
    answer = site.get("/")
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("taskqueue_emulator_console=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# -- escaping -------------------------------------------------------------------------------------


def test_a_script_payload_and_tag_are_shown_as_text_everywhere(site: ConsoleSite) -> None:
    # Given a task whose payload and tag are markup, and one named by the attacker too
    site.world.add(pull(XSS_PAYLOAD.encode(), name="xss", tag=XSS_TAG))
    pages = {
        "queue": site.page(f"/queues/{PULL}"),
        "task": site.page(f"/queues/{PULL}/tasks/xss"),
        "filtered": site.page(f"/queues/{PULL}", tag=XSS_TAG),
    }
    # Then no page contains the markup, and each shows it as (escaped) text
    for name, page in pages.items():
        assert "<script>alert" not in page, name
        assert "<img src=x" not in page, name
        assert "&lt;img src=x onerror=alert(1)&gt;" in page, name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["task"]
    assert table_rows(pages["queue"], "data-task")["xss"][1] == XSS_TAG
    assert table_rows(pages["queue"], "data-task")["xss"][6] == XSS_PAYLOAD


def test_a_payload_that_is_not_text_is_shown_as_hex(site: ConsoleSite) -> None:
    site.world.add(pull(b"<b>\x00</b>", name="nul"), pull("caf\u00e9\n".encode(), name="utf8"))
    rows = table_rows(site.page(f"/queues/{PULL}"), "data-task")
    assert rows["nul"][6] == "3c 62 3e 00 3c 2f 62 3e"
    assert rows["utf8"][6] == "café"


def test_an_error_message_quoting_input_is_escaped(site: ConsoleSite) -> None:
    page = site.get(f"/queues/{PULL}", state="<svg onload=alert(1)>").get_data(as_text=True)
    assert "<svg onload" not in page and "&lt;svg onload=alert(1)&gt;" in page


# -- headers --------------------------------------------------------------------------------------

CONSOLE_RESPONSES = [
    ("GET", "/"),
    ("GET", f"/queues/{PULL}"),
    ("GET", f"/queues/{PULL}/tasks/t"),
    ("GET", f"/queues/{PULL}/tasks/t/payload"),
    ("GET", f"/queues/{PULL}/purge"),
    ("GET", "/queues/nope"),
    ("GET", "/console/static/console.css"),
    ("GET", "/console/static/console.js"),
    ("GET", "/login"),
    ("POST", f"/queues/{PULL}/pause"),
]


@pytest.mark.parametrize(("method", "path"), CONSOLE_RESPONSES)
def test_every_console_response_sends_the_security_headers(
    site: ConsoleSite, method: str, path: str
) -> None:
    site.world.add(pull(name="t"))
    answer = site.client.open(path, method=method)
    assert answer.status_code in (200, 303, 400, 404)
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "no-referrer"


def test_the_policy_forbids_inline_script_and_framing() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert directives["frame-ancestors"] == "'none'"


def test_pages_have_no_inline_script_or_style(site: ConsoleSite) -> None:
    site.world.add(pull(name="t"))
    for path in ["/", f"/queues/{PULL}", f"/queues/{PULL}/tasks/t", "/queues/nope"]:
        page = site.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\ssrc=)", page), path
        assert " style=" not in page and "<style" not in page, path
        assert not re.search(r"\son[a-z]+=", page), path


def test_the_json_api_keeps_its_own_headers(site: ConsoleSite) -> None:
    answer = site.get("/v1/queues")
    assert answer.status_code == 200 and "Content-Security-Policy" not in answer.headers


def test_the_api_faces_never_open_the_consoles_session() -> None:
    """Opening Flask's signed session cost every API request ~11 % of its own work."""
    app = runtime_app(build_runtime(None, ":memory:"))
    opened: list[str] = []

    @app.before_request
    def _record() -> None:
        if not app.session_interface.is_null_session(session):
            opened.append(request.path)

    client = app.test_client()
    for path in ("/healthz", "/v1/queues", "/openapi.json", "/v2/projects/p/locations/l/queues"):
        client.get(path)
    assert opened == []
    assert client.get("/").status_code == 200
    assert opened == ["/"]
