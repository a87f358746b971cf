"""Wiring: build the service from a queue.yaml path and a storage location, serve it.

Used by the CLI, by the shim's embedded backend and by the pytest plugin's live server.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import (
    BaseWSGIServer,
    WSGIRequestHandler,
    get_sockaddr,
    make_server,
    select_address_family,
)

from emulator.app import create_app
from emulator.clock import ControllableClock
from emulator.config_loader import ConfigWatcher
from emulator.core.local import LocalQueueService
from emulator.store.sqlite import SqliteTaskStore

_log = logging.getLogger("emulator")


@dataclass
class Runtime:
    """A ready-to-use service with the parts a caller may need to reach."""

    service: LocalQueueService
    clock: ControllableClock
    store: SqliteTaskStore

    def app(self, *, enable_test_control: bool = False) -> Flask:
        """The WSGI app over this runtime's service."""
        return create_app(self.service, clock=self.clock, enable_test_control=enable_test_control)

    def close(self) -> None:
        """Close the store."""
        self.store.close()


def build_runtime(
    queue_yaml: str | None, storage: str, *, clock: ControllableClock | None = None
) -> Runtime:
    """Load the config (raising ``ConfigError`` if it is bad) and open the store.

    Raises:
        emulator.config_loader.ConfigError: the queue.yaml cannot be used.
        emulator.store.sqlite.StoreError: the storage cannot be opened.
    """
    watcher = ConfigWatcher(queue_yaml, logger=_log)
    watcher.load_initial()
    store = SqliteTaskStore(storage)
    clock = clock or ControllableClock()
    return Runtime(LocalQueueService(store, clock, watcher.current), clock, store)


def make_wsgi_server(app: Flask, host: str, port: int) -> BaseWSGIServer:
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
        return make_server(
            host,
            port,
            app,
            threaded=True,
            request_handler=KeepAliveRequestHandler,
            fd=sock.fileno(),
        )
    finally:
        sock.close()  # the server holds its own duplicate of the descriptor


class KeepAliveRequestHandler(WSGIRequestHandler):
    """Speak HTTP/1.1 so clients (the shim, the SDK stub) can reuse one connection.

    werkzeug's default handler answers HTTP/1.0 and closes every connection; workers that
    lease and delete in a loop then pay a TCP handshake per call.
    """

    protocol_version = "HTTP/1.1"


class ServerThread:
    """A threaded werkzeug server for ``app`` running in a daemon thread.

    ``port=0`` picks a free port; ``address`` is then ``host:port``. Raises ``OSError`` if
    the port is taken.
    """

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: BaseWSGIServer = make_wsgi_server(app, host, port)
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
        """Start serving; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
