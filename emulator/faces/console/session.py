"""The console's session (Flask's signed cookie), opened only for the console's own paths.

Flask opens the session on every request once the app has a secret key (the console sets
one for its CSRF token): itsdangerous builds a signing serializer and reads the cookie,
~11 % of a single ``/v1`` add's own work (docs/PERFORMANCE.md). The API faces never use
the session, so their requests get Flask's null session instead (reading it is empty,
writing it raises, as without a secret key).
"""

from __future__ import annotations

from typing import Final

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from emulator.faces.rpc_http import RPC_PATH

#: Path prefixes of the faces that never use the session (everything else may be the
#: console's: ``/``, ``/queues/...``, ``/login``, its static files, its error pages).
API_PREFIXES: Final = (
    "/v1/",
    RPC_PATH,
    "/_emulator/",
    "/healthz",
    "/openapi.json",
    "/v2beta2/",
    "/v2beta3/",
    "/v2/",
    "/projects/",
)


class ConsoleOnlySessions(SecureCookieSessionInterface):
    """Flask's cookie sessions for the console; the null session for the API faces."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(API_PREFIXES):
            return None  # Flask then uses make_null_session()
        return super().open_session(app, request)
