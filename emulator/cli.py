"""``taskqueue-emulator`` (also ``python -m emulator``): read the settings, build, serve.

The flags and their environment variables are in :mod:`emulator.settings`. Bad configuration,
unusable storage or a busy port end the program with exit status 2 and one readable line on
stderr, never a traceback.
SIGTERM and SIGINT shut the server down cleanly (exit status 0); a server loop that fails
on its own is logged and ends the program with exit status 1.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

from emulator import __version__, background, collector
from emulator.app import runtime_app
from emulator.check_command import CHECK_COMMAND, check_main
from emulator.config import ConfigError
from emulator.domain.errors import TaskQueueError
from emulator.domain.limits import MEMORY_STORAGE
from emulator.domain.retention import format_duration
from emulator.faces.cloud_tasks import CLOUD_TASKS_EMULATOR_HOST_ENV, CLOUDTASKS_EMULATOR_HOST_ENV
from emulator.server import EmulatorWSGIServer, make_wsgi_server
from emulator.settings import (
    AUTH_TOKEN_ENV,
    BACKEND_CLOUD_TASKS,
    DEFAULT_STORAGE,
    HOST_ENV,
    build_parser,
    cloud_tasks_target,
    production_options,
    resolve,
)
from emulator.store.sqlite import StoreError
from emulator.wiring import Runtime, build_forwarding_runtime, build_runtime

if TYPE_CHECKING:  # the gRPC server (grpc, Google's types) is imported only when enabled
    from emulator.faces.cloud_tasks.grpc_server import CloudTasksGrpcServer

_SIGNAL_POLL_SECONDS = 0.05
_log = logging.getLogger("emulator")


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _fail(message: str) -> int:
    print(f"taskqueue-emulator: error: {message}", file=sys.stderr)
    return 2


def exposure_warning(host: str, *, has_token: bool) -> str | None:
    """The warning for listening on ``host`` when it is not a loopback address, else None;
    it suggests ``--auth-token`` unless the server has a token (``has_token``)."""
    if host.strip().lower() == "localhost":
        return None
    try:
        if ipaddress.ip_address(host.strip("[]")).is_loopback:
            return None
    except ValueError:
        pass  # a host name: it may resolve to any interface
    advice = (
        "only callers with the token get in (--auth-token is set)"
        if has_token
        else "require a token with --auth-token TOKEN (or TASKQUEUE_EMULATOR_AUTH_TOKEN)"
    )
    return (
        f"WARNING: listening on {host}, which is not a loopback address: anyone who can "
        f"reach this machine on the network can read, add and delete tasks; {advice}"
    )


def _describe(runtime: Runtime, address: str, args: argparse.Namespace) -> str:
    config = runtime.service.config()
    queues = ", ".join(f"{q.name} ({q.mode.label})" for q in config.queues.values())
    storage = _storage(runtime)
    lines = [
        f"taskqueue-emulator {__version__} listening on http://{address}",
        f"  export {HOST_ENV}={address}",
        f"  console: http://{address}/"
        + (" (log in with the token)" if args.auth_token is not None else ""),
        f"  queue.yaml: {os.path.abspath(args.queue_yaml) if args.queue_yaml else '(none)'}",
        f"  queues: {queues}",
        f"  storage: {storage}",
    ]
    if args.enable_test_control:
        lines.append(
            "  test control: enabled (/_emulator/reset, /_emulator/clock, /_emulator/faults)"
        )
    if args.auth_token is not None:
        lines.append(
            f"  auth: every route but /healthz requires the token ({args.sources['auth_token']}); "
            f"clients send it from {AUTH_TOKEN_ENV}"
        )
    if args.tombstone_ttl is not None:
        lines.append(
            f"  tombstones: forgotten {format_duration(args.tombstone_ttl)} after the delete"
        )
    lines.extend(f"  {line}" for line in runtime.production.describe())
    return "\n".join(lines)


def _storage(runtime: Runtime) -> str:
    if runtime.forwarding is not None:
        return (
            f"forwarded to {runtime.forwarding.description}; queue.yaml gives the queues' "
            "names, modes and retry settings"
        )
    if runtime.store is None or runtime.store.location == MEMORY_STORAGE:
        return "in memory (lost on exit)"
    synced = "synced at each checkpoint" if runtime.store.fsync else "no fsync: see --fsync"
    return f"{os.path.abspath(runtime.store.location)} (SQLite, WAL, {synced})"


def _cloud_tasks_banner(address: str, grpc: CloudTasksGrpcServer | None) -> str:
    """Where Cloud Tasks' clients find the same queues (docs/CLOUD_TASKS.md)."""
    served = f"gRPC on {grpc.address}" if grpc else "gRPC off (--cloud-tasks-grpc-port PORT)"
    return "\n".join(
        [
            f"  cloud tasks: REST on http://{address}/v2beta2/, /v2beta3/, /v2/; {served}",
            "    any project and location name these queues; REST clients: "
            f"{CLOUDTASKS_EMULATOR_HOST_ENV}={address}, {CLOUD_TASKS_EMULATOR_HOST_ENV}={address}",
        ]
    )


def _grpc_server(runtime: Runtime, args: argparse.Namespace) -> CloudTasksGrpcServer | None:
    """The Cloud Tasks gRPC server if a port is set (not started).

    Raises:
        OSError: the port cannot be bound; the message names the flag or variable.
    """
    if args.cloud_tasks_grpc_port is None:
        return None
    from emulator.faces.cloud_tasks.grpc_server import (  # deferred: ~0.3 s of imports
        CloudTasksGrpcServer,
        token_check,
    )

    try:
        return CloudTasksGrpcServer(
            runtime.service,
            args.host,
            args.cloud_tasks_grpc_port,
            authorize=token_check(args.auth_token),
            identity_header=args.identity_header,
        )
    except OSError as exc:
        raise OSError(f"{args.sources['cloud_tasks_grpc_port']}: {exc}") from None


def _runtime(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Runtime:
    """The runtime the settings ask for: the local store, or forwarding to Cloud Tasks.

    Raises:
        SystemExit: status 2 for settings that do not fit together (named).
        ConfigError, StoreError, TaskQueueError: the parts cannot be built.
    """
    if args.backend == BACKEND_CLOUD_TASKS:
        target = cloud_tasks_target(args, parser)
        if args.enable_test_control:
            parser.error(
                f"{args.sources['enable_test_control']} cannot be used with --backend "
                f"{BACKEND_CLOUD_TASKS}: Cloud Tasks' clock and contents cannot be controlled"
            )
        return build_forwarding_runtime(
            args.queue_yaml,
            target,
            production=production_options(args),
            enforce_acl=args.identity_header is not None,
        )
    default_storage = os.path.normpath(args.storage) == os.path.normpath(DEFAULT_STORAGE)
    try:
        return build_runtime(
            args.queue_yaml,
            args.storage,
            create_parent=default_storage,
            production=production_options(args),
            tombstone_ttl_seconds=args.tombstone_ttl,
            enforce_acl=args.identity_header is not None,
            fsync=args.fsync,
        )
    except StoreError as exc:
        message = f"{args.sources['storage']}: {exc}" if not default_storage else str(exc)
        raise StoreError(message) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGTERM/SIGINT, or ``check-cloud-tasks``; return the exit
    status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == [CHECK_COMMAND]:
        return check_main(arguments[1:])
    parser = build_parser()
    args = resolve(parser.parse_args(arguments), parser)
    _configure_logging(args.log_level)
    try:
        runtime = _runtime(args, parser)
    except (ConfigError, StoreError, TaskQueueError) as exc:
        return _fail(str(exc))
    try:
        app = runtime_app(
            runtime,
            enable_test_control=args.enable_test_control,
            auth_token=args.auth_token,
            identity_header=args.identity_header,
        )
        server = make_wsgi_server(app, args.host, args.port)
    except OSError as exc:
        runtime.close()
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    try:
        grpc = _grpc_server(runtime, args)
    except OSError as exc:
        server.server_close()
        runtime.close()
        return _fail(str(exc))
    warning = exposure_warning(args.host, has_token=args.auth_token is not None)
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
        _log.warning("%s", warning)
    host = f"[{args.host}]" if ":" in args.host else args.host  # IPv6 literal
    address = f"{host}:{server.port}"
    banner = _describe(runtime, address, args) + "\n" + _cloud_tasks_banner(address, grpc)
    with collector.serving():  # start-up's objects frozen, fewer collections per request
        return _serve(server, runtime, banner, grpc)


def _serve(
    server: EmulatorWSGIServer,
    runtime: Runtime,
    banner: str,
    grpc: CloudTasksGrpcServer | None = None,
) -> int:
    """Print ``banner`` (the readiness signal) and serve until SIGTERM/SIGINT; return the
    exit status: 0 after a signal, 1 if the server loop ended by itself (its exception is
    logged with its traceback). ``grpc`` (Cloud Tasks) starts before the banner and stops,
    letting its calls in progress finish, after the HTTP server has drained.

    The server loop runs in its own thread; the signal handler only records the signal and
    wakes the main thread, which then stops the loop with ``shutdown()``. Raising from the
    handler instead is unreliable: the signal may land inside ``socketserver``'s per-request
    code, whose ``except Exception`` would swallow it and keep serving.
    """
    received: list[str] = []
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    def _loop() -> None:
        try:
            server.serve_forever()
        except Exception:
            _log.exception("the server loop failed")
        finally:
            stop.set()  # the loop died on its own: let the main thread clean up

    # Handlers go in before the banner: a supervisor may send SIGTERM as soon as it reads it.
    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    loop = threading.Thread(target=_loop, name="taskqueue-emulator-http", daemon=True)
    try:
        if grpc is not None:
            grpc.start()
        print(banner, flush=True)
        loop.start()
        background.start(server.app)  # the console's depth sampler
        # Poll: a signal delivered to the loop thread only runs its handler once the main
        # thread is back in the interpreter, which an untimed wait would never be.
        while not stop.wait(_SIGNAL_POLL_SECONDS):
            pass
        if not received:
            _log.error("the server loop stopped unexpectedly; shutting down")
            return 1
        _log.info("received %s, shutting down", received[0])
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if loop.is_alive():
            server.shutdown()
            loop.join()
        server.drain()  # requests in progress finish; idle keep-alive connections close
        server.server_close()
        if grpc is not None:
            grpc.stop()
        background.stop(server.app)
        runtime.close()
