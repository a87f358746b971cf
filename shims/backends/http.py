"""A small JSON-over-HTTP client with keep-alive connections, one per thread.

Contract:

* thread-safe: each thread reuses its own ``http.client`` connection;
* a connection the server has closed is noticed before it is reused and replaced;
* a request that fails on a reused connection is retried once on a fresh one, but only when
  the caller says the request is idempotent (otherwise the caller gets a transient error,
  because the server may or may not have acted on it);
* ``deadline`` is the socket timeout; running out of it raises
  :class:`shims.apiproxy_errors.DeadlineExceededError`;
* a server that cannot be reached or drops the connection raises
  ``TaskQueueError(TRANSIENT_ERROR)`` (the shim raises ``taskqueue.TransientError``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import threading
from typing import Any
from urllib.parse import urlsplit

from emulator.domain.errors import ErrorCode, TaskQueueError
from shims import apiproxy_errors

JsonValue = Any
#: The port ``taskqueue-emulator`` listens on by default.
DEFAULT_EMULATOR_PORT = 8089


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
    return parts.hostname, port or DEFAULT_EMULATOR_PORT


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


class JsonHttpClient:
    """JSON requests to one server (see the module docstring)."""

    def __init__(self, address: str) -> None:
        self._host, self._port = split_host(address)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[http.client.HTTPConnection] = set()

    @property
    def base_url(self) -> str:
        """``http://host:port``."""
        host = f"[{self._host}]" if ":" in self._host else self._host  # IPv6 literal
        return f"http://{host}:{self._port}"

    def request(
        self,
        method: str,
        path: str,
        body: JsonValue = None,
        *,
        deadline: float,
        idempotent: bool,
        call_name: str,
    ) -> tuple[int, JsonValue]:
        """Send one request and return ``(status, decoded JSON body)``.

        ``call_name`` names the operation in error messages (e.g. ``QueryAndOwnTasks``).
        """
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            connection, reused = self._connection(deadline)
            try:
                connection.request(method, path, body=payload, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except TimeoutError:
                self._discard(connection)
                raise apiproxy_errors.DeadlineExceededError(
                    f"The API call taskqueue.{call_name}() took too long to respond and was "
                    f"cancelled (deadline {deadline:g}s, emulator at {self.base_url})."
                ) from None
            except (OSError, http.client.HTTPException) as exc:
                self._discard(connection)
                if reused and idempotent and attempt == 1:
                    continue
                raise self._transient(call_name, exc, reused) from None
            if response.will_close:
                self._discard(connection)
            return response.status, _decode(response.status, data, self.base_url)
        raise AssertionError("unreachable")  # pragma: no cover

    def _transient(self, call_name: str, exc: BaseException, reused: bool) -> TaskQueueError:
        if reused:
            message = (
                f"the connection to the task queue emulator at {self.base_url} was lost during "
                f"taskqueue.{call_name}() ({exc!r}); the call may or may not have taken effect"
            )
        else:
            message = f"cannot reach the task queue emulator at {self.base_url}: {exc}"
        return TaskQueueError(ErrorCode.TRANSIENT_ERROR, message)

    def _connection(self, deadline: float) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection (``reused`` True if it has served requests before)."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None and _is_dropped(connection):
            self._discard(connection)
            connection = None
        reused = connection is not None
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=deadline)
            self._local.connection = connection
            with self._lock:
                self._open.add(connection)
        connection.timeout = deadline
        if connection.sock is not None:
            connection.sock.settimeout(deadline)
        return connection, reused

    def _discard(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        if getattr(self._local, "connection", None) is connection:
            self._local.connection = None
        with self._lock:
            self._open.discard(connection)

    def close(self) -> None:
        """Close every connection of every thread (a later request opens a new one)."""
        with self._lock:
            connections, self._open = self._open, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.close()


def _decode(status: int, data: bytes, base_url: str) -> JsonValue:
    try:
        return json.loads(data) if data.strip() else {}
    except (ValueError, UnicodeDecodeError):
        code = ErrorCode.TRANSIENT_ERROR if status >= 500 else ErrorCode.INTERNAL_ERROR
        snippet = data[:200].decode("utf8", "replace")
        raise TaskQueueError(
            code, f"{base_url} answered HTTP {status} with a body that is not JSON: {snippet!r}"
        ) from None
