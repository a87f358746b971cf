"""Background work an app owns (the console's depth sampler): started when a server starts
serving the app, stopped when it stops.

Apps used without a server (Flask's test client) run none of it. ``ServerThread`` and the
CLI call :func:`start` and :func:`stop`; both are idempotent.
"""

from __future__ import annotations

from typing import Final, Protocol

from flask import Flask

#: Where an app keeps its background work (``app.extensions``).
EXTENSION: Final = "emulator.background"


class BackgroundWork(Protocol):
    """Something that runs beside the server: ``start`` and ``stop`` may be called again."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def register(app: Flask, work: BackgroundWork) -> None:
    """Run ``work`` whenever ``app`` is served."""
    app.extensions.setdefault(EXTENSION, []).append(work)


def _works(app: object) -> list[BackgroundWork]:
    extensions = getattr(app, "extensions", None)
    return list(extensions.get(EXTENSION, ())) if isinstance(extensions, dict) else []


def start(app: object) -> None:
    """Start every piece of work registered on ``app`` (any WSGI app: only a Flask app can
    have some), in registration order."""
    for work in _works(app):
        work.start()


def stop(app: object) -> None:
    """Stop every piece of work registered on ``app``, in reverse order."""
    for work in reversed(_works(app)):
        work.stop()
