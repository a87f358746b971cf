"""Differential test: the same random sequences of pull-queue operations go through Google's
SDK + testbed stub and through the shim + emulator (embedded, and a live server), and every
result and exception type must agree.

Both sides share one fake clock (the stub's ``gettime`` and the SDK module's ``time.time``
on one side, the emulator's frozen clock on the other); it only moves in multiples of an
eighth of a second so float seconds and integer microseconds convert exactly.

Known boundary difference, dodged explicitly (docs/COMPATIBILITY.md): a task whose ETA is
exactly now is ready in the emulator (a lease of L s taken at T is held for [T, T+L)) but not
in the stub (which holds it through T+L). Before a lease or a lease change that would meet
such a task, both clocks move on by an eighth of a second, so the comparison never depends on
it; ``test_differential_frozen_clock.py`` covers the instant itself, driving the stub the way
testbed users do.

Known stub bug, normalised explicitly: with the upb protobuf runtime the stub does not return
the names it chose for unnamed tasks (legacy-taskqueue-api.md §4.12). The emulator always
returns them; for the comparison the SDK side's missing names are filled in with the
``task<N>`` names the stub stored (its counter, read before the add).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from shims import backends, testing
from tests.differential_support import DODGE_SECONDS, SETTINGS, Outcome, outcome
from tests.shim_support import (
    LIMITED,
    PULL,
    PULL_B,
    PUSH,
    embedded_backend,
    live_server,
    sdk_world,
    shim_world,
    write_queue_yaml,
)

pytestmark = pytest.mark.differential

PULL_QUEUES = [PULL, PULL_B, LIMITED]
#: Explicit task names; never of the ``task<N>`` form the auto-namer uses.
NAMES = ["alpha", "beta", "gamma", "delta", "omega"]
AUTO_NAMES = [f"task{i}" for i in range(1, 9)]
TAGS = [None, "a", "b"]
#: Where tasks are added and leased: mostly one queue, so leases find what adds left.
ADD_QUEUES = [PULL, PULL, PULL, LIMITED, PULL_B, "nope"]
TICKS = st.sampled_from([True, True, False])


task_specs = st.fixed_dictionaries(
    {
        "name": st.sampled_from([None, None, *NAMES]),
        "tag": st.sampled_from(TAGS),
        "countdown": st.one_of(st.none(), st.sampled_from([-5, 0, 1, 2, 30, 120])),
        "payload": st.binary(max_size=8),
    }
)


def make_task(module: Any, spec: dict[str, Any]) -> Any:
    kwargs = {k: v for k, v in spec.items() if v is not None and k != "payload"}
    return module.Task(payload=spec["payload"], method="PULL", **kwargs)


def added_view(task: Any) -> tuple[Any, ...]:
    eta = task._eta_usec if task.was_enqueued else None
    return (task.name, task.was_enqueued, eta, task.tag, task.payload, task.queue_name)


def leased_view(task: Any) -> tuple[Any, ...]:
    return (
        task.name,
        task.payload,
        task.tag,
        task._eta_usec,
        task.retry_count,
        task.queue_name,
        task.method,
        task.was_enqueued,
    )


def fill_stub_chosen_names(tasks: list[Any], first_id: int) -> list[str | None]:
    """The SDK side's names, with the stub's chosen ``task<N>`` for unnamed added tasks."""
    names: list[str | None] = []
    next_id = first_id
    for task in tasks:
        if task.was_enqueued and (task.name is None or task.name.startswith("task")):
            names.append(f"task{next_id}")
            next_id += 1
        else:
            names.append(task.name)
    return names


def stub_dict_view(task: dict[str, Any]) -> dict[str, Any]:
    """A GetTasks dict without the fields that legitimately differ (wall-clock eta_delta,
    whole-second creation time, the stub's protocol buffer)."""
    ignored = {"eta_delta", "creation_time_usec", "add_request_pb"}
    return {k: v for k, v in task.items() if k not in ignored}


class PullQueueComparison(RuleBasedStateMachine):
    """Drives both worlds; subclasses say which backend the shim uses."""

    backend: backends.ControlledBackend
    root: Path

    def __init__(self) -> None:
        super().__init__()
        self._stack = contextlib.ExitStack()
        self.sdk = self._stack.enter_context(sdk_world(self.root))
        self.shim = self._stack.enter_context(shim_world(self.backend))
        self.leased: list[tuple[Any, Any]] = []

    def teardown(self) -> None:
        self._stack.close()

    def both(self, action: Callable[[Any], Any]) -> tuple[Outcome, Outcome]:
        return outcome(lambda: action(self.sdk.taskqueue)), outcome(
            lambda: action(self.shim.taskqueue)
        )

    # -- add -----------------------------------------------------------------------------------

    @rule(
        queue=st.sampled_from(ADD_QUEUES),
        specs=st.lists(task_specs, min_size=1, max_size=4),
        single=st.booleans(),
    )
    def add(self, queue: str, specs: list[dict[str, Any]], single: bool) -> None:
        self._add(queue, specs, single)

    @rule(
        queue=st.sampled_from(ADD_QUEUES[:-1]), specs=st.lists(task_specs, min_size=1, max_size=4)
    )
    def add_then_tick(self, queue: str, specs: list[dict[str, Any]]) -> None:
        """A second add rule (adds are the food of every other rule), then a quarter second."""
        self._add(queue, specs, False)
        self.advance_clock(0.25)

    @rule(
        queue=st.sampled_from([PUSH, "default"]),
        name=st.none() | st.sampled_from(NAMES),
    )
    def add_pull_task_to_push_queue(self, queue: str, name: str | None) -> None:
        """Refused with InvalidQueueModeError; an unnamed task still uses up a task<N>."""
        spec = {"name": name, "tag": None, "countdown": None, "payload": b"x"}
        self._add(queue, [spec], True)

    def _add(self, queue: str, specs: list[dict[str, Any]], single: bool) -> None:
        sdk_tasks = [make_task(self.sdk.taskqueue, spec) for spec in specs]
        shim_tasks = [make_task(self.shim.taskqueue, spec) for spec in specs]
        first_id = self.sdk.stub._GetGroup()._next_task_id
        one = single and len(specs) == 1
        sdk_batch = sdk_tasks[0] if one else sdk_tasks
        shim_batch = shim_tasks[0] if one else shim_tasks
        sdk_result = outcome(lambda: self.sdk.taskqueue.Queue(queue).add(sdk_batch))
        shim_result = outcome(lambda: self.shim.taskqueue.Queue(queue).add(shim_batch))
        assert sdk_result[0] == shim_result[0]
        sdk_views = [added_view(t) for t in sdk_tasks]
        names = fill_stub_chosen_names(sdk_tasks, first_id)
        sdk_views = [(name, *view[1:]) for name, view in zip(names, sdk_views, strict=True)]
        assert sdk_views == [added_view(t) for t in shim_tasks]

    # -- lease ---------------------------------------------------------------------------------

    @rule(
        queue=st.sampled_from([*ADD_QUEUES, "default"]),
        lease_seconds=st.sampled_from([0, 1, 10, 30, 60.5]),
        max_tasks=st.integers(1, 5),
        tick=TICKS,
    )
    def lease(self, queue: str, lease_seconds: float, max_tasks: int, tick: bool) -> None:
        self._lease(queue, lambda tq: tq.Queue(queue).lease_tasks(lease_seconds, max_tasks), tick)

    @rule(
        queue=st.sampled_from([PULL, PULL, LIMITED]),
        lease_seconds=st.sampled_from([0, 10, 30]),
        max_tasks=st.integers(1, 5),
        tag=st.sampled_from([None, "", "a", "b", "zz"]),
        tick=TICKS,
    )
    def lease_by_tag(
        self, queue: str, lease_seconds: float, max_tasks: int, tag: Any, tick: bool
    ) -> None:
        self._lease(
            queue,
            lambda tq: tq.Queue(queue).lease_tasks_by_tag(lease_seconds, max_tasks, tag=tag),
            tick,
        )

    def _dodge_boundary(self, queue: str, names: Any = None) -> None:
        """Step both clocks off an instant where a task of ``queue`` (one of ``names``, if
        given) has ``eta == now``: the one instant where the stub and the emulator differ."""
        if queue not in PULL_QUEUES:
            return
        now = testing.now_usec()
        if any(
            task["eta_usec"] == now and (names is None or task["name"] in names)
            for task in testing.GetTasks(queue)
        ):
            self.advance_clock(DODGE_SECONDS)

    def _lease(self, queue: str, action: Callable[[Any], Any], tick: bool) -> None:
        """Lease on both sides; with ``tick`` the clock first moves a quarter second."""
        if tick:
            self.advance_clock(0.25)
        self._dodge_boundary(queue)
        (sdk_error, sdk_tasks), (shim_error, shim_tasks) = self.both(action)
        assert sdk_error == shim_error
        if sdk_error is None:
            assert [leased_view(t) for t in sdk_tasks] == [leased_view(t) for t in shim_tasks]
            self.leased.extend(zip(sdk_tasks, shim_tasks, strict=True))

    # -- modify_task_lease -----------------------------------------------------------------------

    @precondition(lambda self: self.leased)
    @rule(index=st.integers(0, 50), lease_seconds=st.sampled_from([0, 5, 30, 120]))
    def modify_lease(self, index: int, lease_seconds: float) -> None:
        sdk_task, shim_task = self.leased[index % len(self.leased)]
        self._dodge_boundary(shim_task.queue_name, [shim_task.name])
        sdk_queue = self.sdk.taskqueue.Queue(sdk_task.queue_name)
        shim_queue = self.shim.taskqueue.Queue(shim_task.queue_name)
        sdk_error, _ = outcome(lambda: sdk_queue.modify_task_lease(sdk_task, lease_seconds))
        shim_error, _ = outcome(lambda: shim_queue.modify_task_lease(shim_task, lease_seconds))
        assert sdk_error == shim_error
        assert sdk_task._eta_usec == shim_task._eta_usec

    @rule(
        queue=st.sampled_from(PULL_QUEUES),
        name=st.sampled_from(NAMES + AUTO_NAMES),
        lease_seconds=st.sampled_from([0, 10]),
    )
    def modify_lease_of_a_fresh_task(self, queue: str, name: str, lease_seconds: float) -> None:
        self._dodge_boundary(queue, [name])

        def action(tq: Any) -> None:
            task = tq.Task(name=name, payload=b"", method="PULL")
            tq.Queue(queue).modify_task_lease(task, lease_seconds)

        (sdk_error, _), (shim_error, _) = self.both(action)
        assert sdk_error == shim_error

    # -- delete and purge ------------------------------------------------------------------------

    @precondition(lambda self: self.leased)
    @rule(indexes=st.lists(st.integers(0, 50), min_size=1, max_size=3))
    def delete_leased(self, indexes: list[int]) -> None:
        pairs = [self.leased[i % len(self.leased)] for i in indexes]
        queue = pairs[0][0].queue_name
        sdk_tasks = [p[0] for p in pairs if p[0].queue_name == queue]
        shim_tasks = [p[1] for p in pairs if p[1].queue_name == queue]
        sdk_error, _ = outcome(lambda: self.sdk.taskqueue.Queue(queue).delete_tasks(sdk_tasks))
        shim_error, _ = outcome(lambda: self.shim.taskqueue.Queue(queue).delete_tasks(shim_tasks))
        assert sdk_error == shim_error
        assert [t.was_deleted for t in sdk_tasks] == [t.was_deleted for t in shim_tasks]

    @rule(
        queue=st.sampled_from([*PULL_QUEUES, "nope"]),
        names=st.lists(st.sampled_from([*NAMES, *AUTO_NAMES, "never"]), max_size=4),
        single=st.booleans(),
    )
    def delete_by_name(self, queue: str, names: list[str], single: bool) -> None:
        argument: Any = names[0] if single and names else names
        (sdk_error, sdk_result), (shim_error, shim_result) = self.both(
            lambda tq: tq.Queue(queue).delete_tasks_by_name(argument)
        )
        assert sdk_error == shim_error
        if sdk_error is None and isinstance(argument, str):
            assert sdk_result.was_deleted == shim_result.was_deleted
        elif sdk_error is None:
            assert [t.was_deleted for t in sdk_result] == [t.was_deleted for t in shim_result]

    @rule(queue=st.sampled_from([*PULL_QUEUES, "nope"]))
    def purge(self, queue: str) -> None:
        (sdk_error, _), (shim_error, _) = self.both(lambda tq: tq.Queue(queue).purge())
        assert sdk_error == shim_error

    # -- statistics and time -----------------------------------------------------------------------

    @rule(queues=st.lists(st.sampled_from([*PULL_QUEUES, "nope"]), min_size=1, max_size=3))
    def statistics(self, queues: list[str]) -> None:
        (sdk_error, sdk_stats), (shim_error, shim_stats) = self.both(
            lambda tq: tq.QueueStatistics.fetch(queues)
        )
        assert sdk_error == shim_error
        assert [(s.tasks, s.oldest_eta_usec) for s in sdk_stats] == [
            (s.tasks, s.oldest_eta_usec) for s in shim_stats
        ]

    @rule(seconds=st.sampled_from([0.125, 0.25, 0.5, 1, 5, 30, 61, 3600]))
    def advance_clock(self, seconds: float) -> None:
        self.sdk.advance(seconds)
        self.shim.advance(seconds)

    @rule(queue=st.sampled_from(PULL_QUEUES))
    def filtered_tasks(self, queue: str) -> None:
        def view(task: Any) -> tuple[Any, ...]:
            return (task.name, task.method, task.url, task.payload, task.eta, task.headers)

        sdk_tasks = self.sdk.stub.get_filtered_tasks(queue_names=queue)
        shim_tasks = testing.get_filtered_tasks(queue_names=queue)
        assert [view(t) for t in sdk_tasks] == [view(t) for t in shim_tasks]

    @invariant()
    def stored_tasks_agree(self) -> None:
        for queue in PULL_QUEUES:
            sdk_tasks = [stub_dict_view(t) for t in self.sdk.stub.GetTasks(queue)]
            shim_tasks = [stub_dict_view(t) for t in testing.GetTasks(queue)]
            assert sdk_tasks == shim_tasks


def run_comparison(backend: backends.ControlledBackend, root: Path) -> None:
    machine = type("Comparison", (PullQueueComparison,), {"backend": backend, "root": root})
    run_state_machine_as_test(machine, settings=SETTINGS)  # type: ignore[no-untyped-call]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_queue_yaml(tmp_path)
    return tmp_path


def test_shim_on_the_embedded_emulator_matches_google_sdk(root: Path) -> None:
    backend = embedded_backend(root / "queue.yaml")
    try:
        run_comparison(backend, root)
    finally:
        backend.close()


@pytest.mark.e2e
def test_shim_on_a_live_emulator_matches_google_sdk(root: Path) -> None:
    with live_server(root / "queue.yaml") as server:
        backend = server.backend()
        try:
            run_comparison(backend, root)
        finally:
            backend.close()
