"""Logging in to a console whose server requires a token (``--auth-token``).

:mod:`emulator.faces.auth` checks every console request for the token (header or cookie).
Here: the refusal a browser gets instead of a JSON 401 (a redirect to the login page), the
login page itself (one password field, CSRF-protected, reachable without the token), which
checks the token in constant time and keeps it in the HttpOnly, SameSite=Strict cookie
:data:`emulator.faces.auth.COOKIE_NAME`, and logging out (which drops the cookie).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from emulator.faces import auth
from emulator.faces.console.paths import BLUEPRINT, LOGIN_PATH


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this server (``/queues/q?state=ready``), else
    ``default``: never another site (``//evil``, ``https://evil``, ``/\\evil``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ch < " " for ch in target):
        return default
    return target


def login_redirect() -> Response:
    """The refusal of a console request without the token: 303 to the login page, which
    comes back here afterwards (for a GET; after a refused POST, to the queues page)."""
    target = request.full_path.rstrip("?") if request.method in ("GET", "HEAD") else None
    return redirect(url_for(f"{BLUEPRINT}.login", next=target), 303)


def logged_in(token: str | None) -> bool:
    """Whether this request is authenticated by the console's cookie (for the logout
    button); False when the server has no token."""
    return token is not None and auth.matches(token, request.cookies.get(auth.COOKIE_NAME))


def register_login(console: Blueprint, token: str | None) -> None:
    """Add ``/login`` (GET, POST) and ``/logout`` (POST) to the console blueprint."""

    @console.route(LOGIN_PATH, methods=["GET", "POST"])
    def login() -> Response | str | tuple[str, int]:
        target = safe_next(request.values.get("next"))
        if token is None:
            return redirect(target, 303)  # nothing to log in to
        if request.method == "GET":
            return render_template("console/login.html", next=target, error=None)
        if not auth.matches(token, request.form.get("token")):
            error = "That is not the emulator's token (--auth-token)."
            return render_template("console/login.html", next=target, error=error), 403
        response = redirect(target, 303)
        response.set_cookie(auth.COOKIE_NAME, token, httponly=True, samesite="Strict", path="/")
        return response

    @console.post("/logout")
    def logout() -> Response:
        response = redirect(url_for(f"{BLUEPRINT}.login"), 303)
        response.delete_cookie(auth.COOKIE_NAME, path="/", httponly=True, samesite="Strict")
        flash("Logged out.", "success")
        return response
