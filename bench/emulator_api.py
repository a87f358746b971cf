"""Every entry point of ``emulator`` and ``shims`` the benchmark uses, in one place.

The rest of ``bench/`` imports only this module (and Google's SDK), so when the packages are
restructured this is the one file to update. Imports are done inside the functions: a worker
process measuring Google's stub never loads our shim, and a worker measuring the shim never
loads Google's ``taskqueue`` before ``shims.install()`` replaces it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

#: ``TASKQUEUE_EMULATOR_HOST``: where the shim (and the SDK stub) find a server.
ENV_HOST = "TASKQUEUE_EMULATOR_HOST"


def app_environment() -> None:
    """Set ``HTTP_HOST`` to testbed's value unless it is set already, so every target runs
    in the environment an App Engine request or a testbed test gives. Without it Google's
    SDK logs a warning for every ``Task`` it builds, leased ones included (over a third of
    the client's time in a lease of 1000), which the stub, under testbed, never pays."""
    from shims.testing import TESTBED_HTTP_HOST

    os.environ.setdefault("HTTP_HOST", TESTBED_HTTP_HOST)


def server_command(
    port: int, storage: str, queue_yaml: str, extra: Sequence[str] = ()
) -> list[str]:
    """The command line that starts the emulator as a user would (``python -m emulator``),
    with the flags ``extra`` (e.g. ``--inject-faults SPEC``) at the end."""
    return [
        sys.executable,
        "-m",
        "emulator",
        "--port",
        str(port),
        "--storage",
        storage,
        "--queue-yaml",
        queue_yaml,
        "--log-level",
        "WARNING",
        *extra,
    ]


def seed_file(path: str, queue: str, count: int, first_eta_usec: int, tags: int) -> None:
    """Store ``count`` ready pull tasks named ``seed-<i>`` in the SQLite file ``path``,
    in one transaction (ETAs ``first_eta_usec + i``, tags ``t<i % tags>``)."""
    from emulator.store.sqlite import SqliteTaskStore

    store = SqliteTaskStore(path)
    try:
        _seed_store(store, queue, count, first_eta_usec, tags)
    finally:
        store.close()


def seed_embedded(queue: str, count: int, first_eta_usec: int, tags: int) -> None:
    """Like :func:`seed_file`, into the store of the shim's current embedded backend."""
    from shims import backends

    backend: Any = backends.current()
    _seed_store(backend.runtime.store, queue, count, first_eta_usec, tags)


def _seed_store(store: Any, queue: str, count: int, first_eta_usec: int, tags: int) -> None:
    from emulator.domain.model import StoredTask

    payload = b"x" * 100
    step = 50_000
    for first in range(0, count, step):
        with store.transaction() as tx:
            for i in range(first, min(first + step, count)):
                tx.insert_task(
                    StoredTask(
                        queue=queue,
                        name=f"seed-{i:07d}",
                        eta_usec=first_eta_usec + i,
                        payload=payload,
                        tag=f"t{i % tags}",
                        created_usec=first_eta_usec,
                    )
                )


def install_embedded(queue_yaml: str, storage: str) -> Any:
    """Install the shim with an in-process emulator on ``storage``; return ``taskqueue``."""
    app_environment()
    import shims

    os.environ.pop(ENV_HOST, None)
    shims.install(queue_yaml=queue_yaml, storage=storage)
    from google.appengine.api import taskqueue  # type: ignore[import-untyped, unused-ignore]

    return taskqueue


def install_remote(address: str) -> Any:
    """Install the shim talking to the server at ``address``; return ``taskqueue``."""
    app_environment()
    import shims

    os.environ[ENV_HOST] = address
    shims.install()
    from google.appengine.api import taskqueue  # type: ignore[import-untyped, unused-ignore]

    return taskqueue


def install_sdk(address: str) -> Any:
    """Route Google's own SDK to the server's ``/rpc_http`` at ``address``; return
    Google's ``taskqueue`` module."""
    app_environment()
    import shims

    os.environ[ENV_HOST] = address
    shims.install(use_sdk=True)
    from google.appengine.api import taskqueue  # type: ignore[import-untyped, unused-ignore]

    return taskqueue


def uninstall() -> None:
    """Undo the install functions (closing the shim's backends)."""
    import shims

    shims.uninstall()


@contextmanager
def floor_server() -> Iterator[str]:
    """Serve a trivial Flask app on the emulator's own WSGI server stack (the class the
    emulator uses, keep-alive included); yield its ``host:port``.

    Routes: ``GET /`` and ``POST /`` answer a fixed small JSON body (the request body, if
    any, is read and ignored).
    """
    from flask import Flask, Response, request

    from emulator.server import ServerThread

    app = Flask("floor")
    body = b'{"status": "ok"}'

    @app.route("/", methods=["GET", "POST"])
    def floor() -> Response:
        request.get_data()
        return Response(body, mimetype="application/json")

    server = ServerThread(app).start()
    try:
        yield server.address
    finally:
        server.stop()


def json_client(address: str) -> Callable[[str, str, Any], tuple[int, Any]]:
    """The shim's own keep-alive JSON client for ``address``: ``call(method, path, body)``
    returns ``(status, decoded body)``."""
    import json

    from shims.backends.http import HttpClient

    client = HttpClient(address)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}

    def call(method: str, path: str, body: Any) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        reply = client.request(method, path, data, headers, deadline=30, idempotent=True)
        return reply.status, json.loads(reply.body) if reply.body.strip() else {}

    return call


def trace_sql(callback: Callable[[str], None] | None) -> None:
    """Call ``callback(sql)`` for every statement the current embedded backend's SQLite
    connection runs (None stops). Reaches into the store's private connection: profiling
    only, never used by the measured workloads."""
    from shims import backends

    backend: Any = backends.current()
    backend.runtime.store._conn.set_trace_callback(callback)
