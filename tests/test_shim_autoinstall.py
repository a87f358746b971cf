"""The opt-in start-up hook: ``TASKQUEUE_EMULATOR_AUTO_INSTALL`` installs the shim in an
unmodified ``python worker.py`` (through the ``.pth`` file the package installs)."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shims import autoinstall

ROOT = Path(__file__).resolve().parent.parent
PTH_NAME = "taskqueue_emulator_autoinstall.pth"

WORKER = """\
from google.appengine.api import taskqueue

queue = taskqueue.Queue("pull-q")
queue.add(taskqueue.Task(payload="job", method="PULL"))
[task] = queue.lease_tasks(60, 10)
print(taskqueue.__name__, task.payload.decode())
"""


def installed_pth() -> Path | None:
    for directory in [*site.getsitepackages(), site.getusersitepackages()]:
        candidate = Path(directory) / PTH_NAME
        if candidate.is_file():
            return candidate
    return None


def run_worker(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "queue.yaml").write_text("queue:\n- name: pull-q\n  mode: pull\n")
    (tmp_path / "worker.py").write_text(WORKER)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TASKQUEUE_")}
    environment.update(TASKQUEUE_EMULATOR_QUEUE_YAML=str(tmp_path / "queue.yaml"), **env)
    return subprocess.run(
        [sys.executable, "worker.py"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


needs_pth = pytest.mark.skipif(
    installed_pth() is None,
    reason=f"{PTH_NAME} is not installed: run `python -m pip install -e .` first",
)


def test_the_installed_hook_is_the_packaged_one() -> None:
    pth = installed_pth()
    if pth is None:
        pytest.skip(f"{PTH_NAME} is not installed: run `python -m pip install -e .` first")
    assert pth.read_text() == (ROOT / "shims" / "autoinstall.pth").read_text()


@pytest.mark.e2e
@needs_pth
def test_an_unmodified_worker_runs_on_the_shim_when_asked(tmp_path: Path) -> None:
    result = run_worker(tmp_path, TASKQUEUE_EMULATOR_AUTO_INSTALL="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "shims.taskqueue job"


@pytest.mark.e2e
@needs_pth
def test_without_the_variable_googles_sdk_has_no_api_proxy(tmp_path: Path) -> None:
    result = run_worker(tmp_path)
    assert result.returncode == 1
    assert 'No api proxy found for service "taskqueue"' in result.stderr


@pytest.mark.e2e
@needs_pth
def test_a_bad_value_is_one_line_and_the_program_still_runs(tmp_path: Path) -> None:
    result = run_worker(tmp_path, TASKQUEUE_EMULATOR_AUTO_INSTALL="maybe")
    assert result.stderr.startswith(
        "taskqueue-emulator: TASKQUEUE_EMULATOR_AUTO_INSTALL: must be one of 1, sdk or 0, "
        "not 'maybe'"
    )
    assert 'No api proxy found for service "taskqueue"' in result.stderr  # ran unpatched


@pytest.mark.parametrize("value", ["", "0", "false", "No", "off"])
def test_off_values_install_nothing(value: str) -> None:
    assert autoinstall.run({"TASKQUEUE_EMULATOR_AUTO_INSTALL": value}) is None


def test_a_failing_installation_is_reported_not_raised(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TASKQUEUE_EMULATOR_HOST", raising=False)
    assert autoinstall.run({"TASKQUEUE_EMULATOR_AUTO_INSTALL": "sdk"}) is None
    message = capsys.readouterr().err
    assert message.startswith("taskqueue-emulator: TASKQUEUE_EMULATOR_AUTO_INSTALL: cannot install")
    assert "TASKQUEUE_EMULATOR_HOST" in message


@pytest.mark.e2e
def test_the_hook_line_is_cheap_without_the_variable() -> None:
    line = (ROOT / "shims" / "autoinstall.pth").read_text()
    assert line.startswith("import os;") and line.count("\n") == 1
    code = textwrap.dedent(f"""
        import os, sys
        os.environ.pop("TASKQUEUE_EMULATOR_AUTO_INSTALL", None)
        exec({line!r})
        assert "shims" not in sys.modules
        print("OK")
    """)
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "OK", result.stderr
