"""``taskqueue-emulator`` (also ``python -m emulator``): parse flags, build, serve.

Every flag has an environment variable. Bad configuration, unusable storage or a busy port
end the program with exit status 2 and one readable line on stderr, never a traceback.
SIGTERM and SIGINT shut the server down cleanly (exit status 0); a server loop that fails
on its own is logged and ends the program with exit status 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from werkzeug.serving import BaseWSGIServer

from emulator import __version__
from emulator.config_loader import ConfigError
from emulator.runtime import Runtime, build_runtime, make_wsgi_server
from emulator.store.sqlite import MEMORY, StoreError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8089
DEFAULT_STORAGE = os.path.join(".taskqueue-emulator", "tasks.sqlite3")
_SIGNAL_POLL_SECONDS = 0.2
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_log = logging.getLogger("emulator")


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (flags default to their environment variables)."""
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="taskqueue-emulator",
        description="Local emulator for Google App Engine pull queues.",
    )
    parser.add_argument(
        "--host",
        default=env("TASKQUEUE_EMULATOR_BIND_HOST", DEFAULT_HOST),
        help="address to listen on (env TASKQUEUE_EMULATOR_BIND_HOST; default %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=env("TASKQUEUE_EMULATOR_PORT", str(DEFAULT_PORT)),
        help="port to listen on, 0 for any free port (env TASKQUEUE_EMULATOR_PORT; default 8089)",
    )
    parser.add_argument(
        "--queue-yaml",
        default=env("TASKQUEUE_EMULATOR_QUEUE_YAML"),
        metavar="PATH",
        help="queue.yaml to load and watch (env TASKQUEUE_EMULATOR_QUEUE_YAML); "
        "without it only the push queue 'default' exists",
    )
    parser.add_argument(
        "--storage",
        default=env("TASKQUEUE_EMULATOR_STORAGE", DEFAULT_STORAGE),
        metavar="PATH|:memory:",
        help="SQLite file for tasks, or :memory: (env TASKQUEUE_EMULATOR_STORAGE; "
        "default %(default)s)",
    )
    parser.add_argument(
        "--enable-test-control",
        action="store_true",
        default=_env_flag("TASKQUEUE_EMULATOR_TEST_CONTROL"),
        help="serve /_emulator/reset and /_emulator/clock (env TASKQUEUE_EMULATOR_TEST_CONTROL=1)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=_LEVELS,
        default=env("TASKQUEUE_EMULATOR_LOG_LEVEL", "INFO").upper(),
        help="logging level (env TASKQUEUE_EMULATOR_LOG_LEVEL; default INFO)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, not {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, not {port}")
    return port


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _fail(message: str) -> int:
    print(f"taskqueue-emulator: error: {message}", file=sys.stderr)
    return 2


def _describe(runtime: Runtime, address: str, args: argparse.Namespace) -> str:
    config = runtime.service.config()
    queues = ", ".join(f"{q.name} ({q.mode.label})" for q in config.queues.values())
    storage = (
        "in memory (lost on exit)"
        if runtime.store.location == MEMORY
        else f"{os.path.abspath(runtime.store.location)} (SQLite, WAL)"
    )
    lines = [
        f"taskqueue-emulator {__version__} listening on http://{address}",
        f"  export TASKQUEUE_EMULATOR_HOST={address}",
        f"  queue.yaml: {os.path.abspath(args.queue_yaml) if args.queue_yaml else '(none)'}",
        f"  queues: {queues}",
        f"  storage: {storage}",
    ]
    if args.enable_test_control:
        lines.append("  test control: enabled (/_emulator/reset, /_emulator/clock)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGTERM/SIGINT; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.log_level not in _LEVELS:  # argparse does not check choices on env defaults
        parser.error(
            f"TASKQUEUE_EMULATOR_LOG_LEVEL must be one of {', '.join(_LEVELS)}, "
            f"not {args.log_level!r}"
        )
    _configure_logging(args.log_level)
    try:
        runtime = build_runtime(args.queue_yaml, args.storage)
    except (ConfigError, StoreError) as exc:
        return _fail(str(exc))
    try:
        server = make_wsgi_server(
            runtime.app(enable_test_control=args.enable_test_control), args.host, args.port
        )
    except OSError as exc:
        runtime.close()
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    host = f"[{args.host}]" if ":" in args.host else args.host  # IPv6 literal
    return _serve(server, runtime, _describe(runtime, f"{host}:{server.port}", args))


def _serve(server: BaseWSGIServer, runtime: Runtime, banner: str) -> int:
    """Print ``banner`` (the readiness signal) and serve until SIGTERM/SIGINT; return the
    exit status: 0 after a signal, 1 if the server loop ended by itself (its exception is
    logged with its traceback).

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
        print(banner, flush=True)
        loop.start()
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
        server.server_close()
        runtime.close()
