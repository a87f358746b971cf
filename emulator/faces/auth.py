"""The server's own bearer token (``--auth-token``): who may call, checked once per request.

When the emulator is started with a token, every route except ``/healthz`` requires it:

* HTTP faces (JSON ``/v1``, test control ``/_emulator``, Cloud Tasks REST): the header
  ``Authorization: Bearer TOKEN``; otherwise 401 with a JSON error body and
  ``WWW-Authenticate: Bearer``.
* ``/rpc_http`` (Google's SDK, Go): the header, or the token as the remote_api security ticket
  (``request_id``), which is what clients that cannot add headers control; otherwise the
  call fails with ``application_error`` PERMISSION_DENIED (the SDK raises
  ``PermissionDeniedError``). That face checks it itself, once its envelope is parsed.
* The web console: also the HttpOnly cookie :data:`COOKIE_NAME` its login page sets (never
  accepted on the other faces, so a cross-site form cannot use it).

Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Mapping
from typing import Final

from flask import Flask, Response, request

from emulator.domain.errors import ErrorCode
from emulator.faces.json.errors import error_response
from emulator.faces.rpc_http import RPC_PATH

#: The cookie the console's login page sets (HttpOnly, SameSite=Strict).
COOKIE_NAME: Final = "taskqueue_emulator_token"
#: Blueprints whose views accept the cookie as well as the header.
COOKIE_BLUEPRINTS: Final = frozenset({"console"})
#: Routes that never need the token.
OPEN_PATHS: Final = frozenset({"/healthz"})
#: Routes that check the token themselves (the token may travel inside the body).
SELF_CHECKING_PATHS: Final = frozenset({RPC_PATH})


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header value, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def matches(expected: str, given: str | None) -> bool:
    """``given == expected``, compared in constant time (False for None)."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def header_or_cookie_ok(
    expected: str, authorization: str | None, cookies: Mapping[str, str], allow_cookie: bool
) -> bool:
    """Whether a request carries ``expected`` in its Authorization header value (or, when
    ``allow_cookie``, in the console's cookie)."""
    if matches(expected, bearer(authorization)):
        return True
    return allow_cookie and matches(expected, cookies.get(COOKIE_NAME))


def require_token(
    app: Flask,
    token: str,
    *,
    open_paths: Collection[str] = OPEN_PATHS,
    self_checking: Collection[str] = SELF_CHECKING_PATHS,
) -> None:
    """Refuse every request to ``app`` without ``token`` (see the module docstring)."""

    @app.before_request
    def _check() -> Response | None:
        if request.path in open_paths or request.path in self_checking:
            return None
        allow_cookie = request.blueprint in COOKIE_BLUEPRINTS
        authorization = request.headers.get("Authorization")
        if header_or_cookie_ok(token, authorization, request.cookies, allow_cookie):
            return None
        response = error_response(
            ErrorCode.PERMISSION_DENIED,
            "this emulator requires a token: send 'Authorization: Bearer <token>' "
            "(the shim and the SDK stub send TASKQUEUE_EMULATOR_AUTH_TOKEN)",
            401,
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="taskqueue-emulator"'
        return response


#: (Authorization header, security ticket) → may this ``/rpc_http`` call go ahead?
RpcCheck = Callable[[str | None, str], bool]


def rpc_check(token: str | None) -> RpcCheck | None:
    """For ``/rpc_http``: a check of (Authorization header, security ticket), or None when
    the server has no token."""
    if token is None:
        return None
    expected = token

    def check(authorization: str | None, ticket: str) -> bool:
        return matches(expected, bearer(authorization)) or matches(expected, ticket)

    return check
