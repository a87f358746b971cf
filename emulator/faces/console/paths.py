"""The console's fixed names and paths, shared with :mod:`emulator.faces.auth` (no imports)."""

from __future__ import annotations

from typing import Final

#: The blueprint's name: :data:`emulator.faces.auth.COOKIE_BLUEPRINTS` lets its views accept
#: the login cookie.
BLUEPRINT: Final = "console"
#: Where the console serves its stylesheet and script.
STATIC_URL_PATH: Final = "/console/static"
#: The login page (one token field) and the stylesheet it uses: reachable without the token.
LOGIN_PATH: Final = "/login"
STYLESHEET_PATH: Final = f"{STATIC_URL_PATH}/console.css"
OPEN_PATHS: Final = frozenset({LOGIN_PATH, STYLESHEET_PATH})
