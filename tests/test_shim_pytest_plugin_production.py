"""The pytest plugin's production settings, in inner pytest sessions (``pytester``): the
``--taskqueue-*`` options, ini options, ``TASKQUEUE_EMULATOR_*`` variables and the
``@pytest.mark.taskqueue(...)`` marker, for the embedded ``taskqueue`` fixture and the
``taskqueue_emulator`` server; ``fail_next`` in both."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shim_support import QUEUE_YAML
from tests.test_shim_pytest_plugin import isolate, plugin_args

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent

#: A test module run with each fixture: ``taskqueue`` alone (embedded) or with the server.
LIMITED = """
from shims import testing

def test_the_limit(taskqueue, taskqueue_clock{server}):
    queue = taskqueue.Queue("pull-a")
    queue.add([taskqueue.Task(payload="x", method="PULL") for _ in range(3)])
    assert [len(queue.lease_tasks(60, 1)) for _ in range(3)] == {expected}
    assert testing.rate_limited_leases("pull-a") == {refused}
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    isolate(monkeypatch)
    for name in ("HOST", "QUEUE_YAML", "LEASE_RATE_LIMIT", "INJECT_FAULTS", "LIKE_PRODUCTION"):
        monkeypatch.delenv(f"TASKQUEUE_EMULATOR_{name}", raising=False)
    pytester.makefile(".yaml", queue=QUEUE_YAML)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        *plugin_args(), "-p", "no:cacheprovider", "--taskqueue-yaml", "queue.yaml", *args
    )


def limited(server: bool, limit: int | None) -> str:
    expected, refused = (
        ([1, 1, 1], 0) if limit is None else ([1] * limit + [0] * (3 - limit), 3 - limit)
    )
    return LIMITED.format(
        server=", taskqueue_emulator" if server else "", expected=expected, refused=refused
    )


@pytest.mark.parametrize("server", [False, True], ids=["embedded", "server"])
def test_the_option_limits_leases(inner: pytest.Pytester, server: bool) -> None:
    inner.makepyfile(test_limit=limited(server, 2))

    run(inner, "--taskqueue-lease-rate-limit", "2").assert_outcomes(passed=1)
    inner.makepyfile(test_limit=limited(server, None))
    run(inner).assert_outcomes(passed=1)  # off by default


@pytest.mark.parametrize("server", [False, True], ids=["embedded", "server"])
def test_the_ini_option_and_the_variable(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: bool
) -> None:
    inner.makeini("[pytest]\ntaskqueue_lease_rate_limit = 1\n")
    inner.makepyfile(test_limit=limited(server, 1))
    run(inner).assert_outcomes(passed=1)

    inner.makeini("[pytest]\n")
    monkeypatch.setenv("TASKQUEUE_EMULATOR_LEASE_RATE_LIMIT", "2")
    inner.makepyfile(test_limit=limited(server, 2))
    run(inner).assert_outcomes(passed=1)
    run(inner, "--taskqueue-lease-rate-limit", "0").assert_outcomes(failed=1)  # 0: no limit


MARKED = """
import pytest
from shims import testing

@pytest.mark.taskqueue(add_visibility_delay=5, inject_faults="stats=TRANSIENT_ERROR:1",
                       inject_faults_seed=3)
def test_marked(taskqueue, taskqueue_clock{server}):
    task = taskqueue.Queue("pull-a").add(taskqueue.Task(payload="x", method="PULL"))
    assert task.eta_posix == taskqueue_clock.now() / 1e6 + 5
    with pytest.raises(taskqueue.TransientError):
        taskqueue.QueueStatistics.fetch("pull-a")
    assert testing.injected_faults() == {{("stats", "TRANSIENT_ERROR"): 1}}

def test_unmarked(taskqueue, taskqueue_clock{server}):
    task = taskqueue.Queue("pull-a").add(taskqueue.Task(payload="x", method="PULL"))
    assert task.eta_posix == taskqueue_clock.now() / 1e6
    assert taskqueue.QueueStatistics.fetch("pull-a").tasks == 1

@pytest.mark.taskqueue(like_production=True, inject_faults="none")
def test_like_production(taskqueue, taskqueue_clock{server}):
    queue = taskqueue.Queue("pull-a")
    queue.add([taskqueue.Task(payload="x", method="PULL") for _ in range(12)])
    taskqueue_clock.advance(1)
    assert sum(len(queue.lease_tasks(60, 1)) for _ in range(12)) == 10
"""


@pytest.mark.parametrize("server", [False, True], ids=["embedded", "server"])
def test_the_marker_sets_the_behaviours_of_one_test(inner: pytest.Pytester, server: bool) -> None:
    inner.makepyfile(test_marked=MARKED.format(server=", taskqueue_emulator" if server else ""))

    run(inner).assert_outcomes(passed=3)


FAULTS = """
import pytest
from shims import testing

def test_fail_next(taskqueue{server}):
    # imported once the fixture installed the shim (at the top of the module, it would be
    # Google's module, whose classes the shim does not raise: install it in conftest.py)
    from google.appengine.runtime import apiproxy_errors

    queue = taskqueue.Queue("pull-a")
    queue.add(taskqueue.Task(payload="x", method="PULL", name="t"))
    testing.fail_next("lease", "DeadlineExceededError")
    testing.fail_next("lease", taskqueue.TransientError)
    with pytest.raises(apiproxy_errors.DeadlineExceededError):
        queue.lease_tasks(60, 1)
    with pytest.raises(taskqueue.TransientError):
        queue.lease_tasks(60, 1)
    assert [t.name for t in queue.lease_tasks(60, 1)] == ["t"]
    testing.fail_next("delete", "TransientError")

def test_the_next_test_starts_without_faults(taskqueue{server}):
    assert testing.pending_faults() == []
    assert taskqueue.Queue("pull-a").delete_tasks_by_name("t").was_deleted is False
"""


@pytest.mark.parametrize("server", [False, True], ids=["embedded", "server"])
def test_fail_next_in_fixture_tests(inner: pytest.Pytester, server: bool) -> None:
    inner.makepyfile(test_faults=FAULTS.format(server=", taskqueue_emulator" if server else ""))

    run(inner).assert_outcomes(passed=2)


def test_bad_settings_are_usage_errors_naming_them(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_any="def test_any(taskqueue):\n    pass\n")

    option = run(inner, "--taskqueue-lease-rate-limit", "lots")
    assert option.ret != 0
    option.stderr.fnmatch_lines(
        ["ERROR: taskqueue fixtures: --taskqueue-lease-rate-limit: must be a whole number*'lots'"]
    )

    inner.makeini("[pytest]\ntaskqueue_inject_faults = lease=SLOW:1\n")
    ini = run(inner)
    assert ini.ret != 0
    ini.stderr.fnmatch_lines(
        ["ERROR: taskqueue fixtures: ini option taskqueue_inject_faults: 'lease=SLOW:1': error*"]
    )

    inner.makeini("[pytest]\n")
    inner.makepyfile(
        test_any="import pytest\n\n@pytest.mark.taskqueue(rate=3)\n"
        "def test_any(taskqueue):\n    pass\n"
    )
    marked = run(inner)
    assert marked.ret != 0
    marked.stdout.fnmatch_lines(["*@pytest.mark.taskqueue: unknown argument 'rate'*"])
