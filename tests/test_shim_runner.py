"""``python -m shims``: unmodified programs run with the shim installed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shims import backends
from tests.shim_support import LiveServer, live_server, write_queue_yaml

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """\
import sys
from google.appengine.api import taskqueue
from google.appengine.runtime import apiproxy_errors

queue = taskqueue.Queue("pull-a")
queue.add(taskqueue.Task(payload=b"x", method="PULL", name=sys.argv[1]))
leased = queue.lease_tasks_by_tag(3600, 1000, deadline=60)
print("argv", sys.argv)
print("path0", sys.path[0])
print("leased", [t.name for t in leased], taskqueue.__name__)
print("stored", queue.fetch_statistics().tasks)
sys.exit(int(sys.argv[2]))
"""


def shims_main(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != backends.ENV_HOST}
    environment.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-m", "shims", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=120,
        check=False,
    )


@pytest.fixture
def app(tmp_path: Path) -> Path:
    write_queue_yaml(tmp_path)
    (tmp_path / "program.py").write_text(PROGRAM)
    (tmp_path / "failing.py").write_text("raise SystemError('boom')\n")
    return tmp_path


@pytest.mark.e2e
def test_a_script_runs_with_its_argv_and_exit_status(app: Path) -> None:
    result = shims_main("--queue-yaml", "queue.yaml", "program.py", "t1", "7", cwd=app)
    assert result.returncode == 7, result.stderr
    assert "argv ['program.py', 't1', '7']" in result.stdout
    assert f"path0 {app}" in result.stdout
    assert "shims.taskqueue" in result.stdout


@pytest.mark.e2e
def test_a_module_runs_with_dash_m(app: Path) -> None:
    result = shims_main("--queue-yaml=queue.yaml", "-m", "program", "t1", "0", cwd=app)
    assert result.returncode == 0, result.stderr
    assert f"argv ['{app / 'program.py'}', 't1', '0']" in result.stdout


@pytest.mark.e2e
def test_an_uncaught_exception_exits_with_status_1(app: Path) -> None:
    result = shims_main("failing.py", cwd=app)
    assert result.returncode == 1
    assert "SystemError: boom" in result.stderr


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["missing.py"], 2, "can't open file 'missing.py'"),
        (["-m", "no_such_module"], 1, "No module named no_such_module"),
        (["--queue-yaml", "nope.yaml", "program.py"], 2, "nope.yaml"),
        (["--frobnicate", "program.py"], 2, "unknown option --frobnicate"),
        ([], 2, "no program to run"),
        (["--storage"], 2, "--storage needs a value"),
    ],
)
def test_usage_problems_are_reported_clearly(
    app: Path, args: list[str], status: int, message: str
) -> None:
    result = shims_main(*args, cwd=app)
    assert result.returncode == status
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.e2e
def test_storage_file_keeps_tasks_between_runs(app: Path) -> None:
    store = str(app / "tasks.sqlite3")
    first = shims_main(
        "--queue-yaml", "queue.yaml", "--storage", store, "program.py", "a", "0", cwd=app
    )
    assert "stored 1" in first.stdout, first.stderr
    second = shims_main(
        "--queue-yaml", "queue.yaml", "--storage", store, "program.py", "b", "0", cwd=app
    )
    assert "stored 2" in second.stdout, second.stderr


@pytest.fixture
def server(app: Path) -> Iterator[LiveServer]:
    with live_server(app / "queue.yaml") as running:
        yield running


@pytest.mark.e2e
def test_a_script_talks_to_the_emulator_named_by_the_environment(
    app: Path, server: LiveServer
) -> None:
    env = {backends.ENV_HOST: server.address}
    assert shims_main("program.py", "r1", "0", cwd=app, **env).returncode == 0
    result = shims_main("program.py", "r2", "0", cwd=app, **env)
    assert "leased ['r2']" in result.stdout and "stored 2" in result.stdout, result.stderr
    assert server.runtime.service.stats(["pull-a"])[0].tasks == 2


SDK_PROGRAM = """\
from google.appengine.api import taskqueue
queue = taskqueue.Queue("pull-a")
queue.add(taskqueue.Task(payload=b"x", method="PULL", name="via-sdk"))
print("module", taskqueue.__name__, type(queue).__module__)
print("stored", queue.fetch_statistics().tasks)
"""


@pytest.mark.e2e
def test_use_sdk_runs_googles_sdk_against_the_emulator(app: Path, server: LiveServer) -> None:
    pytest.importorskip("shims.sdk.stub")
    (app / "sdk_program.py").write_text(SDK_PROGRAM)
    env = {backends.ENV_HOST: server.address}
    result = shims_main("--use-sdk", "sdk_program.py", cwd=app, **env)
    assert result.returncode == 0, result.stderr
    assert "module google.appengine.api.taskqueue google.appengine" in result.stdout
    assert "stored 1" in result.stdout
    assert server.runtime.service.get_task("pull-a", "via-sdk").payload == b"x"


@pytest.mark.e2e
def test_use_sdk_without_an_emulator_host_is_a_usage_error(app: Path) -> None:
    result = shims_main("--use-sdk", "program.py", cwd=app)
    assert result.returncode == 2
    assert "TASKQUEUE_EMULATOR_HOST" in result.stderr


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_prints_usage_and_exits_0(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    from shims.runner import main

    assert main([flag]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m shims") and "--queue-yaml" in out


def test_help_after_the_script_belongs_to_the_script() -> None:
    from shims.runner import parse

    assert parse(["app.py", "--help"]).args == ["--help"]
