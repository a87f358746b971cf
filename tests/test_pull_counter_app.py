"""End to end: the legacy pull-counter app, unmodified, in three processes (one producer, two
workers run with ``python -m shims``) against one live emulator; every task is counted
exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from shims import backends
from tests.shim_support import LiveServer, live_server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
APP = Path(__file__).resolve().parent / "apps" / "pull_counter"
TASKS = 300
KEYS = ["red", "green", "blue", "black"]


@pytest.fixture
def server() -> Iterator[LiveServer]:
    with live_server(APP / "queue.yaml") as running:
        yield running


def start(script: str, *args: str, address: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), backends.ENV_HOST: address}
    return subprocess.Popen(
        [sys.executable, "-m", "shims", str(APP / script), *args],
        env=env,
        cwd=APP,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> None:
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr


def test_two_workers_count_every_task_exactly_once(server: LiveServer, tmp_path: Path) -> None:
    done = str(tmp_path / "done")
    outputs = [tmp_path / "worker-1.json", tmp_path / "worker-2.json"]
    workers = [start("worker.py", str(out), done, address=server.address) for out in outputs]
    producer = start("producer.py", str(TASKS), done, *KEYS, address=server.address)
    for process in [producer, *workers]:
        finish(process)

    results = [json.loads(out.read_text()) for out in outputs]
    names = [name for result in results for name in result["names"]]
    totals: Counter[str] = Counter()
    for result in results:
        totals.update(result["counts"])
    assert len(names) == len(set(names)) == TASKS
    assert dict(totals) == {key: TASKS // len(KEYS) for key in KEYS}
    assert server.runtime.service.stats(["pullq"])[0].tasks == 0
