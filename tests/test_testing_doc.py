"""docs/TESTING.md's example works as written: its files are those of
``tests/apps/backoff_worker`` (character for character), and its pytest and unittest tests
pass when run as the page says, in a directory of their own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_shim_pytest_plugin import isolate, plugin_args

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "tests" / "apps" / "backoff_worker"
#: The page's file names → the repository's files.
FILES = {
    "worker.py": "worker.py",
    "queue.yaml": "queue.yaml",
    "conftest.py": "conftest_example.py",
    "pytest.ini": "pytest_example.ini",
    "test_worker.py": "pytest_example.py",
    "test_worker_unittest.py": "unittest_example.py",
}


def page_files() -> dict[str, str]:
    """The code blocks of docs/TESTING.md that start with ``# <file name>``, by name."""
    text = (ROOT / "docs" / "TESTING.md").read_text()
    blocks = re.findall(r"```[a-z]+\n(# (\S+)\n.*?)```", text, re.S)
    return {name: body for body, name in blocks}


def test_the_page_shows_the_repositorys_example_files() -> None:
    shown = page_files()

    assert set(shown) == set(FILES)
    for name, source in FILES.items():
        assert shown[name] == (APP / source).read_text(), name


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQUEUE_EMULATOR")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _write(directory: Path, *names: str) -> None:
    for name in names:
        (directory / name).write_text((APP / FILES[name]).read_text())


def test_the_pytest_example_passes(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("TASKQUEUE_EMULATOR")]:
        monkeypatch.delenv(key)
    isolate(monkeypatch, f"{pytester.path}{os.pathsep}{ROOT}")
    _write(pytester.path, "worker.py", "queue.yaml", "conftest.py", "pytest.ini", "test_worker.py")

    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider")

    result.assert_outcomes(passed=2)


def test_the_unittest_example_passes(tmp_path: Path) -> None:
    _write(tmp_path, "worker.py", "queue.yaml", "test_worker_unittest.py")

    done = subprocess.run(
        [sys.executable, "-m", "unittest", "test_worker_unittest"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr.rstrip().endswith("OK"), done.stderr
