"""The opt-in production behaviours through the shim, the same on the embedded and on the
remote backend: the lease rate limit, ``fail_next`` with exactly the SDK's exceptions (and
nothing changed), random faults replayed by their seed, the visibility delay and
``--like-production``. Every clock is frozen; time moves with ``testing.advance_clock``."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator.core.faults import FaultPlan
from emulator.domain.errors import DEADLINE_EXCEEDED
from emulator.domain.faults import FaultCall, FaultRule, parse_fault_spec
from emulator.domain.model import AddRequest, StoredTask
from emulator.domain.production import ProductionOptions, resolve_production
from shims import apiproxy_errors, testing
from shims import clock as client_clock
from shims import taskqueue as tq
from shims.backends.protocol import ControlledBackend
from tests.conftest import BackendFactory
from tests.shim_support import PULL, PULL_B, PUSH, SEC, T0, live_server, shim_world

NOTHING = ProductionOptions()
#: Google's SDK is loaded by other tests of the session, so install() warns that it replaces
#: it: expected here.
QUIET_INSTALL = pytest.mark.filterwarnings(
    r"ignore:shims\.install\(\). Google's SDK module:RuntimeWarning"
)


def pull_task(name: str | None = None, **kwargs: Any) -> Any:
    return tq.Task(payload=b"x", method="PULL", name=name, **kwargs)


def snapshot(backend: ControlledBackend) -> dict[str, list[StoredTask]]:
    return {queue: backend.tasks(queue) for queue in (PULL, PULL_B)}


# -- the lease rate limit ------------------------------------------------------------------------


def test_leases_beyond_the_limit_in_one_second_return_no_tasks(
    production_backend: BackendFactory,
) -> None:
    with shim_world(production_backend(ProductionOptions(lease_rate_limit=3))):
        queue = tq.Queue(PULL)
        queue.add([pull_task(tag="a") for _ in range(10)])

        # lease_tasks and lease_tasks_by_tag share the queue's three calls a second
        counts = [len(queue.lease_tasks(60, 1)) for _ in range(2)]
        counts += [len(queue.lease_tasks_by_tag(60, 1, "a")) for _ in range(3)]

        assert counts == [1, 1, 1, 0, 0]
        assert testing.rate_limited_leases(PULL) == 2
        assert tq.QueueStatistics.fetch(PULL).executed_last_minute == 3
        assert tq.QueueStatistics.fetch(PULL).tasks == 10  # none was touched by the refusals
        testing.advance_clock(1)
        assert [len(queue.lease_tasks(60, 1)) for _ in range(4)] == [1, 1, 1, 0]
        assert testing.rate_limited_leases(PULL) == 3


def test_each_queue_has_its_own_limit_and_bad_leases_keep_their_errors(
    production_backend: BackendFactory,
) -> None:
    with shim_world(production_backend(ProductionOptions(lease_rate_limit=1))):
        tq.Queue(PULL).add(pull_task("a"))
        tq.Queue(PULL_B).add(pull_task("b"))
        assert [t.name for t in tq.Queue(PULL).lease_tasks(60, 5)] == ["a"]
        assert tq.Queue(PULL).lease_tasks(60, 5) == []

        assert [t.name for t in tq.Queue(PULL_B).lease_tasks(60, 5)] == ["b"]
        for _ in range(2):
            with pytest.raises(tq.InvalidQueueModeError):
                tq.Queue(PUSH).lease_tasks(60, 1)
            with pytest.raises(tq.UnknownQueueError):
                tq.Queue("nope").lease_tasks(60, 1)
        assert testing.rate_limited_leases(PULL_B) == 0


def test_reading_the_count_is_a_statistics_call_that_a_fault_can_fail(
    production_backend: BackendFactory,
) -> None:
    with shim_world(production_backend(ProductionOptions(lease_rate_limit=1))):
        testing.fail_next("stats", "TransientError")
        with pytest.raises(tq.TransientError):
            testing.rate_limited_leases(PULL)
        assert testing.rate_limited_leases(PULL) == 0


def test_without_a_limit_nothing_is_counted(production_backend: BackendFactory) -> None:
    with shim_world(production_backend(NOTHING)):
        tq.Queue(PULL).add([pull_task() for _ in range(30)])
        assert sum(len(tq.Queue(PULL).lease_tasks(60, 1)) for _ in range(30)) == 30
        assert testing.rate_limited_leases(PULL) == 0


# -- fail_next -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        ("TransientError", tq.TransientError),
        (tq.TransientError, tq.TransientError),
        ("TRANSIENT_ERROR", tq.TransientError),
        ("DeadlineExceededError", apiproxy_errors.DeadlineExceededError),
        (apiproxy_errors.DeadlineExceededError, apiproxy_errors.DeadlineExceededError),
        (DEADLINE_EXCEEDED, apiproxy_errors.DeadlineExceededError),
        ("TASK_LEASE_EXPIRED", tq.TaskLeaseExpiredError),
        ("INTERNAL_ERROR", tq.InternalError),
        ("UNKNOWN_TASK", tq.Error),
        ("DATASTORE_ERROR", tq.DatastoreError),
    ],
)
def test_fail_next_raises_exactly_what_the_sdk_raises(
    production_backend: BackendFactory, error: Any, raised: type[Exception]
) -> None:
    with shim_world(production_backend(NOTHING)):
        queue = tq.Queue(PULL)
        queue.add(pull_task("t"))
        testing.fail_next("lease", error)

        with pytest.raises(raised) as caught:
            queue.lease_tasks(60, 1)

        assert type(caught.value) is raised
        assert "injected fault: lease on queue 'pull-a' fails with" in str(caught.value)
        [task] = queue.lease_tasks(60, 1)  # the fault is used up; the failed lease did nothing
        assert (task.name, task.retry_count) == ("t", 1)


@QUIET_INSTALL
def test_the_deadline_is_the_one_legacy_code_catches(production_backend: BackendFactory) -> None:
    import shims

    shims.install()
    try:
        from google.appengine.runtime import apiproxy_errors as installed

        with shim_world(production_backend(NOTHING)):
            testing.fail_next("stats", "DeadlineExceededError")
            with pytest.raises(installed.DeadlineExceededError) as caught:
                tq.QueueStatistics.fetch(PULL)
        assert str(caught.value).startswith(
            "The API call taskqueue.FetchQueueStats() took too long to respond and was "
            "cancelled. -- injected fault: stats on queue 'pull-a'"
        )
    finally:
        shims.uninstall()


CALLS: dict[str, Callable[[Any, Any], object]] = {
    "add": lambda queue, task: queue.add([pull_task("n1"), pull_task("n2")]),
    "lease": lambda queue, task: queue.lease_tasks_by_tag(60, 10, "a"),
    "modify_lease": lambda queue, task: queue.modify_task_lease(task, 120),
    "delete": lambda queue, task: queue.delete_tasks(task),
    "purge": lambda queue, task: queue.purge(),
    "stats": lambda queue, task: queue.fetch_statistics(),
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("error", ["TransientError", "DeadlineExceededError"])
def test_every_call_can_fail_and_a_failed_call_changes_nothing(
    production_backend: BackendFactory, call: str, error: str
) -> None:
    with shim_world(production_backend(NOTHING)) as shim:
        queue = tq.Queue(PULL)
        queue.add([pull_task("t", tag="a"), pull_task("u", tag="a")])
        [leased] = queue.lease_tasks(60, 1)
        token, before = leased.eta_posix, snapshot(shim.backend)
        testing.fail_next(call, error)

        with pytest.raises((tq.TransientError, apiproxy_errors.DeadlineExceededError)):
            CALLS[call](queue, leased)

        assert snapshot(shim.backend) == before
        assert (leased.eta_posix, leased.was_deleted) == (token, False)
        name = "TRANSIENT_ERROR" if error == "TransientError" else DEADLINE_EXCEEDED
        assert testing.injected_faults() == {(call, name): 1}
        CALLS[call](queue, leased)  # the same call now works
        assert testing.pending_faults() == []


def test_a_fault_on_add_fails_the_whole_batch(production_backend: BackendFactory) -> None:
    with shim_world(production_backend(NOTHING)):
        tasks = [pull_task(), pull_task("named"), pull_task()]
        testing.fail_next("add", "TransientError")

        with pytest.raises(tq.TransientError):
            tq.Queue(PULL).add(tasks)

        assert [t.was_enqueued for t in tasks] == [False, False, False]
        assert testing.GetTasks(PULL) == []
        assert [t.name for t in tq.Queue(PULL).add(tasks)] == ["task1", "named", "task2"]


def test_a_fault_for_one_queue_leaves_the_other_queues_alone(
    production_backend: BackendFactory,
) -> None:
    with shim_world(production_backend(NOTHING)):
        tq.Queue(PULL).add(pull_task("a"))
        tq.Queue(PULL_B).add(pull_task("b"))
        testing.fail_next("lease", "TransientError", count=2, queue=PULL)

        assert [t.name for t in tq.Queue(PULL_B).lease_tasks(60, 1)] == ["b"]
        for _ in range(2):
            with pytest.raises(tq.TransientError):
                tq.Queue(PULL).lease_tasks(60, 1)
        assert [t.name for t in tq.Queue(PULL).lease_tasks(60, 1)] == ["a"]


def test_pending_and_injected_faults_are_reported_cleared_and_reset(
    production_backend: BackendFactory,
) -> None:
    with shim_world(production_backend(NOTHING)):
        testing.fail_next("lease", "TransientError", count=2, queue=PULL)
        testing.fail_next("delete", "DEADLINE_EXCEEDED")
        assert testing.pending_faults() == [
            FaultRule(FaultCall.LEASE, "TRANSIENT_ERROR", 2, PULL),
            FaultRule(FaultCall.DELETE, DEADLINE_EXCEEDED),
        ]

        with pytest.raises(tq.TransientError):
            tq.Queue(PULL).lease_tasks(60, 1)
        assert testing.pending_faults()[0].count == 1
        assert testing.injected_faults() == {("lease", "TRANSIENT_ERROR"): 1}

        testing.clear_faults()
        assert (testing.pending_faults(), testing.injected_faults()) == ([], {})
        assert tq.Queue(PULL).lease_tasks(60, 1) == []
        testing.fail_next("purge", "TransientError")
        testing.reset()
        assert testing.pending_faults() == []
        tq.Queue(PULL).purge()


def test_bad_arguments_to_fail_next_say_what_is_wrong(production_backend: BackendFactory) -> None:
    with shim_world(production_backend(NOTHING)):
        with pytest.raises(ValueError, match="call must be one of add, lease, modify_lease"):
            testing.fail_next("lease_by_tag", "TransientError")
        with pytest.raises(ValueError, match="error must be TransientError, Deadline"):
            testing.fail_next("lease", "Timeout")
        with pytest.raises(ValueError, match="error must be"):
            testing.fail_next("lease", KeyError)
        with pytest.raises(ValueError, match="count must be a whole number from 1 to 1000000"):
            testing.fail_next("lease", "TransientError", count=0)
        with pytest.raises(tq.UnknownQueueError, match="'nope'"):
            testing.fail_next("lease", "TransientError", queue="nope")
        with pytest.raises(tq.InvalidQueueNameError):
            testing.fail_next("lease", "TransientError", queue="a_b")
        assert testing.pending_faults() == []


@pytest.mark.e2e
def test_fail_next_needs_test_control_on_a_remote_emulator(root: Path) -> None:
    with live_server(root / "queue.yaml", test_control=False) as running:
        backend = running.backend()
        with pytest.raises(testing.ControlUnavailableError, match="--enable-test-control"):
            backend.fail_next(FaultRule(FaultCall.LEASE, "TRANSIENT_ERROR"))
        with pytest.raises(testing.ControlUnavailableError):
            backend.fault_report()
        backend.close()


# -- random faults ---------------------------------------------------------------------------------


def test_random_faults_replay_with_their_seed_on_either_backend(
    production_backend: BackendFactory,
) -> None:
    rates = parse_fault_spec("lease=TRANSIENT_ERROR:0.3,lease=DEADLINE_EXCEEDED:0.2")
    backend = production_backend(ProductionOptions(fault_rates=rates, fault_seed=11))
    oracle = FaultPlan(rates, seed=11)
    expected = [
        decision.error if decision else "ok"
        for decision in (oracle.take(FaultCall.LEASE, (PULL,)) for _ in range(60))
    ]

    outcomes = []
    with shim_world(backend):  # shim_world resets, which restarts the sequence
        for _ in range(60):
            try:
                tq.Queue(PULL).lease_tasks(60, 1)
                outcomes.append("ok")
            except tq.TransientError:
                outcomes.append("TRANSIENT_ERROR")
            except apiproxy_errors.DeadlineExceededError:
                outcomes.append(DEADLINE_EXCEEDED)
        report = backend.fault_report()

    assert outcomes == expected
    assert {"ok", "TRANSIENT_ERROR", DEADLINE_EXCEEDED} == set(outcomes)
    assert report.seed == 11 and report.rates == rates
    assert report.injected_count(FaultCall.LEASE, DEADLINE_EXCEEDED) == outcomes.count(
        DEADLINE_EXCEEDED
    )


# -- the visibility delay --------------------------------------------------------------------------


def test_new_tasks_are_leasable_only_after_the_visibility_delay(
    production_backend: BackendFactory,
) -> None:
    with shim_world(production_backend(ProductionOptions(add_visibility_delay_seconds=2))):
        past = datetime.datetime.fromtimestamp(T0 / SEC - 60, tz=datetime.timezone.utc)
        tasks = tq.Queue(PULL).add(
            [
                pull_task("plain"),
                pull_task("short", countdown=1),
                pull_task("long", countdown=5),
                pull_task("past", eta=past),
            ]
        )
        tq.Queue(PUSH).add(tq.Task(url="/w", name="push"))

        assert {t.name: t._eta_usec - T0 for t in tasks} == {
            "plain": 2 * SEC,
            "short": 2 * SEC,
            "long": 5 * SEC,
            "past": 2 * SEC,
        }
        assert testing.GetTasks(PUSH)[0]["eta_usec"] == T0  # push tasks are never leased
        testing.advance_clock(1.999999)
        assert tq.Queue(PULL).lease_tasks(60, 10) == []
        testing.advance_clock(0.000001)
        leased = tq.Queue(PULL).lease_tasks(60, 10)
        assert [t.name for t in leased] == ["past", "plain", "short"]


# -- like production -------------------------------------------------------------------------------


def test_like_production_has_productions_figures_and_individual_settings_win(
    production_backend: BackendFactory,
) -> None:
    options = resolve_production(like_production=True, inject_faults="none")
    with shim_world(production_backend(options)):
        tq.Queue(PULL).add([pull_task() for _ in range(20)])
        assert tq.Queue(PULL).lease_tasks(60, 1) == []  # the 1 s visibility delay
        testing.advance_clock(1)

        counts = [len(tq.Queue(PULL).lease_tasks(60, 1)) for _ in range(12)]

        assert counts == [1] * 10 + [0] * 2  # 10 calls a second
        assert testing.rate_limited_leases(PULL) == 2

    seeded = production_backend(resolve_production(like_production=True, inject_faults_seed=1))
    report = seeded.fault_report()
    assert report.rates == parse_fault_spec(
        "lease=TRANSIENT_ERROR:0.02,lease=DEADLINE_EXCEEDED:0.01"
    )
    assert report.seed == 1


# -- the embedded emulator's settings: install() and the TASKQUEUE_EMULATOR_* variables --------


@pytest.fixture
def installed(root: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The shim installed on an automatic embedded backend; undone afterwards."""
    import shims

    monkeypatch.delenv("TASKQUEUE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("TASKQUEUE_EMULATOR_QUEUE_YAML", str(root / "queue.yaml"))
    yield shims
    shims.uninstall()


def _leases_in_one_second(count: int) -> list[int]:
    testing.reset()
    testing.set_clock(T0)
    tq.Queue(PULL).add([pull_task() for _ in range(count)])
    return [len(tq.Queue(PULL).lease_tasks(60, 1)) for _ in range(count)]


@QUIET_INSTALL
def test_the_variables_configure_the_embedded_emulator(
    installed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKQUEUE_EMULATOR_LEASE_RATE_LIMIT", "2")
    monkeypatch.setenv("TASKQUEUE_EMULATOR_INJECT_FAULTS", "purge=INTERNAL_ERROR:1")
    monkeypatch.setenv("TASKQUEUE_EMULATOR_INJECT_FAULTS_SEED", "8")
    installed.install()

    assert _leases_in_one_second(3) == [1, 1, 0]
    with pytest.raises(tq.InternalError, match="--inject-faults purge=INTERNAL_ERROR:1"):
        tq.Queue(PULL).purge()
    assert testing.backend().fault_report().seed == 8


@QUIET_INSTALL
def test_install_arguments_win_over_the_variables(
    installed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKQUEUE_EMULATOR_LEASE_RATE_LIMIT", "1")
    monkeypatch.setenv("TASKQUEUE_EMULATOR_LIKE_PRODUCTION", "1")
    installed.install(lease_rate_limit=3, inject_faults="none", add_visibility_delay=0)

    assert _leases_in_one_second(4) == [1, 1, 1, 0]
    assert testing.backend().fault_report().rates == ()

    installed.install(like_production=False)  # reconfigures: the variable's limit of 1 stays
    assert _leases_in_one_second(2) == [1, 0]


@QUIET_INSTALL
def test_a_bad_variable_or_argument_names_itself(
    installed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKQUEUE_EMULATOR_ADD_VISIBILITY_DELAY", "later")
    with pytest.raises(ValueError, match="TASKQUEUE_EMULATOR_ADD_VISIBILITY_DELAY: must be"):
        installed.install()
    monkeypatch.delenv("TASKQUEUE_EMULATOR_ADD_VISIBILITY_DELAY")
    with pytest.raises(ValueError, match="lease_rate_limit: must be a whole number"):
        installed.install(lease_rate_limit=-1)
    with pytest.raises(ValueError, match="inject_faults: 'lease=1' is not call=ERROR:RATE"):
        installed.install(inject_faults="lease=1")


def test_the_variables_apply_when_the_embedded_backend_is_built(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shims import backends

    monkeypatch.delenv("TASKQUEUE_EMULATOR_HOST", raising=False)
    backends.configure_embedded(str(root / "queue.yaml"))  # production: from the variables
    monkeypatch.setenv("TASKQUEUE_EMULATOR_ADD_VISIBILITY_DELAY", "4")
    try:
        testing.set_clock(T0)
        [result] = backends.current().add(PULL, [AddRequest(b"x")], deadline=1)
        assert result.eta_usec == T0 + 4 * SEC
    finally:
        backends.close_all()
        client_clock.set_source(None)
