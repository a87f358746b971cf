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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from emulator import __version__
from emulator.config_loader import ConfigError
from emulator.runtime import EmulatorWSGIServer, Runtime, build_runtime, make_wsgi_server
from emulator.store.sqlite import MEMORY, StoreError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8089
DEFAULT_STORAGE = os.path.join(".taskqueue-emulator", "tasks.sqlite3")
_SIGNAL_POLL_SECONDS = 0.05
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_log = logging.getLogger("emulator")


@dataclass(frozen=True)
class Setting:
    """One setting: its flag, its environment variable, how to read it, its default.

    ``parse`` turns the text into the value and raises ``argparse.ArgumentTypeError`` with a
    message (without the setting's name) when the text is unusable.
    """

    dest: str
    flag: str
    env: str
    parse: Callable[[str], Any]
    default: str | None
    help: str
    metavar: str | None = None
    switch: bool = False  #: a flag without a value (``--enable-test-control``)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, not {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, not {port}")
    return port


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _boolean(text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    choices = ", ".join(v for v in (*_TRUE, *_FALSE) if v)
    raise argparse.ArgumentTypeError(f"must be one of {choices}, not {text!r}")


def _level(text: str) -> str:
    level = text.strip().upper()
    if level not in _LEVELS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(_LEVELS)}, not {text!r}")
    return level


def _text(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "host",
        "--host",
        "TASKQUEUE_EMULATOR_BIND_HOST",
        _text,
        DEFAULT_HOST,
        "address to listen on (default %(default)s)",
    ),
    Setting(
        "port",
        "--port",
        "TASKQUEUE_EMULATOR_PORT",
        _port,
        str(DEFAULT_PORT),
        "port to listen on, 0 for any free port (default %(default)s)",
    ),
    Setting(
        "queue_yaml",
        "--queue-yaml",
        "TASKQUEUE_EMULATOR_QUEUE_YAML",
        _text,
        None,
        "queue.yaml to load and watch; without it only the push queue 'default' exists",
        metavar="PATH",
    ),
    Setting(
        "storage",
        "--storage",
        "TASKQUEUE_EMULATOR_STORAGE",
        _text,
        DEFAULT_STORAGE,
        "SQLite file for tasks, or :memory: (default %(default)s; only the default's "
        "directory is created)",
        metavar="PATH|:memory:",
    ),
    Setting(
        "enable_test_control",
        "--enable-test-control",
        "TASKQUEUE_EMULATOR_TEST_CONTROL",
        _boolean,
        "0",
        "serve /_emulator/reset, /_emulator/clock, ... (env value: 1 or 0)",
        switch=True,
    ),
    Setting(
        "log_level",
        "--log-level",
        "TASKQUEUE_EMULATOR_LOG_LEVEL",
        _level,
        "INFO",
        f"logging level: {', '.join(_LEVELS)} (default %(default)s)",
    ),
)


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface. Flags default to None; :func:`resolve` fills in the
    environment variables and defaults."""
    parser = argparse.ArgumentParser(
        prog="taskqueue-emulator",
        description="Local emulator for Google App Engine pull queues. Every flag can also be "
        "set with the environment variable named in its help; a flag wins over its variable.",
    )
    for setting in SETTINGS:
        text = f"{setting.help} [env {setting.env}]".replace("%(default)s", str(setting.default))
        if setting.switch:
            parser.add_argument(
                setting.flag, dest=setting.dest, action="store_true", default=None, help=text
            )
        else:
            parser.add_argument(
                setting.flag,
                dest=setting.dest,
                type=setting.parse,
                default=None,
                metavar=setting.metavar,
                help=text,
            )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def resolve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Fill every setting the command line left out from its environment variable (checked
    like the flag; an error names the variable), else its default. Records in
    ``args.sources`` where each value came from (the flag, the variable, or ``default``).

    Raises:
        SystemExit: status 2 with one message naming the variable, for a bad value.
    """
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        if getattr(args, setting.dest) is not None:
            sources[setting.dest] = setting.flag
            continue
        raw = os.environ.get(setting.env)
        if raw is not None and raw.strip():
            try:
                value = setting.parse(raw)
            except argparse.ArgumentTypeError as exc:
                parser.error(f"{setting.env}: {exc}")
            sources[setting.dest] = setting.env
        else:
            value = None if setting.default is None else setting.parse(setting.default)
            sources[setting.dest] = "default"
        setattr(args, setting.dest, value)
    args.sources = sources
    return args


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
    args = resolve(parser.parse_args(argv), parser)
    _configure_logging(args.log_level)
    default_storage = os.path.normpath(args.storage) == os.path.normpath(DEFAULT_STORAGE)
    try:
        runtime = build_runtime(args.queue_yaml, args.storage, create_parent=default_storage)
    except ConfigError as exc:
        return _fail(str(exc))
    except StoreError as exc:
        return _fail(f"{args.sources['storage']}: {exc}" if not default_storage else str(exc))
    try:
        server = make_wsgi_server(
            runtime.app(enable_test_control=args.enable_test_control), args.host, args.port
        )
    except OSError as exc:
        runtime.close()
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    host = f"[{args.host}]" if ":" in args.host else args.host  # IPv6 literal
    return _serve(server, runtime, _describe(runtime, f"{host}:{server.port}", args))


def _serve(server: EmulatorWSGIServer, runtime: Runtime, banner: str) -> int:
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
        server.drain()  # requests in progress finish; idle keep-alive connections close
        server.server_close()
        runtime.close()
