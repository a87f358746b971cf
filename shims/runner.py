"""``python -m shims [options] script.py [args]`` / ``python -m shims [options] -m module [args]``.

Runs an unmodified program with the shim installed, as ``python script.py`` / ``python -m
module`` would run it: ``sys.argv`` is the program's, ``sys.path[0]`` is the script's
directory (or the current directory for ``-m``), and its exit status is preserved
(``sys.exit(n)``, 1 for an uncaught exception). Options (before the program):

* ``--queue-yaml PATH``: queue.yaml of the embedded emulator (default
  ``TASKQUEUE_EMULATOR_QUEUE_YAML``); ignored when ``TASKQUEUE_EMULATOR_HOST`` is set;
* ``--storage PATH|:memory:``: the embedded emulator's SQLite file (default ``:memory:``);
* ``--use-sdk``: run with Google's real SDK routed to ``TASKQUEUE_EMULATOR_HOST``.
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import shims
from emulator.config import ConfigError
from emulator.domain.limits import MEMORY_STORAGE
from emulator.store.sqlite import StoreError
from shims import backends

USAGE = (
    f"usage: python -m shims [--queue-yaml PATH] [--storage PATH|{MEMORY_STORAGE}] [--use-sdk]\n"
    "                       (script.py | -m module) [args ...]"
)
_WITH_VALUE = {"--queue-yaml": "queue_yaml", "--storage": "storage"}


class UsageError(Exception):
    """The command line cannot be understood."""


class HelpRequested(Exception):
    """``-h`` / ``--help`` was given before the program."""


@dataclass
class Invocation:
    """A parsed command line."""

    queue_yaml: str | None = None
    storage: str = MEMORY_STORAGE
    use_sdk: bool = False
    script: str | None = None
    module: str | None = None
    args: list[str] = field(default_factory=list)


def parse(argv: Sequence[str]) -> Invocation:
    """Split ``argv`` into the shim's options and the program to run with its arguments."""
    found = Invocation()
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        if name in _WITH_VALUE:
            if not eq:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"{name} needs a value")
                inline = argv[i]
            setattr(found, _WITH_VALUE[name], inline)
        elif arg in ("-h", "--help"):
            raise HelpRequested
        elif arg == "--use-sdk":
            found.use_sdk = True
        elif arg == "-m":
            if i + 1 >= len(argv):
                raise UsageError("-m needs a module name")
            found.module, found.args = argv[i + 1], list(argv[i + 2 :])
            return found
        elif arg == "--":
            i += 1
            break
        elif arg.startswith("-"):
            raise UsageError(f"unknown option {arg}")
        else:
            break
        i += 1
    if i >= len(argv):
        raise UsageError("no program to run")
    found.script, found.args = argv[i], list(argv[i + 1 :])
    return found


def _run_script(path: str, args: list[str]) -> None:
    sys.argv = [path, *args]
    sys.path[0] = os.path.dirname(os.path.abspath(path))
    runpy.run_path(path, run_name="__main__")


def _run_module(module: str, args: list[str]) -> None:
    sys.argv = [module, *args]
    sys.path[0] = os.getcwd()
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def _missing_program(invocation: Invocation) -> str | None:
    """Why the program cannot be run, or None."""
    if invocation.module is not None:
        try:
            spec = importlib.util.find_spec(invocation.module)
        except (ImportError, ValueError):
            spec = None
        return None if spec is not None else f"No module named {invocation.module}"
    if invocation.script is not None and not os.path.isfile(invocation.script):
        return f"can't open file {invocation.script!r}: [Errno 2] No such file or directory"
    return None


def _install(invocation: Invocation) -> None:
    """Install the shim; an embedded emulator is built now so a bad queue.yaml fails early."""
    shims.install(invocation.queue_yaml, invocation.storage, use_sdk=invocation.use_sdk)
    if not invocation.use_sdk:
        backends.current()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the program; returns 2 for a usage error, a missing script or a bad queue.yaml,
    1 for a missing module, else what the program's ``sys.exit`` says (an uncaught exception
    propagates: exit status 1)."""
    try:
        invocation = parse(sys.argv[1:] if argv is None else argv)
    except HelpRequested:
        print(f"{USAGE}\n\n{__doc__}")
        return 0
    except UsageError as exc:
        print(f"python -m shims: {exc}\n{USAGE}", file=sys.stderr)
        return 2
    problem = _missing_program(invocation)
    if problem is not None:
        print(f"python -m shims: {problem}", file=sys.stderr)
        return 1 if invocation.module is not None else 2
    try:
        _install(invocation)
    except (ConfigError, StoreError, RuntimeError, ImportError) as exc:
        print(f"python -m shims: {exc}", file=sys.stderr)
        return 2
    if invocation.module is not None:
        _run_module(invocation.module, invocation.args)
    else:
        assert invocation.script is not None
        _run_script(invocation.script, invocation.args)
    return 0
