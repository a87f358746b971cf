"""Chunked request bodies under the one size limit (``MAX_REQUEST_SIZE_BYTES``).

A body with a ``Content-Length`` over the limit is refused by each face before any of it is
read (Flask's ``MAX_CONTENT_LENGTH``: 413 with the face's error body; ``/rpc_http``: the
protocol's REQUEST_TOO_LARGE). A chunked body has no length to check, and werkzeug would
silently cut it at the limit; :class:`ChunkedBodyLimit` reads it first, never holding more
than ``limit + 1`` bytes, and hands the faces either the whole body with its length, or,
when it is over the limit, a length over the limit and no body, so that the faces refuse
it exactly as a declared one.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class ChunkedBodyLimit:
    """WSGI middleware: a chunked body of at most ``limit`` bytes becomes a plain one."""

    def __init__(self, app: WSGIApplication, limit: int) -> None:
        self._app = app
        self._limit = limit

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            body = _read_at_most(environ["wsgi.input"], self._limit + 1)
            del environ["wsgi.input_terminated"]
            environ.pop("HTTP_TRANSFER_ENCODING", None)  # else werkzeug ignores the length
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["wsgi.input"] = io.BytesIO(b"" if len(body) > self._limit else body)
        return self._app(environ, start_response)


def _read_at_most(stream: Any, size: int) -> bytes:
    """Up to ``size`` bytes of ``stream`` (fewer only at its end)."""
    parts: list[bytes] = []
    left = size
    while left > 0:
        part = stream.read(min(left, 1 << 20))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)
