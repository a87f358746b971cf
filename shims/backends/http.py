"""The one HTTP client of the shim: keep-alive HTTP/1.1 connections to one emulator.

Both ways the client side reaches a server use it: the remote backend's JSON API
(:mod:`shims.backends.remote`) and the apiproxy stub that carries Google's SDK to
``/rpc_http`` (:mod:`shims.sdk.stub`). Contract:

* thread-safe: a connection serves one request at a time; idle connections are pooled (at
  most :data:`MAX_IDLE_CONNECTIONS`) and reused by whichever thread asks next;
* an idle connection the server has closed is noticed before it is reused (its socket is
  readable while idle) and replaced;
* a request that fails on a reused connection is sent once more on a new one, but only when
  the caller says it is idempotent: otherwise the server may or may not have acted on it,
  and the caller gets :class:`ConnectionFailed` with ``lost=True``;
* ``deadline`` is the socket timeout of every step; running out of it raises
  :class:`DeadlineExceeded`;
* a server that cannot be reached raises :class:`ConnectionFailed` (``lost=False``);
* when ``TASKQUEUE_EMULATOR_AUTH_TOKEN`` is set (read at each request), every request
  carries ``Authorization: Bearer <token>`` (the server's ``--auth-token``);
* when ``TASKQUEUE_EMULATOR_IDENTITY`` is set (an e-mail address), every request carries it
  in the header ``TASKQUEUE_EMULATOR_IDENTITY_HEADER`` names (default
  ``X-Goog-Authenticated-User-Email``), for the server's ``--identity-header`` and ``acl``.

Callers map the two failures to their own vocabulary (the remote backend to
``TaskQueueError(TRANSIENT_ERROR)`` and the shim's ``DeadlineExceededError``, the SDK stub to
the SDK's ``apiproxy_errors``); the original exception is the failure's ``__cause__``.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import select
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from emulator.domain.identity import DEFAULT_IDENTITY_HEADER
from emulator.settings import AUTH_TOKEN_ENV, DEFAULT_PORT, IDENTITY_ENV, IDENTITY_HEADER_ENV

#: Idle keep-alive connections kept per client.
MAX_IDLE_CONNECTIONS: Final = 8


class DeadlineExceeded(Exception):
    """No answer within the deadline."""


class ConnectionFailed(Exception):
    """The server could not be reached (``lost`` False) or the connection broke during the
    request (``lost`` True: the server may or may not have acted on it)."""

    def __init__(self, cause: BaseException, *, lost: bool) -> None:
        super().__init__(str(cause))
        self.lost = lost


@dataclass(frozen=True)
class Reply:
    """A complete HTTP response."""

    status: int
    body: bytes


def split_host(address: str) -> tuple[str, int]:
    """``host[:port]`` (optionally ``http://``-prefixed, IPv6 in brackets) → ``(host, port)``;
    the port defaults to the emulator's 8089. Used for ``TASKQUEUE_EMULATOR_HOST``.

    Raises:
        ValueError: no host, another scheme, a path, or a port that is not a number.
    """
    text = address.strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/") or port == -1:
        raise ValueError(f"expected host:port for the task queue emulator, got {address!r}")
    return parts.hostname, port or DEFAULT_PORT


def _is_dropped(connection: http.client.HTTPConnection) -> bool:
    """True if the peer closed ``connection`` (its socket is readable while idle)."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _with_token(headers: Mapping[str, str]) -> Mapping[str, str]:
    """``headers`` plus the server's token and the caller's identity from the environment,
    where they are set."""
    token = os.environ.get(AUTH_TOKEN_ENV, "").strip()
    if token and "Authorization" not in headers:
        headers = {**headers, "Authorization": f"Bearer {token}"}
    identity = os.environ.get(IDENTITY_ENV, "").strip()
    if identity:
        name = os.environ.get(IDENTITY_HEADER_ENV, "").strip() or DEFAULT_IDENTITY_HEADER
        headers = {**headers, name: identity}
    return headers


class _OneWriteConnection(http.client.HTTPConnection):
    """An ``HTTPConnection`` that sends a request's head and a ``bytes`` body in one
    ``send()``: http.client sends them in two, and the server wakes up for each."""

    def _send_output(self, message_body: Any = None, encode_chunked: bool = False) -> None:
        if not isinstance(message_body, bytes) or encode_chunked:
            super()._send_output(message_body, encode_chunked=encode_chunked)  # type: ignore[misc]
            return
        self._buffer.extend((b"", message_body))  # type: ignore[attr-defined]
        message = b"\r\n".join(self._buffer)  # type: ignore[attr-defined]
        del self._buffer[:]  # type: ignore[attr-defined]
        self.send(message)


class HttpClient:
    """Requests to the server at ``address`` (see the module docstring).

    Raises:
        ValueError: ``address`` cannot be parsed (:func:`split_host`).
    """

    def __init__(self, address: str) -> None:
        self.host, self.port = split_host(address)
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host  # IPv6 literal
        return f"http://{host}:{self.port}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None,
        headers: Mapping[str, str],
        *,
        deadline: float,
        idempotent: bool,
    ) -> Reply:
        """Send one request and read the whole response.

        Raises:
            DeadlineExceeded: no answer within ``deadline`` seconds (per socket operation).
            ConnectionFailed: the server cannot be reached or the connection broke.
        """
        headers = _with_token(headers)
        connection, reused = self._acquire(deadline)
        try:
            return self._exchange(connection, method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, TimeoutError):
                raise DeadlineExceeded(str(exc)) from exc
            if not (reused and idempotent):
                raise ConnectionFailed(exc, lost=reused) from exc
        try:  # once more, on a connection of its own
            return self._exchange(self._new(deadline), method, path, body, headers)
        except TimeoutError as exc:
            raise DeadlineExceeded(str(exc)) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise ConnectionFailed(exc, lost=False) from exc

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        method: str,
        path: str,
        body: bytes | None,
        headers: Mapping[str, str],
    ) -> Reply:
        try:
            connection.request(method, path, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read()
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self._release(connection)
        return Reply(response.status, data)

    def _new(self, deadline: float) -> http.client.HTTPConnection:
        return _OneWriteConnection(self.host, self.port, timeout=deadline)

    def _acquire(self, deadline: float) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection that is still open (``reused`` True), or a new one."""
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._new(deadline), False
            if not _is_dropped(connection):
                break
            connection.close()
        connection.timeout = deadline
        if connection.sock is not None:
            connection.sock.settimeout(deadline)
        return connection, True

    def _release(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close the idle connections (requests in flight finish normally; a later request
        opens a new connection)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(OSError):
                connection.close()
