"""The HTTP server: werkzeug's threaded WSGI server with keep-alive and a prompt, draining stop.

The only module that knows the WSGI server (a test checks that nothing else imports
``werkzeug.serving``). Used by the CLI (:func:`make_wsgi_server`) and by tests and the pytest
plugin (:class:`ServerThread`, a server on a free port in a daemon thread).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import Any

from flask import Flask
from werkzeug.serving import (
    BaseWSGIServer,
    ThreadedWSGIServer,
    WSGIRequestHandler,
    get_sockaddr,
    select_address_family,
)

from emulator import background

#: How often the accept loop checks whether it should stop (seconds).
POLL_INTERVAL_SECONDS = 0.05
#: How long a stopping server waits for requests in progress to finish (seconds).
DRAIN_TIMEOUT_SECONDS = 10.0


def make_wsgi_server(app: Flask, host: str, port: int) -> EmulatorWSGIServer:
    """A threaded werkzeug server for ``app`` listening on ``host:port`` (0: any free port).

    Raises:
        OSError: the address cannot be bound (port in use, unknown host, ...). werkzeug's own
            ``make_server`` would print to stderr and call ``sys.exit(1)`` instead, so the
            socket is bound here and handed over as a file descriptor.
    """
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family != getattr(socket, "AF_UNIX", None):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(BaseWSGIServer.request_queue_size)
        return EmulatorWSGIServer(host, port, app, KeepAliveRequestHandler, fd=sock.fileno())
    finally:
        sock.close()  # the server holds its own duplicate of the descriptor


class EmulatorWSGIServer(ThreadedWSGIServer):
    """werkzeug's threaded server, stopping promptly without dropping requests in progress.

    ``serve_forever`` notices :meth:`shutdown` within :data:`POLL_INTERVAL_SECONDS`. Then
    :meth:`drain` lets every request that has begun (its request line has arrived) finish
    and closes idle keep-alive connections at once, so a stop takes milliseconds when
    nothing is in flight and as long as the slowest request otherwise.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._connections = threading.Condition(self._lock)
        self._idle: set[KeepAliveRequestHandler] = set()
        self._busy: set[KeepAliveRequestHandler] = set()
        self.draining = False

    def serve_forever(self, poll_interval: float = POLL_INTERVAL_SECONDS) -> None:
        super().serve_forever(poll_interval)

    def connection_state(self, handler: KeepAliveRequestHandler, state: str | None) -> None:
        """Record that ``handler``'s connection is ``"idle"`` (awaiting a request),
        ``"busy"`` (serving one) or gone (None). Waiters (:meth:`drain`) are woken only while
        draining: this runs twice per request, and waking costs more than recording."""
        with self._lock:
            self._idle.discard(handler)
            self._busy.discard(handler)
            if state == "idle":
                self._idle.add(handler)
            elif state == "busy":
                self._busy.add(handler)
            if self.draining:
                self._connections.notify_all()

    def drain(self, timeout: float = DRAIN_TIMEOUT_SECONDS) -> None:
        """Refuse further requests on open connections, wait up to ``timeout`` for those in
        progress, then close the idle connections (their handlers end at once)."""
        with self._connections:
            self.draining = True  # under the lock: a state recorded after this wakes us
            self._connections.wait_for(lambda: not self._busy, timeout)
            idle = list(self._idle)
        for handler in idle:
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)


#: A request body the view left unread is read and dropped up to this size so the connection
#: can serve the next request; a larger one (e.g. refused with a 413) closes the connection.
MAX_UNREAD_BODY_BYTES = 2**20
#: An idle keep-alive connection is closed after this long without a request (seconds).
IDLE_TIMEOUT_SECONDS = 120


class _RequestStartReader:
    """The handler's input stream, telling the server when a request's first line arrives.

    Once a response has kept its connection open, reads other than ``readline`` return
    ``b""`` until the next request begins: werkzeug drains the socket after each response
    (it assumes it closed the connection), and that drain must not eat the next request.
    """

    def __init__(self, stream: Any, handler: KeepAliveRequestHandler) -> None:
        self._stream = stream
        self._handler = handler

    def readline(self, size: int = -1) -> bytes:
        line: bytes = self._stream.readline(size)
        if line and self._handler.awaiting_request:
            self._handler.awaiting_request = False
            self._handler.server.connection_state(self._handler, "busy")
        return line

    def read(self, size: int = -1) -> bytes:
        if self._handler.kept_alive:
            return b""
        data: bytes = self._stream.read(size)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _CountingBody:
    """A request's ``wsgi.input``: the connection's stream, counting what the app reads of the
    ``length`` bytes of the body, so the handler knows whether the next request starts where
    the stream stands."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self.unread = length

    def _took(self, data: bytes) -> bytes:
        self.unread -= len(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._took(self._stream.read(size))

    def read1(self, size: int = -1) -> bytes:
        return self._took(self._stream.read1(size))

    def readline(self, size: int | None = -1) -> bytes:
        return self._took(self._stream.readline(size))

    def readinto(self, buffer: Any) -> int:
        count: int = self._stream.readinto(buffer)
        self.unread -= count
        return count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _OneWriteResponse:
    """The handler's output stream: a response's head waits for its first body bytes, so
    head and body leave in one ``send()``. http.server flushes the head on its own and
    werkzeug writes the body after it: two segments, so the client wakes twice per answer.
    ``flush`` sends a head still waiting (a response without a body)."""

    def __init__(self, stream: Any, handler: KeepAliveRequestHandler) -> None:
        self._stream = stream
        self._handler = handler

    def write(self, data: bytes) -> int:
        head = self._handler.take_head()
        written: int = self._stream.write(head + data if head else data)
        return written - len(head)

    def flush(self) -> None:
        head = self._handler.take_head()
        if head:
            self._stream.write(head)
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class KeepAliveRequestHandler(WSGIRequestHandler):
    """Speak HTTP/1.1 with keep-alive so clients (the shim, the SDK stub) reuse one connection.

    werkzeug 3.1's handler sends ``Connection: close`` on every response (it cannot tell
    where the next request starts), so each call of a worker would pay a TCP connect and a
    new server thread: the per-call cost doubles (docs/PERFORMANCE.md). This handler counts
    the body bytes the app reads (:class:`_CountingBody`); when the response starts it reads
    and drops what the app left unread (up to :data:`MAX_UNREAD_BODY_BYTES`) and leaves
    ``Connection: close`` out, unless the client asked to close, the body is chunked or too
    large. ``disable_nagle_algorithm`` sets TCP_NODELAY: werkzeug writes headers and body
    in two ``send()`` calls, and with Nagle on, the second waits for the client's delayed
    ACK (~40 ms per response); and the head waits for the body (:class:`_OneWriteResponse`)
    so both leave in one ``send()``. Idle connections close after :data:`IDLE_TIMEOUT_SECONDS`.
    The handler tells its :class:`EmulatorWSGIServer` whether it is idle or serving, so a
    stop can drain it.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT_SECONDS
    server: EmulatorWSGIServer
    awaiting_request = True
    kept_alive = False
    _body: _CountingBody | None = None
    _headers_buffer: list[bytes]  # http.server's, set by send_response

    def setup(self) -> None:
        super().setup()
        self.rfile = _RequestStartReader(self.rfile, self)  # type: ignore[assignment]
        self.wfile = _OneWriteResponse(self.wfile, self)  # type: ignore[assignment]
        self.server.connection_state(self, "idle")

    def flush_headers(self) -> None:
        """Leave the head http.server has buffered for :meth:`take_head` (its
        ``end_headers`` calls this; an HTTP/0.9 answer, which has no head, buffers none)."""

    def take_head(self) -> bytes:
        """The head of the response not sent yet (``b""`` if none), now the caller's to send."""
        pending = getattr(self, "_headers_buffer", [])
        if not pending:
            return b""
        self._headers_buffer = []
        return b"".join(pending)

    def handle_expect_100(self) -> bool:
        """``100 Continue`` goes out at once: the client waits for it before the body."""
        accepted = super().handle_expect_100()
        self.wfile.flush()
        return accepted

    def handle_one_request(self) -> None:
        if self.server.draining:
            self.close_connection = True
            return
        self.awaiting_request = True
        self.kept_alive = False
        self._body = None
        try:  # idle since setup() or the end of the previous request
            super().handle_one_request()
            self.wfile.flush()  # a head left waiting (an error answered before any body)
        finally:
            self.server.connection_state(self, "idle")
        if self.server.draining:
            self.close_connection = True

    def make_environ(self) -> Any:
        """werkzeug's environ, with a counted ``wsgi.input`` unless the body is chunked."""
        environ = super().make_environ()
        if "wsgi.input_terminated" not in environ:  # not chunked: Content-Length or none
            try:
                length = max(int(environ.get("CONTENT_LENGTH") or 0), 0)
            except ValueError:
                length = 0
            self._body = _CountingBody(environ["wsgi.input"], length)
            environ["wsgi.input"] = self._body
        return environ

    def send_header(self, keyword: str, value: str) -> None:
        """werkzeug's ``Connection: close`` is dropped when the connection can be reused."""
        if keyword.lower() == "connection" and value.lower() == "close" and self._can_keep():
            self.kept_alive = True
            return
        super().send_header(keyword, value)

    def _can_keep(self) -> bool:
        """True if the next request will start where the stream stands once the unread rest
        of this request's body (at most :data:`MAX_UNREAD_BODY_BYTES`) is dropped."""
        body = self._body
        if self.close_connection or self.server.draining or body is None:
            return False
        if body.unread > MAX_UNREAD_BODY_BYTES:
            return False
        while body.unread > 0:
            if not body.read(body.unread):
                return False  # the client went away mid-body
        return True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """werkzeug's access log line, built only when the ``werkzeug`` logger would write it
        (the CLI keeps it at WARNING unless ``--log-level DEBUG``): werkzeug decodes the
        path and formats the date for every request before the logger drops the line."""
        if logging.getLogger("werkzeug").isEnabledFor(logging.INFO):
            super().log_request(code, size)

    def log_error(self, format: str, *args: Any) -> None:
        """werkzeug's error log, without the line for an idle connection timing out."""
        if not format.startswith("Request timed out"):
            super().log_error(format, *args)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connection_state(self, None)


class ServerThread:
    """A threaded werkzeug server for ``app`` running in a daemon thread.

    ``port=0`` picks a free port; ``address`` is then ``host:port``. Raises ``OSError`` if
    the port is taken.
    """

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = make_wsgi_server(app, host, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="taskqueue-emulator", daemon=True
        )

    @property
    def host(self) -> str:
        return str(self._server.host)

    @property
    def port(self) -> int:
        return int(self._server.port)

    @property
    def address(self) -> str:
        """``host:port``, the value for ``TASKQUEUE_EMULATOR_HOST``."""
        return f"{self.host}:{self.port}"

    def start(self) -> ServerThread:
        """Start serving, and the app's background work; returns self."""
        self._thread.start()
        background.start(self._server.app)
        return self

    def stop(self) -> None:
        """Stop serving (requests in progress finish) and wait for the thread to end; then
        stop the app's background work."""
        self._server.shutdown()
        self._server.drain()
        self._server.server_close()
        self._thread.join(timeout=10)
        background.stop(self._server.app)
