"""Cross-site request forgery protection: a per-session token in every state-changing form.

The token is random, kept in the console's session (Flask's signed cookie: HttpOnly,
SameSite=Lax) and written into each form as the hidden field :data:`FIELD`. Every POST to
the console must send it back: without it the request is refused with 400, with a wrong one
with 403, before any view runs, so nothing changes. Another site can make a browser send a
POST, but cannot read the page that holds the token.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Final

from flask import request, session
from werkzeug.exceptions import BadRequest, Forbidden

#: The hidden form field (and session key) carrying the token.
FIELD: Final = "csrf_token"
#: Methods that change nothing and need no token.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_STALE = "reload the page and submit the form again (the emulator may have restarted)"


class MissingToken(BadRequest):
    """400: a POST without the form's token."""

    description = f"The form has no security token (CSRF): {_STALE}."


class WrongToken(Forbidden):
    """403: a POST whose token is not this session's."""

    description = f"The form's security token (CSRF) is out of date or wrong: {_STALE}."


def token() -> str:
    """This session's token, created on first use."""
    value = session.get(FIELD)
    if not isinstance(value, str) or not value:
        value = secrets.token_urlsafe(32)
        session[FIELD] = value
    return value


def protect() -> None:
    """Refuse the current request unless it is safe or carries this session's token.

    Raises:
        MissingToken: no token in the form.
        WrongToken: a token that is not the session's (or no session at all).
    """
    if request.method in SAFE_METHODS:
        return
    sent = request.form.get(FIELD)
    if not sent:
        raise MissingToken()
    expected = session.get(FIELD)
    if not isinstance(expected, str) or not hmac.compare_digest(
        expected.encode("utf-8"), sent.encode("utf-8")
    ):
        raise WrongToken()
