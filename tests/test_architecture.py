"""Dependencies point one way (DESIGN.md, docs/ARCHITECTURE.md), checked mechanically.

* the domain imports nothing of the emulator but the domain; the core nothing but the domain,
  the store protocol and itself: no face, no SQLite, no server, no Flask, gRPC or Google;
* faces reach the service through its Protocol: never the SQLite store or the core's
  implementation (only :mod:`emulator.app` and :mod:`emulator.wiring` assemble those);
* :mod:`emulator.wiring` (what the embedded shim builds on) imports no Flask, werkzeug or
  protobuf, even transitively; only :mod:`emulator.server` imports ``werkzeug.serving``;
* an embedded ``add`` and lease in a fresh process load neither Flask, werkzeug nor protobuf;
* the reliability harness (``bench/reliability``) imports neither ``emulator`` nor ``shims``.

Imports are read from the source (every ``import`` statement, also those inside functions),
so a lazy import counts as much as a top-level one.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EMULATOR = ROOT / "emulator"
#: What the core and the domain must not import.
PURE_FORBIDDEN = (
    "emulator.faces",
    "emulator.store.sqlite",
    "emulator.server",
    "emulator.app",
    "emulator.wiring",
    "emulator.cli",
    "emulator.cloudtasks",
    "flask",
    "werkzeug",
    "sqlite3",
    "grpc",
    "google",
)
#: What a face must not import: the service's implementation and what assembles it.
FACE_FORBIDDEN = (
    "emulator.store",
    "emulator.core.pull_queue",
    "emulator.config",
    "emulator.wiring",
    "emulator.server",
    "emulator.app",
    "emulator.cli",
    "emulator.settings",
    "shims",
)
HTTP_STACK = ("flask", "werkzeug", "google.protobuf")
#: What the forwarding service (a second QueueService, not a face) must not import.
FORWARDING_FORBIDDEN = (
    "emulator.faces",
    "emulator.store",
    "emulator.core.pull_queue",
    "emulator.wiring",
    "emulator.server",
    "emulator.app",
    "emulator.cli",
    "emulator.settings",
    "shims",
    "flask",
    "werkzeug",
    "sqlite3",
)
#: The modules :func:`emulator.wiring.build_forwarding_runtime` imports when it is called,
#: and only then (google-cloud-tasks, hence protobuf).
WIRING_LAZY = ("emulator.cloudtasks.clients", "emulator.cloudtasks.service")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _source(module: str) -> Path | None:
    """The repository file of ``module``, or None if it is not one of ours."""
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def direct_imports(module: str) -> frozenset[str]:
    """Every module ``module``'s source names in an import statement (``from a import b``
    counts as ``a`` and, if it is one of our modules, ``a.b``)."""
    path = _source(module)
    if path is None:
        return frozenset()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(
                f"{base}.{alias.name}" for alias in node.names if _source(f"{base}.{alias.name}")
            )
    return frozenset(found)


def _with_parents(module: str) -> list[str]:
    """``a.b.c`` → ``a``, ``a.b``, ``a.b.c`` (importing a module runs its packages)."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def transitive_imports(module: str, pruned: tuple[str, ...] = ()) -> set[str]:
    """Every module importing ``module`` may load, following our own modules' sources (not
    through ``pruned``)."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        for name in direct_imports(current):
            if _matches(name, pruned):
                continue
            for step in _with_parents(name):
                if step not in seen:
                    seen.add(step)
                    if _source(step) is not None:
                        todo.append(step)
    return seen


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _modules(folder: Path) -> list[str]:
    return sorted(_module_name(path) for path in folder.rglob("*.py") if "protos" not in path.parts)


def _tree(module: str) -> ast.Module:
    path = _source(module)
    assert path is not None, module
    return ast.parse(path.read_text(), str(path))


def test_the_core_and_the_domain_import_no_face_storage_server_or_framework() -> None:
    offenders = {
        f"{module} imports {name}"
        for module in _modules(EMULATOR / "core") + _modules(EMULATOR / "domain")
        for name in transitive_imports(module)
        if _matches(name, PURE_FORBIDDEN)
    }
    assert not offenders


def test_the_domain_imports_only_the_domain() -> None:
    offenders = {
        f"{module} imports {name}"
        for module in _modules(EMULATOR / "domain")
        for name in direct_imports(module)
        if name.startswith("emulator") and not _matches(name, ("emulator.domain",))
    }
    assert not offenders


def test_faces_reach_the_service_only_through_its_protocol() -> None:
    offenders = {
        f"{module} imports {name}"
        for module in _modules(EMULATOR / "faces")
        for name in direct_imports(module)
        if _matches(name, FACE_FORBIDDEN)
    }
    assert not offenders


def test_the_reliability_harness_reaches_emulator_and_shims_only_through_bench() -> None:
    # bench/reliability drives servers and clients as a user would: through bench.emulator_api
    # (the one file that knows the packages' entry points) and bench.targets, never inside
    offenders = {
        f"{module} imports {name}"
        for module in _modules(ROOT / "bench" / "reliability")
        for name in direct_imports(module)
        if _matches(name, ("emulator", "shims"))
    }
    assert _modules(ROOT / "bench" / "reliability")
    assert not offenders


def test_wiring_loads_no_http_stack_even_transitively() -> None:
    offenders = {
        name
        for name in transitive_imports("emulator.wiring", WIRING_LAZY)
        if _matches(name, HTTP_STACK)
    }
    assert not offenders


def test_wiring_imports_the_forwarding_service_only_inside_its_builder() -> None:
    """What the previous test prunes is imported in ``build_forwarding_runtime`` alone."""
    tree = _tree("emulator.wiring")
    top_level = {
        node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert not {name for name in top_level if _matches(name, WIRING_LAZY)}
    lazy = {
        function.name
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.ImportFrom) and _matches(node.module or "", WIRING_LAZY)
    }
    assert lazy == {"build_forwarding_runtime"}


def test_the_forwarding_service_is_a_service_not_a_face() -> None:
    offenders = {
        f"{module} imports {name}"
        for module in _modules(EMULATOR / "cloudtasks")
        for name in transitive_imports(module)
        if _matches(name, FORWARDING_FORBIDDEN)
    }
    assert not offenders


def test_the_forwarding_target_loads_no_google_library() -> None:
    """The settings name a target without loading protobuf."""
    names = transitive_imports("emulator.cloudtasks.target")
    assert not {name for name in names if _matches(name, ("google", "grpc"))}


def test_the_json_codec_loads_no_http_stack() -> None:
    """The remote backend decodes responses with it, in processes that never serve."""
    names = transitive_imports("emulator.faces.json.codec")
    assert not {name for name in names if _matches(name, HTTP_STACK)}


def test_only_the_server_module_knows_the_wsgi_server() -> None:
    users = {
        module
        for folder in (EMULATOR, ROOT / "shims")
        for module in _modules(folder)
        if "werkzeug.serving" in direct_imports(module)
    }
    assert users == {"emulator.server"}


#: Values that have one named constant; no other module may spell them out.
ONE_CONSTANT = {
    ":memory:": "emulator.domain.limits",  # MEMORY_STORAGE
    "TASKQUEUE_EMULATOR_HOST": "emulator.settings",  # HOST_ENV
    "TASKQUEUE_EMULATOR_QUEUE_YAML": "emulator.settings",  # QUEUE_YAML_ENV
    "/rpc_http": "emulator.faces.rpc_http",  # RPC_PATH
    "X-TaskQueue-Emulator-Client-Now-Usec": "emulator.faces.rpc_http",  # CLIENT_NOW_HEADER
    "CLOUD_TASKS_EMULATOR_HOST": "emulator.faces.cloud_tasks",  # CLOUD_TASKS_EMULATOR_HOST_ENV
    "CLOUDTASKS_EMULATOR_HOST": "emulator.faces.cloud_tasks",  # CLOUDTASKS_EMULATOR_HOST_ENV
}


def test_shared_values_are_spelled_once() -> None:
    spellings = {
        (node.value, module)
        for folder in (EMULATOR, ROOT / "shims")
        for module in _modules(folder)
        for node in ast.walk(_tree(module))
        if isinstance(node, ast.Constant) and node.value in ONE_CONSTANT
    }
    assert spellings == set(ONE_CONSTANT.items())


def test_core_never_reads_the_wall_clock() -> None:
    for path in (EMULATOR / "core").glob("*.py"):
        assert "time.time" not in path.read_text(), path.name
        assert "import time" not in path.read_text(), path.name


EMBEDDED_PROGRAM = textwrap.dedent(
    """
    import sys
    import shims

    shims.install(queue_yaml=sys.argv[1])
    from google.appengine.api import taskqueue

    queue = taskqueue.Queue("pull-q")
    queue.add(taskqueue.Task(payload=b"x", method="PULL"))
    [task] = queue.lease_tasks(60, 10)
    queue.delete_tasks(task)
    loaded = sorted(
        name for name in sys.modules
        if name.split(".")[0] in ("flask", "werkzeug") or name.startswith("google.protobuf")
    )
    print("loaded:", loaded)
    """
)


@pytest.mark.e2e
def test_an_embedded_add_and_lease_load_no_http_stack(tmp_path: Path) -> None:
    (tmp_path / "queue.yaml").write_text("queue:\n- name: pull-q\n  mode: pull\n")
    assert _run_program(tmp_path, EMBEDDED_PROGRAM, str(tmp_path / "queue.yaml")) == "loaded: []"


def _run_program(cwd: Path, program: str, *args: str) -> str:
    """What ``program`` prints, run by a fresh interpreter that sees only this tree."""
    result = subprocess.run(
        [sys.executable, "-c", program, *args],
        cwd=cwd,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


#: Builds the served app as ``python -m emulator`` does; prints what of Cloud Tasks' client
#: library and grpc got loaded.
SERVER_START_PROGRAM = textwrap.dedent(
    """
    import sys
    import emulator.cli
    from emulator.app import runtime_app
    from emulator.wiring import build_runtime
    runtime_app(build_runtime(None, ":memory:"))
    print("loaded:", sorted(m for m in sys.modules if m.startswith(("google.cloud", "grpc"))))
    """
)


@pytest.mark.e2e
def test_starting_the_server_loads_no_cloud_tasks_library_until_it_is_used(
    tmp_path: Path,
) -> None:
    """Google's Cloud Tasks types were half of the start-up time (docs/PERFORMANCE.md)."""
    assert _run_program(tmp_path, SERVER_START_PROGRAM) == "loaded: []"
