"""The pytest plugin's fixtures, exercised in inner pytest sessions (``pytester``)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from tests.shim_support import QUEUE_YAML

pytest_plugins = ["pytester"]
#: Every test runs an inner pytest session in a subprocess.
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent


def plugin_args() -> list[str]:
    """Load our plugin explicitly: inner sessions run with plugin autoloading off.

    Autoloading would import every installed plugin (Hypothesis, schemathesis, ...) in each
    inner session, several times the cost of the session itself; what the entry point does
    is tested once, by ``test_the_installed_entry_point_loads_the_plugin``."""
    return ["-p", "shims.pytest_plugin"]


def isolate(monkeypatch: pytest.MonkeyPatch, pythonpath: str = str(ROOT)) -> None:
    """Inner sessions import this checkout and load no plugin but the ones they name."""
    monkeypatch.setenv("PYTHONPATH", pythonpath)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    isolate(monkeypatch)
    monkeypatch.delenv("TASKQUEUE_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("TASKQUEUE_EMULATOR_QUEUE_YAML", raising=False)
    pytester.makefile(".yaml", queue=QUEUE_YAML)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider", *args)


EMBEDDED_TESTS = """
import sys

def test_first(taskqueue):
    assert sys.modules["google.appengine.api.taskqueue"] is taskqueue
    from google.appengine.api import taskqueue as imported
    assert imported is taskqueue
    task = taskqueue.Queue("pull-a").add(taskqueue.Task(payload="x", method="PULL"))
    assert task.name == "task1"
    assert task.headers["Host"] == "testbed.example.com"

def test_second_starts_empty(taskqueue):
    assert taskqueue.QueueStatistics.fetch("pull-a").tasks == 0
    assert taskqueue.Queue("pull-a").add(taskqueue.Task(payload="x", method="PULL")).name == "task1"

def test_without_the_fixture_nothing_is_installed():
    import shims
    assert not shims.is_installed()
"""


def test_taskqueue_fixture_with_the_command_line_option(inner: pytest.Pytester) -> None:
    inner.makepyfile(EMBEDDED_TESTS)
    result = run(inner, "--taskqueue-yaml", "queue.yaml")
    result.assert_outcomes(passed=3)


def test_queue_yaml_from_the_ini_file(inner: pytest.Pytester) -> None:
    inner.mkdir("config")
    (inner.path / "queue.yaml").rename(inner.path / "config" / "queue.yaml")
    inner.makeini("[pytest]\ntaskqueue_yaml = config/queue.yaml\n")
    inner.makepyfile(EMBEDDED_TESTS)
    run(inner).assert_outcomes(passed=3)


def test_queue_yaml_from_the_environment(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKQUEUE_EMULATOR_QUEUE_YAML", str(inner.path / "queue.yaml"))
    inner.makepyfile(EMBEDDED_TESTS)
    run(inner).assert_outcomes(passed=3)


def test_without_queue_yaml_only_default_exists(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        import pytest

        def test_unknown(taskqueue):
            with pytest.raises(taskqueue.UnknownQueueError):
                taskqueue.Queue("pull-a").lease_tasks(1, 1)
            taskqueue.add(payload="x")
        """)
    run(inner).assert_outcomes(passed=1)


def test_emulator_fixture_serves_a_real_emulator(inner: pytest.Pytester) -> None:
    inner.makepyfile("""
        import json, os, urllib.request
        from shims import testing

        def test_server(taskqueue_emulator):
            assert os.environ["TASKQUEUE_EMULATOR_HOST"] == taskqueue_emulator
            with urllib.request.urlopen(f"http://{taskqueue_emulator}/healthz") as reply:
                assert json.load(reply)["status"] == "ok"

        def test_with_the_shim(taskqueue_emulator, taskqueue):
            assert testing.backend().description == f"http://{taskqueue_emulator}"
            taskqueue.Queue("pull-a").add(taskqueue.Task(payload="x", method="PULL", name="a"))
            assert taskqueue.QueueStatistics.fetch("pull-a").tasks == 1

        def test_each_test_starts_empty(taskqueue, taskqueue_emulator):
            assert taskqueue.QueueStatistics.fetch("pull-a").tasks == 0
            taskqueue.Queue("pull-a").add(taskqueue.Task(payload="x", method="PULL", name="a"))
        """)
    run(inner, "--taskqueue-yaml", "queue.yaml").assert_outcomes(passed=3)


CLOCK_TESTS = """
import time
from shims import testing

START = 1_767_225_600_000_000

def check(taskqueue, clock):
    assert abs(clock.now() - time.time_ns() // 1000) < 120_000_000
    assert clock.now() % 1_000_000 == 0
    queue = taskqueue.Queue("pull-a")
    queue.add(taskqueue.Task(payload="x", method="PULL", name="a"))
    [task] = queue.lease_tasks(60, 10)  # ready at the frozen instant it was added
    assert task.name == "a" and task._eta_usec == clock.now() + 60_000_000
    clock.set(START)
    queue.add(taskqueue.Task(payload="y", method="PULL", name="b", countdown=30))
    clock.advance(29.999999)
    assert queue.lease_tasks(10, 1) == []
    clock.advance(0.000001)  # exactly 30 s later
    [task] = queue.lease_tasks(10, 1)
    assert task.name == "b" and task._eta_usec == START + 40_000_000
    assert clock.now() == START + 30_000_000

def test_embedded(taskqueue, taskqueue_clock):
    check(taskqueue, taskqueue_clock)

def test_remote(taskqueue_clock, taskqueue, taskqueue_emulator):
    check(taskqueue, taskqueue_clock)

def test_add_then_lease(taskqueue, taskqueue_clock):
    q = taskqueue.Queue("pull-a")
    q.add(taskqueue.Task(payload="x", method="PULL"))
    assert len(q.lease_tasks(60, 10)) == 1

def test_add_then_lease_remote(taskqueue, taskqueue_clock, taskqueue_emulator):
    q = taskqueue.Queue("pull-a")
    q.add(taskqueue.Task(payload="x", method="PULL"))
    assert len(q.lease_tasks(60, 10)) == 1

def test_clock_is_back_to_real_time_after_a_test(taskqueue_emulator, taskqueue):
    assert abs(testing.now_usec() - time.time_ns() // 1000) < 120_000_000
"""


def test_clock_fixture_on_both_backends(inner: pytest.Pytester) -> None:
    inner.makepyfile(CLOCK_TESTS)
    run(inner, "--taskqueue-yaml", "queue.yaml").assert_outcomes(passed=5)


def test_the_installed_entry_point_loads_the_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry_points = importlib.metadata.entry_points(group="pytest11")
    if not any(entry.value == "shims.pytest_plugin" for entry in entry_points):
        pytest.skip("the package is not installed: no pytest11 entry point to test")
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("TASKQUEUE_EMULATOR_HOST", raising=False)
    pytester.makepyfile(test_plugin="def test_fixture(taskqueue):\n    taskqueue.Queue()\n")

    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
