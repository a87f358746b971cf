"""Differential test: the same random programs through Google's SDK against two backends.

* **google**: Google's ``TaskQueueServiceStub`` from ``testbed`` (``root_path`` with our
  queue.yaml, ``gettime`` = the fake clock);
* **emulator**: :class:`shims.sdk.stub.EmulatorTaskQueueStub` → ``POST /rpc_http`` → a live
  emulator with the same queue.yaml, its clock frozen at the same fake time.

Both run the unmodified SDK client (``taskqueue.Queue``/``Task``), whose ``time.time()`` is the
fake clock, so every ETA is identical; the registered ``taskqueue`` stub is swapped before each
half of an operation. Results and exception types must be equal.

One known divergence is normalised, explicitly: under upb the stub does not return the names
it chooses for unnamed tasks (legacy-taskqueue-api.md §4.12). So the stub's names for
auto-named tasks are derived from its counter and mapped onto the emulator's (``aliases``);
to keep ``task<N>`` names in the same lexicographic order on both sides, a program names its
tasks explicitly once the stub's counter would pass 9. ``fetch_statistics`` is compared on
``tasks`` and ``oldest_eta_usec`` only (the stub's other numbers are random).

One boundary difference is dodged (docs/COMPATIBILITY.md): a task whose ETA is exactly now is
ready in the emulator and not in the stub, and a lease ending exactly now can no longer be
changed in the emulator while the stub still allows it. Before a lease or a lease change that
would meet such a task, both clocks move on by an eighth of a second;
``test_differential_frozen_clock.py`` covers that instant the way testbed users meet it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Final

import pytest
from google.appengine.api import apiproxy_stub_map, taskqueue
from google.appengine.ext import testbed
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from shims.sdk.stub import EmulatorTaskQueueStub
from tests.differential_support import DODGE_SECONDS
from tests.rpc_support import (
    LIMITED,
    PULL,
    T0_USEC,
    FakeTime,
    LiveEmulator,
    sdk_time,
    start_emulator,
    write_queue_yaml,
)

pytestmark = [pytest.mark.differential, pytest.mark.e2e]

QUEUES = st.sampled_from([PULL, PULL, PULL, LIMITED, LIMITED, "default", "nope"])
#: Explicit names: never of the stub's ``task<N>`` form, sorted before ``task`` on both sides.
NAMES = ["a", "b", "c", "d"]
AUTO_NAME = re.compile(r"^task[1-9]$")
MAX_AUTO_NAMES = 9

#: How long a lease rule first lets pass (0: lease at the very instant of earlier adds).
WAITS = st.sampled_from([0, 0.5, 0.5, 1])

PULL_QUEUES = (PULL, LIMITED)
GOOGLE: Final = 0
EMULATOR: Final = 1
Outcome = tuple[str, Any]


@dataclass(frozen=True)
class TaskSpec:
    """How to build one SDK ``Task`` (a fresh object for each side)."""

    name: str | None
    tag: str | None
    countdown: int | None
    payload: bytes
    push: bool

    def build(self) -> taskqueue.Task:
        if self.push:
            return taskqueue.Task(
                url="/work", payload=self.payload, name=self.name, countdown=self.countdown
            )
        return taskqueue.Task(
            payload=self.payload,
            method="PULL",
            name=self.name,
            tag=self.tag,
            countdown=self.countdown,
        )


SPECS = st.builds(
    TaskSpec,
    name=st.none() | st.sampled_from(NAMES),
    tag=st.sampled_from([None, "x", "y"]),
    countdown=st.sampled_from([None, 0, 2, 30]),
    payload=st.binary(max_size=6),
    push=st.just(False),
)
#: A batch: 1-4 pull tasks, or (sometimes) 1-4 push tasks (the SDK refuses to mix them).
TASKS = st.tuples(
    st.lists(SPECS, min_size=1, max_size=4), st.sampled_from([False] * 4 + [True])
).map(lambda batch: [replace(spec, push=True, tag=None) if batch[1] else spec for spec in batch[0]])


class SdkVersusEmulator(RuleBasedStateMachine):
    """One random program, run step by step on both backends."""

    emulator: ClassVar[LiveEmulator]
    root: ClassVar[Path]
    fake: ClassVar[FakeTime]

    def __init__(self) -> None:
        super().__init__()
        self.fake.now_usec = T0_USEC
        self.emulator.reset()
        self.emulator.freeze(T0_USEC)
        self.testbed = testbed.Testbed()
        self.testbed.activate()
        self.testbed.init_taskqueue_stub(root_path=str(self.root), gettime=self.fake.time)
        self.stubs = (
            self.testbed.get_stub(testbed.TASKQUEUE_SERVICE_NAME),
            EmulatorTaskQueueStub(self.emulator.address),
        )
        self.leased: list[tuple[taskqueue.Task, taskqueue.Task]] = []
        self.aliases: dict[str, str] = {}
        self.fresh_names = 0

    def teardown(self) -> None:
        self.stubs[EMULATOR].close()
        self.testbed.deactivate()

    # -- running one operation on both sides -----------------------------------------------------

    def both(self, operation: Callable[[int], Any]) -> tuple[Outcome, Outcome]:
        """Run ``operation(side)`` with each side's stub registered; return both outcomes."""
        outcomes: list[Outcome] = []
        for side, stub in enumerate(self.stubs):
            apiproxy_stub_map.apiproxy.ReplaceStub("taskqueue", stub)
            try:
                outcomes.append(("ok", operation(side)))
            except Exception as exc:  # the type is the result being compared
                outcomes.append(("error", type(exc).__name__))
        return outcomes[GOOGLE], outcomes[EMULATOR]

    def name(self, google_name: str | None) -> str | None:
        """A google-side task name in the emulator's terms."""
        return self.aliases.get(google_name, google_name) if google_name else google_name

    def leased_view(self, tasks: list[taskqueue.Task], side: int) -> list[tuple[Any, ...]]:
        rename = self.name if side == GOOGLE else (lambda n: n)
        return [(rename(t.name), t.eta_posix, t.retry_count, t.payload, t.tag) for t in tasks]

    def check(self, what: str, google: Outcome, emulator: Outcome) -> None:
        assert google == emulator, f"{what}: google={google!r} emulator={emulator!r}"

    # -- rules -----------------------------------------------------------------------------------

    def _counter(self) -> int:
        return int(self.stubs[GOOGLE]._GetGroup()._next_task_id)

    def _bounded(self, specs: list[TaskSpec]) -> list[TaskSpec]:
        """Name the unnamed tasks explicitly once the stub's names would reach two digits."""
        unnamed = sum(spec.name is None for spec in specs)
        if self._counter() - 1 + unnamed <= MAX_AUTO_NAMES:
            return specs
        named = []
        for spec in specs:
            self.fresh_names += 1
            named.append(spec if spec.name else replace(spec, name=f"n{self.fresh_names}"))
        return named

    @rule(queue=QUEUES, specs=TASKS)
    def add(self, queue: str, specs: list[TaskSpec]) -> None:
        self._add(queue, specs)

    @rule(queue=st.sampled_from([PULL, LIMITED]), specs=TASKS)
    def add_to_a_pull_queue(self, queue: str, specs: list[TaskSpec]) -> None:
        self._add(queue, specs)

    def _add(self, queue: str, specs: list[TaskSpec]) -> None:
        specs = self._bounded(specs)
        first_auto = self._counter()
        built: list[list[taskqueue.Task]] = [[], []]

        def operation(side: int) -> tuple[str | None, list[tuple[bool, bool]]]:
            built[side] = [spec.build() for spec in specs]
            try:
                taskqueue.Queue(queue).add(built[side])
                error = None
            except taskqueue.Error as exc:
                error = type(exc).__name__
            return error, [
                (t.was_enqueued, t.name == spec.name)
                for t, spec in zip(built[side], specs, strict=True)
                if spec.name
            ]

        google, emulator = self.both(operation)
        self.check(f"add {queue} {specs}", google, emulator)
        if google[0] == "ok":
            self._learn_auto_names(specs, built, first_auto)

    def _learn_auto_names(
        self, specs: list[TaskSpec], built: list[list[taskqueue.Task]], first_auto: int
    ) -> None:
        """Map the stub's names for the added unnamed tasks onto the emulator's."""
        auto = [i for i, spec in enumerate(specs) if spec.name is None]
        for k, i in enumerate(auto):
            google_task, our_task = built[GOOGLE][i], built[EMULATOR][i]
            assert google_task.was_enqueued == our_task.was_enqueued
            if not our_task.was_enqueued:
                continue
            expected = f"task{first_auto + k}"
            assert google_task.name in (None, expected)
            assert our_task.name is not None and AUTO_NAME.match(our_task.name), our_task.name
            self.aliases[expected] = our_task.name

    def _dodge_boundary(self, queue: str, names: list[str] | None = None) -> None:
        """Step both clocks off an instant where a task of ``queue`` (one of ``names``, if
        given) has ``eta == now``: the one instant where the stub and the emulator differ."""
        if queue not in PULL_QUEUES:
            return
        now = self.fake.now_usec
        if any(
            task.eta_usec == now and (names is None or task.name in names)
            for task in self.emulator.control.tasks(queue)
        ):
            self._advance(DODGE_SECONDS)

    def _lease(self, operation: Callable[[], list[taskqueue.Task]], what: str) -> None:
        results: list[list[taskqueue.Task]] = [[], []]

        def run(side: int) -> list[tuple[Any, ...]]:
            results[side] = operation()
            return self.leased_view(results[side], side)

        google, emulator = self.both(run)
        self.check(what, google, emulator)
        self.leased.extend(zip(results[GOOGLE], results[EMULATOR], strict=True))

    @rule(
        wait=WAITS, queue=QUEUES, seconds=st.sampled_from([0, 1, 10, 30, 60]), n=st.integers(1, 5)
    )
    def lease_tasks(self, wait: float, queue: str, seconds: int, n: int) -> None:
        self._advance(wait)
        self._dodge_boundary(queue)
        self._lease(
            lambda: taskqueue.Queue(queue).lease_tasks(seconds, n),
            f"lease_tasks {queue} {seconds} {n}",
        )

    @rule(
        wait=WAITS,
        queue=QUEUES,
        seconds=st.sampled_from([0, 10, 30]),
        n=st.integers(1, 5),
        tag=st.sampled_from([None, "", "x", "y"]),
    )
    def lease_tasks_by_tag(
        self, wait: float, queue: str, seconds: int, n: int, tag: str | None
    ) -> None:
        self._advance(wait)
        self._dodge_boundary(queue)
        self._lease(
            lambda: taskqueue.Queue(queue).lease_tasks_by_tag(seconds, n, tag=tag),
            f"lease_tasks_by_tag {queue} {seconds} {n} {tag!r}",
        )

    @rule(index=st.integers(0, 50), seconds=st.sampled_from([0, 5, 30]))
    def modify_task_lease(self, index: int, seconds: int) -> None:
        """With the Task objects a lease returned: valid tokens, and stale ones after a
        re-lease, a modify or a delete."""
        if not self.leased:
            return
        pair = self.leased[index % len(self.leased)]
        self._dodge_boundary(pair[EMULATOR].queue_name, [pair[EMULATOR].name])

        def operation(side: int) -> float:
            task = pair[side]
            taskqueue.Queue(task.queue_name).modify_task_lease(task, seconds)
            return float(task.eta_posix)

        google, emulator = self.both(operation)
        self.check(f"modify_task_lease {pair[EMULATOR].name} {seconds}", google, emulator)

    @rule(queue=QUEUES, name=st.sampled_from(NAMES), seconds=st.sampled_from([0, 5]))
    def modify_task_lease_with_a_fresh_task(self, queue: str, name: str, seconds: int) -> None:
        """A new Task object has ETA = now: never the current lease token."""
        self._dodge_boundary(queue, [self.name(name) or name])

        def operation(side: int) -> float:
            task = taskqueue.Task(payload=b"", method="PULL", name=name)
            taskqueue.Queue(queue).modify_task_lease(task, seconds)
            return float(task.eta_posix)

        self.check(f"modify fresh {queue} {name}", *self.both(operation))

    @rule(indices=st.lists(st.integers(0, 50), min_size=1, max_size=3))
    def delete_leased_tasks(self, indices: list[int]) -> None:
        if not self.leased:
            return
        pairs = [self.leased[i % len(self.leased)] for i in indices]
        queue = pairs[0][EMULATOR].queue_name
        pairs = [p for p in pairs if p[EMULATOR].queue_name == queue]

        def operation(side: int) -> list[bool]:
            deleted = taskqueue.Queue(queue).delete_tasks([p[side] for p in pairs])
            return [t.was_deleted for t in deleted]

        self.check(f"delete_tasks {[p[EMULATOR].name for p in pairs]}", *self.both(operation))

    @rule(queue=QUEUES, names=st.lists(st.sampled_from([*NAMES, "never"]), min_size=1, unique=True))
    def delete_tasks_by_name(self, queue: str, names: list[str]) -> None:
        def operation(side: int) -> list[bool]:
            return [t.was_deleted for t in taskqueue.Queue(queue).delete_tasks_by_name(names)]

        self.check(f"delete_tasks_by_name {queue} {names}", *self.both(operation))

    @rule(queue=st.sampled_from([PULL, LIMITED, "default", "nope", "nope"]))
    def purge(self, queue: str) -> None:
        self.check(f"purge {queue}", *self.both(lambda side: taskqueue.Queue(queue).purge()))

    @rule(queue=QUEUES)
    def fetch_statistics(self, queue: str) -> None:
        def operation(side: int) -> tuple[int, int | None]:
            stats = taskqueue.Queue(queue).fetch_statistics()
            return stats.tasks, stats.oldest_eta_usec

        self.check(f"fetch_statistics {queue}", *self.both(operation))

    @rule(seconds=st.sampled_from([0.5, 1, 5, 30, 61]))
    def advance_clock(self, seconds: float) -> None:
        self._advance(seconds)

    def _advance(self, seconds: float) -> None:
        if not seconds:
            return
        self.fake.advance(seconds)
        self.emulator.advance(seconds)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEmulator]:
    root = tmp_path_factory.mktemp("app")
    write_queue_yaml(root)
    live = start_emulator(root / "queue.yaml")
    SdkVersusEmulator.root = root
    yield live
    live.stop()


def test_sdk_through_rpc_http_matches_the_testbed_stub(emulator: LiveEmulator) -> None:
    SdkVersusEmulator.emulator = emulator
    SdkVersusEmulator.fake = FakeTime()
    with sdk_time(SdkVersusEmulator.fake):
        run_state_machine_as_test(  # type: ignore[no-untyped-call]
            SdkVersusEmulator,
            settings=settings(deadline=None),  # counts: the Hypothesis profile
        )
