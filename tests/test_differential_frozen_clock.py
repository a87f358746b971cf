"""Differential test, with the oracle driven the way testbed users drive it.

Google's SDK runs on the real wall clock (its ``time.time()`` is not patched), and the
stub's clock (``gettime``) is frozen a little *after* it, then moved by whole minutes. The
emulator's clock is frozen at the same instant and moved the same way. Our side is the shim
(embedded and on a live server) and Google's SDK itself through ``/rpc_http``.

This is where the frozen-clock readiness rule shows: the SDK stamps a task added without an
ETA with the wall-clock time W, which the stub compares with its frozen F > W, so the task
is leasable at once in both worlds (the emulator stamps the frozen F and leases ``eta <= now``).

What legitimately differs, and how it is compared:

* ETAs the client stamped: the stub stores W (+ countdown), the emulator F (+ countdown;
  through ``/rpc_http``, W moved onto the frozen clock). Ours is never earlier, and never
  later than the frozen clock is ahead of the wall clock; everything the server stamps (lease
  expiries, lease changes) is compared exactly.
* Countdowns (a negative one too) are only added before the first clock move: afterwards
  the stub measures them from the wall clock, which stays behind its moved clock ("luck", as
  the issue puts it), while the emulator measures them from its own clock.
* Order: every add (but the add-then-lease rule) is followed by a minute, so adds never tie
  in ETA (a tie is broken by name, the stub's wall-clock stamps by arrival); a batch has one
  tag, and its explicit names are sorted, so the two orders agree inside a batch too. But a
  task the SDK stamped W sorts before every lease expiry in the stub, while in the emulator
  it sorts by when it was added; and a task added with a countdown before a clock move sorts
  after later adds in the emulator and may sort before them in the stub. So when the two
  worlds order a queue's ready tasks differently (by ETA, then name), a lease takes all of
  them (compared as sets), and stored tasks are compared by name.
* Leases last 30 or 90 s, off the one-minute grid of the clock, so no lease ends exactly at
  an instant an operation runs (the documented boundary difference, docs/COMPATIBILITY.md);
  a release (lease change to 0 s) is followed by a minute for the same reason.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import pytest
from google.appengine.api import apiproxy_stub_map
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from shims import backends, testing
from shims.sdk.stub import EmulatorTaskQueueStub
from tests.differential_support import SETTINGS, Outcome, outcome
from tests.shim_support import (
    LIMITED,
    PULL,
    PULL_B,
    SEC,
    FakeTime,
    embedded_backend,
    live_server,
    sdk_world,
    shim_world,
    write_queue_yaml,
)

pytestmark = pytest.mark.differential

MINUTE = 60
#: How far the frozen clocks start ahead of the wall clock; every example must run faster.
MARGIN_USEC = 30 * SEC
PULL_QUEUES = [PULL, PULL_B, LIMITED]
ADD_QUEUES = [PULL, PULL, PULL, LIMITED, PULL_B, "nope"]
NAMES = ["alpha", "beta", "delta", "gamma", "omega"]
MAX_AUTO_NAMES = 9  #: task1..task9 sort in the order they were chosen


@dataclass(frozen=True)
class Batch:
    """Tasks added in one call: one tag; all unnamed or with sorted explicit names."""

    tag: str | None
    names: tuple[str | None, ...]
    countdowns: tuple[int | None, ...]
    payloads: tuple[bytes, ...]

    def tasks(self, module: Any) -> list[Any]:
        built = []
        for name, countdown, payload in zip(
            self.names, self.countdowns, self.payloads, strict=True
        ):
            kwargs: dict[str, Any] = {"name": name, "tag": self.tag, "countdown": countdown}
            built.append(
                module.Task(
                    payload=payload,
                    method="PULL",
                    **{k: v for k, v in kwargs.items() if v is not None},
                )
            )
        return built


@st.composite
def batches(draw: Any, countdowns: st.SearchStrategy[int | None]) -> Batch:
    size = draw(st.integers(1, 3))
    if draw(st.booleans()):
        names: tuple[str | None, ...] = (None,) * size
    else:
        names = tuple(sorted(draw(st.lists(st.sampled_from(NAMES), min_size=size, max_size=size))))
    return Batch(
        tag=draw(st.sampled_from([None, "a", "b"])),
        names=names,
        countdowns=tuple(draw(countdowns) for _ in range(size)),
        payloads=tuple(draw(st.binary(max_size=6)) for _ in range(size)),
    )


NOW_TASKS = batches(st.sampled_from([None, None, -5, 0]))
ANY_TASKS = batches(st.sampled_from([None, -5, 0, 60, 120]))


def leased_view(task: Any) -> tuple[Any, ...]:
    return (task.name, task.payload, task.tag, task._eta_usec, task.retry_count, task.queue_name)


# -- the two worlds ------------------------------------------------------------------------------


@dataclass
class Side:
    """One world: the ``taskqueue`` module to call, and how to make it the active one."""

    taskqueue: Any
    activate: Callable[[], None]


class TestbedComparison(RuleBasedStateMachine):
    """Drives both worlds; :func:`run` says what our side is."""

    root: ClassVar[Path]
    ours_factory: ClassVar[Callable[[contextlib.ExitStack, int], Side]]

    def __init__(self) -> None:
        super().__init__()
        self._stack = contextlib.ExitStack()
        self.start_wall = time.time_ns() // 1000
        start = self.start_wall // SEC * SEC + MARGIN_USEC
        self.sdk = self._stack.enter_context(
            sdk_world(self.root, FakeTime(start), patch_sdk_time=False)
        )
        self.google = Side(self.sdk.taskqueue, self._register_testbed_stub)
        self.ours = type(self).ours_factory(self._stack, start)
        self.leased: list[tuple[Any, Any]] = []
        self.auto_names = 0
        self.clock_moved = False
        self.stub_names: dict[str, str] = {}

    def _register_testbed_stub(self) -> None:
        apiproxy_stub_map.apiproxy.ReplaceStub("taskqueue", self.sdk.stub)

    def teardown(self) -> None:
        self._stack.close()

    def both(self, action: Callable[[Any], Any]) -> tuple[Outcome, Outcome]:
        results = []
        for side in (self.google, self.ours):
            side.activate()
            results.append(outcome(functools.partial(action, side.taskqueue)))
        return results[0], results[1]

    def close_etas(self, ours: int | None, stub: int | None) -> bool:
        """Equal, or an ETA the client stamped: the SDK's is wall-clock time, ours the frozen
        instant, at most as far ahead as the frozen clock is of the wall clock's start."""
        if ours is None or stub is None:
            return ours is stub
        return 0 <= ours - stub <= self.sdk.clock.now_usec - self.start_wall

    def advance(self, seconds: int) -> None:
        self.sdk.advance(seconds)
        testing.advance_clock(seconds)
        self.clock_moved = True

    @invariant()
    def the_wall_clock_is_still_behind_the_frozen_clocks(self) -> None:
        elapsed = time.time_ns() // 1000 - self.start_wall
        assert elapsed < MARGIN_USEC - SEC, "an example ran longer than the clocks' margin"

    # -- add -------------------------------------------------------------------------------------

    def _bounded(self, batch: Batch) -> Batch | None:
        """None when the batch would take the stub's auto names past task9; once the clocks
        have moved, the batch without its negative countdowns.

        After a move, the stub measures a countdown from the wall clock, which stayed behind:
        a task due 5 s ago sorts before tasks added a (frozen) minute earlier there and after
        them in the emulator, so which one a lease takes would be luck, not behaviour."""
        unnamed = sum(name is None for name in batch.names)
        if self.auto_names + unnamed > MAX_AUTO_NAMES:
            return None
        if self.clock_moved:
            countdowns = tuple(None if (c or 0) < 0 else c for c in batch.countdowns)
            return replace(batch, countdowns=countdowns)
        return batch

    def _add(self, queue: str, batch: Batch) -> None:
        google_tasks = batch.tasks(self.google.taskqueue)
        our_tasks = batch.tasks(self.ours.taskqueue)
        first = self.sdk.stub._GetGroup()._next_task_id
        self.google.activate()
        google = outcome(lambda: self.google.taskqueue.Queue(queue).add(google_tasks))
        self.ours.activate()
        ours = outcome(lambda: self.ours.taskqueue.Queue(queue).add(our_tasks))
        assert google[0] == ours[0]
        self.auto_names = self.sdk.stub._GetGroup()._next_task_id - 1
        chosen = first
        for google_task, our_task, name in zip(google_tasks, our_tasks, batch.names, strict=True):
            assert google_task.was_enqueued == our_task.was_enqueued
            if not our_task.was_enqueued:
                continue
            if name is None:
                assert our_task.name == f"task{chosen}"
                chosen += 1
            else:
                assert our_task.name == google_task.name == name
            assert self.close_etas(our_task._eta_usec, google_task._eta_usec)

    @rule(queue=st.sampled_from(ADD_QUEUES), batch=NOW_TASKS)
    def add_tasks_for_now(self, queue: str, batch: Batch) -> None:
        bounded = self._bounded(batch)
        if bounded is not None:
            self._add(queue, bounded)
            self.advance(MINUTE)

    @precondition(lambda self: not self.clock_moved)
    @rule(queue=st.sampled_from(ADD_QUEUES), batch=ANY_TASKS)
    def add_tasks_with_countdowns(self, queue: str, batch: Batch) -> None:
        bounded = self._bounded(batch)
        if bounded is not None:
            self._add(queue, bounded)

    @rule(
        queue=st.sampled_from(PULL_QUEUES),
        batch=NOW_TASKS,
        by_tag=st.booleans(),
        lease_seconds=st.sampled_from([30, 90]),
    )
    def add_then_lease_at_the_same_instant(
        self, queue: str, batch: Batch, by_tag: bool, lease_seconds: int
    ) -> None:
        """The first test of every worker: a task added now is leased now."""
        bounded = self._bounded(batch)
        if bounded is None:
            return
        self._add(queue, bounded)
        self._lease(queue, lease_seconds, 1000, by_tag=by_tag, tag=None)
        self.advance(MINUTE)

    # -- lease -----------------------------------------------------------------------------------

    def _ready_order_differs(self, queue: str) -> bool:
        """Whether the two worlds order the queue's ready tasks differently, by (ETA, name).

        The ETAs the SDK stamps on the wall clock (``W`` + countdown) and those the emulator
        stamps on its frozen clock (``F`` + countdown) keep their order only while neither
        clock has moved: a task added a (frozen) minute later sorts after in the emulator but
        may sort before in the stub, where only wall time passed; and every stamped task sorts
        before a lease expiry in the stub. Which task a lease of fewer than all of them takes
        is then luck, so such leases take every ready task and compare them as sets."""
        if queue not in PULL_QUEUES:
            return False
        self.ours.activate()
        now = testing.now_usec()
        ours = sorted((t.eta_usec, t.name) for t in testing.backend().tasks(queue))
        stub_now = self.sdk.clock.now_usec
        google = sorted((t["eta_usec"], t["name"]) for t in self.sdk.stub.GetTasks(queue))
        our_order = [name for eta, name in ours if eta <= now]
        google_order = [name for eta, name in google if eta <= stub_now]
        return sorted(our_order) == sorted(google_order) and our_order != google_order

    def _lease(
        self, queue: str, lease_seconds: int, max_tasks: int, *, by_tag: bool, tag: Any
    ) -> None:
        mixed = self._ready_order_differs(queue)
        if mixed:  # take every ready task (of the tag), in whatever order
            max_tasks = 1000
            by_tag = by_tag and bool(tag)

        def action(tq: Any) -> Any:
            if by_tag:
                return tq.Queue(queue).lease_tasks_by_tag(lease_seconds, max_tasks, tag=tag)
            return tq.Queue(queue).lease_tasks(lease_seconds, max_tasks)

        (google_error, google_tasks), (our_error, our_tasks) = self.both(action)
        assert google_error == our_error
        if google_error is None:
            google_view = [leased_view(t) for t in google_tasks]
            our_view = [leased_view(t) for t in our_tasks]
            if mixed:
                google_view, our_view = sorted(google_view), sorted(our_view)
            assert google_view == our_view
            pairs = {t.name: t for t in google_tasks}
            self.leased.extend((pairs[t.name], t) for t in our_tasks)

    @rule(
        queue=st.sampled_from([*ADD_QUEUES, "default"]),
        lease_seconds=st.sampled_from([30, 90]),
        max_tasks=st.sampled_from([1, 2, 1000]),
    )
    def lease(self, queue: str, lease_seconds: int, max_tasks: int) -> None:
        self._lease(queue, lease_seconds, max_tasks, by_tag=False, tag=None)

    @rule(
        queue=st.sampled_from(PULL_QUEUES),
        lease_seconds=st.sampled_from([30, 90]),
        max_tasks=st.sampled_from([1, 2, 1000]),
        tag=st.sampled_from([None, "", "a", "b"]),
    )
    def lease_by_tag(self, queue: str, lease_seconds: int, max_tasks: int, tag: Any) -> None:
        self._lease(queue, lease_seconds, max_tasks, by_tag=True, tag=tag)

    # -- lease changes -----------------------------------------------------------------------------

    def _modify(self, index: int, lease_seconds: int) -> None:
        google_task, our_task = self.leased[index % len(self.leased)]
        self.google.activate()
        google = outcome(
            lambda: self.google.taskqueue.Queue(google_task.queue_name).modify_task_lease(
                google_task, lease_seconds
            )
        )
        self.ours.activate()
        ours = outcome(
            lambda: self.ours.taskqueue.Queue(our_task.queue_name).modify_task_lease(
                our_task, lease_seconds
            )
        )
        assert google[0] == ours[0]
        assert google_task._eta_usec == our_task._eta_usec

    @precondition(lambda self: self.leased)
    @rule(index=st.integers(0, 50), lease_seconds=st.sampled_from([30, 90]))
    def extend_lease(self, index: int, lease_seconds: int) -> None:
        self._modify(index, lease_seconds)

    @precondition(lambda self: self.leased)
    @rule(index=st.integers(0, 50))
    def release_lease(self, index: int) -> None:
        self._modify(index, 0)
        self.advance(MINUTE)

    # -- delete, purge, statistics, time -----------------------------------------------------------

    @precondition(lambda self: self.leased)
    @rule(indexes=st.lists(st.integers(0, 50), min_size=1, max_size=3))
    def delete_leased(self, indexes: list[int]) -> None:
        pairs = [self.leased[i % len(self.leased)] for i in indexes]
        queue = pairs[0][1].queue_name
        google_tasks = [p[0] for p in pairs if p[1].queue_name == queue]
        our_tasks = [p[1] for p in pairs if p[1].queue_name == queue]
        self.google.activate()
        google = outcome(lambda: self.google.taskqueue.Queue(queue).delete_tasks(google_tasks))
        self.ours.activate()
        ours = outcome(lambda: self.ours.taskqueue.Queue(queue).delete_tasks(our_tasks))
        assert google[0] == ours[0]
        assert [t.was_deleted for t in google_tasks] == [t.was_deleted for t in our_tasks]

    @rule(
        queue=st.sampled_from([*PULL_QUEUES, "nope"]),
        names=st.lists(
            st.sampled_from([*NAMES, "task1", "task2", "never"]), max_size=3, unique=True
        ),
    )
    def delete_by_name(self, queue: str, names: list[str]) -> None:
        (google_error, google), (our_error, ours) = self.both(
            lambda tq: tq.Queue(queue).delete_tasks_by_name(names)
        )
        assert google_error == our_error
        if google_error is None:
            assert [t.was_deleted for t in google] == [t.was_deleted for t in ours]

    @rule(queue=st.sampled_from([*PULL_QUEUES, "nope"]))
    def purge(self, queue: str) -> None:
        (google_error, _), (our_error, _) = self.both(lambda tq: tq.Queue(queue).purge())
        assert google_error == our_error

    @rule(queues=st.lists(st.sampled_from([*PULL_QUEUES, "nope"]), min_size=1, max_size=3))
    def statistics(self, queues: list[str]) -> None:
        (google_error, google), (our_error, ours) = self.both(
            lambda tq: tq.QueueStatistics.fetch(queues)
        )
        assert google_error == our_error
        assert [s.tasks for s in google] == [s.tasks for s in ours]
        for google_stats, our_stats in zip(google, ours, strict=True):
            assert self.close_etas(our_stats.oldest_eta_usec, google_stats.oldest_eta_usec)

    @rule(minutes=st.sampled_from([1, 2, 60]))
    def advance_clock(self, minutes: int) -> None:
        self.advance(minutes * MINUTE)

    @invariant()
    def stored_tasks_agree(self) -> None:
        self.ours.activate()
        for queue in PULL_QUEUES:
            google = sorted(self.sdk.stub.GetTasks(queue), key=lambda t: t["name"])
            ours = sorted(testing.GetTasks(queue), key=lambda t: t["name"])
            assert [(t["name"], t["body"]) for t in google] == [
                (t["name"], t["body"]) for t in ours
            ]
            for google_task, our_task in zip(google, ours, strict=True):
                assert self.close_etas(our_task["eta_usec"], google_task["eta_usec"])


# -- our side: the shim (embedded, live server), Google's SDK over /rpc_http ---------------------


def shim_side(backend: backends.ControlledBackend) -> Callable[[contextlib.ExitStack, int], Side]:
    def build(stack: contextlib.ExitStack, start: int) -> Side:
        world = stack.enter_context(shim_world(backend, now_usec=start))
        return Side(world.taskqueue, lambda: None)

    return build


def rpc_side(address: str) -> Callable[[contextlib.ExitStack, int], Side]:
    """Google's SDK module with the emulator's stub registered while our half runs; the
    shim's remote backend only serves the test helpers (clock, GetTasks)."""

    def build(stack: contextlib.ExitStack, start: int) -> Side:
        from google.appengine.api import taskqueue

        stack.enter_context(shim_world(backends.current(), now_usec=start))
        stub = EmulatorTaskQueueStub(address)
        stack.callback(stub.close)
        return Side(taskqueue, lambda: apiproxy_stub_map.apiproxy.ReplaceStub("taskqueue", stub))

    return build


def run(root: Path, ours: Callable[[contextlib.ExitStack, int], Side]) -> None:
    machine = type("Comparison", (TestbedComparison,), {"root": root, "ours_factory": ours})
    run_state_machine_as_test(machine, settings=SETTINGS)  # type: ignore[no-untyped-call]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_queue_yaml(tmp_path)
    return tmp_path


def test_shim_on_the_embedded_emulator_matches_testbed_on_the_wall_clock(root: Path) -> None:
    backend = embedded_backend(root / "queue.yaml")
    try:
        run(root, shim_side(backend))
    finally:
        backend.close()


@pytest.mark.e2e
def test_shim_on_a_live_emulator_matches_testbed_on_the_wall_clock(root: Path) -> None:
    with live_server(root / "queue.yaml") as server:
        backend = server.backend()
        try:
            run(root, shim_side(backend))
        finally:
            backend.close()


@pytest.mark.e2e
def test_sdk_through_rpc_http_matches_testbed_on_the_wall_clock(root: Path) -> None:
    with live_server(root / "queue.yaml") as server:
        backend = server.backend()
        previous = backends.use(backend)
        try:
            run(root, rpc_side(server.address))
        finally:
            backends.use(previous)
            backend.close()
