"""Every setting of ``taskqueue-emulator``: its flag, its environment variable, how to read it.

A flag wins over its variable; an empty variable counts as unset; a variable is checked like
its flag and an error names whichever the value came from. Add a setting by adding a row to
:data:`SETTINGS` (and to the README's table).
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator import __version__
from emulator.cloudtasks.target import CloudTasksTarget
from emulator.domain.faults import parse_fault_spec
from emulator.domain.identity import DEFAULT_IDENTITY_HEADER
from emulator.domain.limits import (
    MEMORY_STORAGE,
    PRODUCTION_ADD_VISIBILITY_DELAY_SECONDS,
    PRODUCTION_FAULT_SPEC,
    PRODUCTION_LEASE_RATE_LIMIT,
)
from emulator.domain.production import (
    ProductionOptions,
    parse_fault_seed,
    parse_lease_rate_limit,
    parse_visibility_delay,
    resolve_production,
)
from emulator.domain.retention import PRODUCTION_TOMBSTONE_TTL, parse_duration

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8089
DEFAULT_STORAGE = os.path.join(".taskqueue-emulator", "tasks.sqlite3")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
#: Where clients (the shim, the SDK stub, the pytest plugin) find the emulator: ``host:port``.
HOST_ENV = "TASKQUEUE_EMULATOR_HOST"
#: The queue.yaml of the server, and of the shim's embedded emulator too.
QUEUE_YAML_ENV = "TASKQUEUE_EMULATOR_QUEUE_YAML"
#: ``--backend`` values: the emulator's own store, or forwarding to Cloud Tasks.
BACKEND_LOCAL = "local"
BACKEND_CLOUD_TASKS = "cloudtasks"
BACKENDS = (BACKEND_LOCAL, BACKEND_CLOUD_TASKS)
#: The settings of ``taskqueue-emulator check-cloud-tasks`` (and of a forwarding target).
CLOUD_TASKS_TARGET = ("cloud_tasks_project", "cloud_tasks_location", "cloud_tasks_endpoint")
#: The server's bearer token (``--auth-token``); the shim and the SDK stub send it.
AUTH_TOKEN_ENV = "TASKQUEUE_EMULATOR_AUTH_TOKEN"
#: The header the server reads identities from (``--identity-header``); the shim sends its
#: identity in it (default X-Goog-Authenticated-User-Email).
IDENTITY_HEADER_ENV = "TASKQUEUE_EMULATOR_IDENTITY_HEADER"
#: The identity (an e-mail address) the shim and the SDK stub send.
IDENTITY_ENV = "TASKQUEUE_EMULATOR_IDENTITY"


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
    if level not in LEVELS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(LEVELS)}, not {text!r}")
    return level


def _text(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _token(text: str) -> str:
    token = text.strip()
    if not token or any(c.isspace() or not c.isprintable() for c in token) or not token.isascii():
        raise argparse.ArgumentTypeError("must be printable ASCII without spaces")
    return token


def _header_name(text: str) -> str:
    name = text.strip()
    if not name or not all(c.isascii() and (c.isalnum() or c in "-_") for c in name):
        raise argparse.ArgumentTypeError(
            f"must be an HTTP header name (letters, digits, '-'), not {text!r}"
        )
    return name


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def read(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise argparse.ArgumentTypeError(f"must be one of {', '.join(choices)}, not {text!r}")
        return value

    return read


_CLOUD_ID_RE = re.compile(r"^[a-z][a-z0-9.:-]{0,99}$")


def _cloud_id(text: str) -> str:
    """A project or location id; App Engine's partition prefix (``s~app``) is dropped."""
    value = text.strip()
    if len(value) > 2 and value[1] == "~":
        value = value[2:]
    if not _CLOUD_ID_RE.match(value):
        raise argparse.ArgumentTypeError(
            f"must be a lower-case id of letters, digits and '-' (e.g. my-proj), not {text!r}"
        )
    return value


def _endpoint(text: str) -> str:
    value = text.strip()
    host, sep, port = value.rpartition(":")
    if not sep or not host or "/" in value:
        raise argparse.ArgumentTypeError(f"must be host:port without a scheme, not {text!r}")
    _port(port)
    return value


def _checked(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse`` with its ``ValueError`` turned into the ``ArgumentTypeError`` of a setting
    (the parsers of :mod:`emulator.domain.production` say what is wrong without the name)."""

    def read(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return read


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
        QUEUE_YAML_ENV,
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
        f"SQLite file for tasks, or {MEMORY_STORAGE} (default %(default)s; only the "
        "default's directory is created)",
        metavar=f"PATH|{MEMORY_STORAGE}",
    ),
    Setting(
        "fsync",
        "--fsync",
        "TASKQUEUE_EMULATOR_FSYNC",
        _boolean,
        "0",
        "sync the storage file to the disk at each checkpoint, so that an OS crash or a power "
        "cut cannot lose acknowledged tasks or damage the file (default: acknowledged work "
        "survives the emulator stopping or being killed, not the machine going down; the "
        "syncs make durable writes up to ~2x slower) (env value: 1 or 0)",
        switch=True,
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
        f"logging level: {', '.join(LEVELS)} (default %(default)s)",
    ),
    Setting(
        "auth_token",
        "--auth-token",
        AUTH_TOKEN_ENV,
        _token,
        None,
        "require 'Authorization: Bearer TOKEN' on every route but /healthz (default: none)",
        metavar="TOKEN",
    ),
    Setting(
        "tombstone_ttl",
        "--tombstone-ttl",
        "TASKQUEUE_EMULATOR_TOMBSTONE_TTL",
        _checked(parse_duration),
        None,
        "forget a deleted task's name (its tombstone) this long after the delete, e.g. "
        f"{PRODUCTION_TOMBSTONE_TTL} as production, 36h, 90m; 0: at the next pruning pass "
        "(default: keep tombstones forever)",
        metavar="DURATION",
    ),
    Setting(
        "identity_header",
        "--identity-header",
        IDENTITY_HEADER_ENV,
        _header_name,
        None,
        "enforce queue.yaml acl entries against the caller's e-mail address in this header, "
        f"e.g. {DEFAULT_IDENTITY_HEADER} (its accounts.google.com: prefix is stripped; "
        "default: acl not enforced)",
        metavar="NAME",
    ),
    # Cloud Tasks (docs/CLOUD_TASKS.md): REST is always on the main port.
    Setting(
        "cloud_tasks_grpc_port",
        "--cloud-tasks-grpc-port",
        "TASKQUEUE_EMULATOR_CLOUD_TASKS_GRPC_PORT",
        _port,
        None,
        "also serve Cloud Tasks v2beta2, v2beta3 and v2 over gRPC on this port, 0 for any "
        "free port (REST is always served under /v2beta2/, /v2beta3/ and /v2/)",
        metavar="PORT",
    ),
    # Forwarding to Cloud Tasks (docs/MIGRATION.md)
    Setting(
        "backend",
        "--backend",
        "TASKQUEUE_EMULATOR_BACKEND",
        _choice(BACKENDS),
        BACKEND_LOCAL,
        f"where the queues live: {BACKEND_LOCAL} (this emulator's store, the default) or "
        f"{BACKEND_CLOUD_TASKS} (forward every call to Cloud Tasks; needs "
        "--cloud-tasks-project and --cloud-tasks-location)",
        metavar="|".join(BACKENDS),
    ),
    Setting(
        "cloud_tasks_project",
        "--cloud-tasks-project",
        "TASKQUEUE_EMULATOR_CLOUD_TASKS_PROJECT",
        _cloud_id,
        None,
        "the Cloud Tasks project to forward to (s~/e~ prefixes are dropped)",
        metavar="PROJECT",
    ),
    Setting(
        "cloud_tasks_location",
        "--cloud-tasks-location",
        "TASKQUEUE_EMULATOR_CLOUD_TASKS_LOCATION",
        _cloud_id,
        None,
        "the Cloud Tasks location to forward to (us-central1, ...)",
        metavar="LOCATION",
    ),
    Setting(
        "cloud_tasks_endpoint",
        "--cloud-tasks-endpoint",
        "TASKQUEUE_EMULATOR_CLOUD_TASKS_ENDPOINT",
        _endpoint,
        None,
        "plaintext gRPC host:port of a Cloud Tasks emulator to forward to, with anonymous "
        "credentials (default: cloudtasks.googleapis.com with Application Default Credentials)",
        metavar="HOST:PORT",
    ),
    # -- opt-in production behaviours (docs/TESTING.md); None: off, unless --like-production
    Setting(
        "lease_rate_limit",
        "--lease-rate-limit",
        "TASKQUEUE_EMULATOR_LEASE_RATE_LIMIT",
        _checked(parse_lease_rate_limit),
        None,
        "lease calls per queue per second that return tasks; the others return none, as in "
        f"production ({PRODUCTION_LEASE_RATE_LIMIT}); 0: no limit (the default)",
        metavar="N",
    ),
    Setting(
        "inject_faults",
        "--inject-faults",
        "TASKQUEUE_EMULATOR_INJECT_FAULTS",
        _checked(parse_fault_spec),
        None,
        "fail calls at random: call=ERROR:RATE,... with call add, lease, modify_lease, "
        "delete, purge or stats and ERROR TRANSIENT_ERROR, DEADLINE_EXCEEDED or any error "
        "code, e.g. lease=TRANSIENT_ERROR:0.05; none: off (the default)",
        metavar="SPEC",
    ),
    Setting(
        "inject_faults_seed",
        "--inject-faults-seed",
        "TASKQUEUE_EMULATOR_INJECT_FAULTS_SEED",
        _checked(parse_fault_seed),
        None,
        "seed of --inject-faults, to replay a run (default: chosen at start and printed)",
        metavar="N",
    ),
    Setting(
        "add_visibility_delay",
        "--add-visibility-delay",
        "TASKQUEUE_EMULATOR_ADD_VISIBILITY_DELAY",
        _checked(parse_visibility_delay),
        None,
        "new pull tasks become leasable no earlier than this many seconds after they are "
        "added (default 0)",
        metavar="SECONDS",
    ),
    Setting(
        "like_production",
        "--like-production",
        "TASKQUEUE_EMULATOR_LIKE_PRODUCTION",
        _boolean,
        "0",
        "production's figures where --lease-rate-limit, --add-visibility-delay or "
        f"--inject-faults is not given: {PRODUCTION_LEASE_RATE_LIMIT}, "
        f"{PRODUCTION_ADD_VISIBILITY_DELAY_SECONDS:g} and {PRODUCTION_FAULT_SPEC} "
        "(env value: 1 or 0)",
        switch=True,
    ),
)


def build_parser(
    rows: tuple[Setting, ...] = SETTINGS,
    *,
    prog: str = "taskqueue-emulator",
    description: str = "Local emulator for Google App Engine pull queues. Every flag can also "
    "be set with the environment variable named in its help; a flag wins over its variable.",
) -> argparse.ArgumentParser:
    """The command-line interface of ``rows`` (default: every setting). Flags default to
    None; :func:`resolve` fills in the environment variables and defaults."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    for setting in rows:
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


def resolve(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    rows: tuple[Setting, ...] = SETTINGS,
) -> argparse.Namespace:
    """Fill every setting of ``rows`` the command line left out from its environment
    variable (checked like the flag; an error names the variable), else its default. Records in
    ``args.sources`` where each value came from (the flag, the variable, or ``default``).

    Raises:
        SystemExit: status 2 with one message naming the variable, for a bad value.
    """
    sources: dict[str, str] = {}
    for setting in rows:
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


def production_options(args: argparse.Namespace) -> ProductionOptions:
    """The production behaviours of resolved settings (see :func:`resolve`)."""
    return resolve_production(
        like_production=bool(args.like_production),
        lease_rate_limit=args.lease_rate_limit,
        add_visibility_delay=args.add_visibility_delay,
        inject_faults=args.inject_faults,
        inject_faults_seed=args.inject_faults_seed,
    )


def setting(dest: str) -> Setting:
    """The row of :data:`SETTINGS` whose ``dest`` is ``dest`` (KeyError if there is none)."""
    for row in SETTINGS:
        if row.dest == dest:
            return row
    raise KeyError(dest)


def from_environment(dest: str) -> Any:
    """The value of setting ``dest`` from its environment variable, read as the CLI reads
    it, or None when the variable is unset or empty (for the shim's embedded emulator).

    Raises:
        ValueError: the variable's value is unusable; the message names the variable.
    """
    row = setting(dest)
    raw = os.environ.get(row.env)
    if raw is None or not raw.strip():
        return None
    try:
        return row.parse(raw)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{row.env}: {exc}") from None


def production_from_environment() -> ProductionOptions:
    """The production behaviours the ``TASKQUEUE_EMULATOR_*`` variables ask for.

    Raises:
        ValueError: a variable's value is unusable; the message names the variable.
    """
    return resolve_production(
        like_production=bool(from_environment("like_production")),
        lease_rate_limit=from_environment("lease_rate_limit"),
        add_visibility_delay=from_environment("add_visibility_delay"),
        inject_faults=from_environment("inject_faults"),
        inject_faults_seed=from_environment("inject_faults_seed"),
    )


def rows(*dests: str) -> tuple[Setting, ...]:
    """The rows of :data:`SETTINGS` named by ``dests``, in that order."""
    return tuple(setting(dest) for dest in dests)


def cloud_tasks_target(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> CloudTasksTarget:
    """The Cloud Tasks location resolved settings name (see :func:`resolve`).

    Raises:
        SystemExit: status 2 naming the flag and the variable of a missing project or location.
    """
    for dest in ("cloud_tasks_project", "cloud_tasks_location"):
        if getattr(args, dest) is None:
            row = setting(dest)
            parser.error(
                f"forwarding to Cloud Tasks needs {row.flag} or {row.env} "
                f"({row.metavar.lower() if row.metavar else dest})"
            )
    return CloudTasksTarget(
        project=args.cloud_tasks_project,
        location=args.cloud_tasks_location,
        endpoint=args.cloud_tasks_endpoint,
    )
