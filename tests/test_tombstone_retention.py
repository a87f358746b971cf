"""``--tombstone-ttl``: tombstones older than the TTL are forgotten (by the injected clock),
in small batches, in the background; schema 3 stamps the tombstones of older files."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import background
from emulator.app import runtime_app
from emulator.core.retention import TombstoneRetention
from emulator.domain.clock import ControllableClock
from emulator.domain.errors import ErrorCode
from emulator.domain.model import AddRequest, StoredTask
from emulator.domain.retention import format_duration, parse_duration
from emulator.pruning import TombstonePruner
from emulator.settings import build_parser, resolve
from emulator.store.sqlite import SCHEMA_VERSION, SqliteTaskStore
from emulator.wiring import Runtime, build_runtime
from tests import core_support as core
from tests.core_support import make_world, pull
from tests.shim_support import PULL, SEC, T0, write_queue_yaml

DAY = 86_400


@pytest.fixture
def clock() -> ControllableClock:
    frozen = ControllableClock()
    frozen.freeze(T0)
    return frozen


@pytest.fixture
def runtime(tmp_path: Path, clock: ControllableClock) -> Iterator[Runtime]:
    built = build_runtime(
        str(write_queue_yaml(tmp_path)), ":memory:", clock=clock, tombstone_ttl_seconds=9 * DAY
    )
    yield built
    built.close()


def _add(runtime: Runtime, name: str) -> ErrorCode:
    [result] = runtime.service.add(PULL, [AddRequest(b"p", name=name)])
    return result.code


def _pruners(runtime: Runtime) -> list[TombstonePruner]:
    """The pruners among the background work of the runtime's app."""
    works = background._works(runtime_app(runtime))
    return [w for w in works if isinstance(w, TombstonePruner)]


def _prune(runtime: Runtime) -> int:
    assert runtime.retention is not None
    return runtime.retention.prune()


# -- the rule, on the fake clock ---------------------------------------------------------------


def test_a_tombstone_younger_than_the_ttl_keeps_the_name_taken(
    runtime: Runtime, clock: ControllableClock
) -> None:
    # Given a task deleted at T0 under a 9-day TTL
    assert _add(runtime, "a") is ErrorCode.OK
    runtime.service.delete(PULL, ["a"])
    # When exactly 9 days pass and the pruner runs
    clock.advance(9 * DAY)
    assert _prune(runtime) == 0
    # Then the name is still tombstoned
    assert _add(runtime, "a") is ErrorCode.TOMBSTONED_TASK


def test_a_tombstone_older_than_the_ttl_lets_the_name_be_reused(
    runtime: Runtime, clock: ControllableClock
) -> None:
    assert _add(runtime, "a") is ErrorCode.OK
    assert _add(runtime, "b") is ErrorCode.OK
    runtime.service.delete(PULL, ["a"])
    clock.advance(DAY)
    runtime.service.delete(PULL, ["b"])  # one day younger
    clock.advance(8 * DAY + 1e-6)  # "a" is 9 days and a microsecond old, "b" 8 days
    assert _prune(runtime) == 1
    assert _add(runtime, "a") is ErrorCode.OK
    assert _add(runtime, "b") is ErrorCode.TOMBSTONED_TASK


def test_purged_names_age_too_and_statistics_do_not_change(
    runtime: Runtime, clock: ControllableClock
) -> None:
    for name in ("x", "y", "z"):
        _add(runtime, name)
    runtime.service.purge(PULL)
    _add(runtime, "live")
    clock.advance(10 * DAY)
    before = runtime.service.stats([PULL])
    assert _prune(runtime) == 3
    assert runtime.service.stats([PULL]) == before
    assert _add(runtime, "x") is ErrorCode.OK


def test_pruning_goes_in_small_batches_oldest_first(clock: ControllableClock) -> None:
    store = SqliteTaskStore()
    with store.transaction() as tx:
        for i in range(1200):
            tx.insert_task(_stored(f"t{i:04}"))
            tx.delete_task(PULL, f"t{i:04}", tombstone_usec=clock.now_usec())
    clock.advance(2)
    retention = TombstoneRetention(store, clock, ttl_seconds=1, batch=500)
    assert [retention.prune_batch() for _ in range(4)] == [500, 500, 200, 0]
    store.close()


def test_a_ttl_of_zero_forgets_at_the_next_pass(tmp_path: Path, clock: ControllableClock) -> None:
    runtime = build_runtime(
        str(write_queue_yaml(tmp_path)), ":memory:", clock=clock, tombstone_ttl_seconds=0
    )
    _add(runtime, "a")
    runtime.service.delete(PULL, ["a"])
    assert _add(runtime, "a") is ErrorCode.TOMBSTONED_TASK  # until the pass
    clock.advance(1e-6)
    assert _prune(runtime) == 1
    assert _add(runtime, "a") is ErrorCode.OK
    runtime.close()


def test_without_a_ttl_tombstones_stay_and_no_pruner_runs(tmp_path: Path) -> None:
    runtime = build_runtime(str(write_queue_yaml(tmp_path)), ":memory:")
    assert runtime.retention is None
    assert not [
        w for w in background._works(runtime_app(runtime)) if isinstance(w, TombstonePruner)
    ]
    runtime.close()


def test_a_served_runtime_with_a_ttl_runs_the_pruner_in_the_background(
    runtime: Runtime, clock: ControllableClock
) -> None:
    [pruner] = [
        w for w in background._works(runtime_app(runtime)) if isinstance(w, TombstonePruner)
    ]
    _add(runtime, "a")
    runtime.service.delete(PULL, ["a"])
    clock.advance(10 * DAY)
    assert pruner.run_once() == 1  # what the thread does every second
    assert _add(runtime, "a") is ErrorCode.OK


def test_a_failing_pass_is_logged_and_the_pruner_goes_on(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    assert runtime.retention is not None and runtime.store is not None
    pruner = TombstonePruner(runtime.retention)
    runtime.store.close()
    assert pruner.run_once() == 0
    assert "tombstone pruning failed" in caplog.text


# -- schema 3: stamping the tombstones of older files --------------------------------------------

_SCHEMA_1 = """
CREATE TABLE tasks (queue TEXT NOT NULL, name TEXT NOT NULL, eta_usec INTEGER NOT NULL,
    payload BLOB NOT NULL, tag TEXT, retry_count INTEGER NOT NULL DEFAULT 0,
    created_usec INTEGER NOT NULL, leased_at_usec INTEGER, mode INTEGER NOT NULL, method TEXT,
    url TEXT, headers TEXT, retry_parameters TEXT, dispatch_deadline_usec INTEGER
    {http_url}, UNIQUE (queue, name));
CREATE TABLE tombstones (queue TEXT NOT NULL, name TEXT NOT NULL,
    PRIMARY KEY (queue, name)) WITHOUT ROWID;
INSERT INTO tombstones VALUES ('pull-a', 'old');
PRAGMA user_version = {version};
"""


@pytest.mark.parametrize(("version", "http_url"), [(1, ""), (2, ", http_url TEXT")])
def test_an_older_file_is_migrated_and_its_tombstones_stamped_now(
    tmp_path: Path, clock: ControllableClock, version: int, http_url: str
) -> None:
    # Given a file of schema 1 or 2 with one tombstone (no time of its own)
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(_SCHEMA_1.format(version=version, http_url=http_url))
    conn.close()
    # When it is opened at T0 with a one-day TTL
    runtime = build_runtime(
        str(write_queue_yaml(tmp_path)), str(path), clock=clock, tombstone_ttl_seconds=DAY
    )
    # Then it is schema 3, the tombstone was made "now", and ages from there
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    assert check.execute("SELECT created_usec FROM tombstones").fetchall() == [(T0,)]
    assert "http_url" in {row[1] for row in check.execute("PRAGMA table_info(tasks)")}
    check.close()
    assert _add(runtime, "old") is ErrorCode.TOMBSTONED_TASK
    clock.advance(DAY)
    assert _prune(runtime) == 0
    clock.advance(1e-6)
    assert _prune(runtime) == 1
    assert _add(runtime, "old") is ErrorCode.OK
    runtime.close()
    # And opening it again changes nothing
    SqliteTaskStore(path, clock=clock).close()


# -- the setting ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("9d", 9 * DAY),
        ("36h", 36 * 3600),
        ("90m", 5400),
        ("45s", 45),
        ("45", 45),
        ("0", 0),
        ("1d12h", 36 * 3600),
        (" 2D ", 2 * DAY),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "9x", "d", "-1d", "1.5d", "1d1d", "3651d", "9 d", "h9"])
def test_bad_durations_are_refused_in_words(text: str) -> None:
    with pytest.raises(ValueError, match="must be a duration such as 9d"):
        parse_duration(text)


def test_durations_are_printed_in_their_units() -> None:
    assert [format_duration(s) for s in (9 * DAY, 36 * 3600, 0, 61)] == [
        "9d",
        "1d12h",
        "0s",
        "1m1s",
    ]


def test_the_flag_and_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = build_parser()
    assert resolve(parser.parse_args(["--tombstone-ttl", "9d"]), parser).tombstone_ttl == 9 * DAY
    assert resolve(parser.parse_args([]), parser).tombstone_ttl is None
    monkeypatch.setenv("TASKQUEUE_EMULATOR_TOMBSTONE_TTL", "36h")
    assert resolve(parser.parse_args([]), parser).tombstone_ttl == 36 * 3600
    monkeypatch.setenv("TASKQUEUE_EMULATOR_TOMBSTONE_TTL", "soon")
    with pytest.raises(SystemExit):
        resolve(parser.parse_args([]), parser)


def test_a_bad_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TASKQUEUE_EMULATOR_TOMBSTONE_TTL", "soon")
    parser = build_parser()
    with pytest.raises(SystemExit) as exited:
        resolve(parser.parse_args([]), parser)
    assert exited.value.code == 2
    assert "TASKQUEUE_EMULATOR_TOMBSTONE_TTL: must be a duration" in capsys.readouterr().err


def _stored(name: str) -> StoredTask:
    return StoredTask(PULL, name, eta_usec=T0)


def test_a_tombstone_is_stamped_with_the_services_clock_not_the_stores() -> None:
    """Delete and purge tombstone at the operation's ``now``, even over a store built without
    the service's clock (as embedders and the core tests build it)."""
    world = make_world()
    world.add(pull(name="deleted"), pull(name="purged"))
    world.service.delete(core.PULL, ["deleted"])
    world.tick(5)
    world.service.purge(core.PULL)
    with world.store.transaction() as tx:
        stamps = tx._conn.execute("SELECT name, created_usec FROM tombstones ORDER BY name")
        assert stamps.fetchall() == [("deleted", T0), ("purged", T0 + 5 * SEC)]
