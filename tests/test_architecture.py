"""Dependencies point one way: the core imports neither Flask, sqlite3 nor gRPC (DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "emulator" / "core"
FORBIDDEN = ("flask", "werkzeug", "sqlite3", "grpc", "google", "emulator.faces", "emulator.store.sqlite")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_core_modules_import_no_framework_or_storage() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in CORE.glob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN or name.startswith(FORBIDDEN)
    }
    assert not offenders


def test_core_never_reads_the_wall_clock() -> None:
    for path in CORE.glob("*.py"):
        assert "time.time" not in path.read_text(), path.name
        assert "import time" not in path.read_text(), path.name
