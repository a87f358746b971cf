"""The README's snippets work as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

#: Runs the README's snippets in subprocesses.
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def run_program(program: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -c program`` in ``cwd`` as a user would: this checkout importable, no
    ``TASKQUEUE_*`` variable of the test run leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKQUEUE_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", program],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_embedded_quick_start_runs_as_written(tmp_path: Path) -> None:
    [snippet] = [b for b in python_blocks() if '\nshims.install(queue_yaml="queue.yaml")' in b]
    shutil.copy(ROOT / "queue.yaml.example", tmp_path / "queue.yaml")
    program = snippet.replace("    ...\n", "    print('leased', task.name, task.payload)\n")
    result = run_program(program, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "leased task1 b'hello'"


def test_without_a_queue_yaml_the_error_says_none_is_loaded_and_how_to_give_one(
    tmp_path: Path,
) -> None:
    program = (
        "import shims\nshims.install()\nfrom google.appengine.api import taskqueue\n"
        "taskqueue.Queue('pull-counter').add(taskqueue.Task(payload='x', method='PULL'))\n"
    )
    result = run_program(program, tmp_path)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("shims.taskqueue.taskqueue.UnknownQueueError: queue 'pull-counter'")
    for hint in (
        "no queue.yaml is loaded",
        "shims.install(queue_yaml=PATH)",
        "TASKQUEUE_EMULATOR_QUEUE_YAML",
        "--queue-yaml",
        "--taskqueue-yaml",
    ):
        assert hint in last, hint
