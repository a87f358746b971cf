"""The collector's policy while the CLI serves: start-up frozen, fewer young collections, and
the process's own settings back afterwards (emulator/collector.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from emulator import cli, collector
from emulator.domain.limits import MEMORY_STORAGE
from tests.http_support import PULL, make_api


@pytest.fixture(autouse=True)
def _collector_as_found() -> Iterator[None]:
    """Each test starts unfrozen with thresholds it knows, and the test process gets its own
    settings back whatever a test did."""
    before, was_enabled = gc.get_threshold(), gc.isenabled()
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        (gc.enable if was_enabled else gc.disable)()


def test_serving_freezes_start_up_and_raises_only_the_young_threshold() -> None:
    gc.set_threshold(700, 11, 12)
    alive = [object() for _ in range(10)]  # noqa: F841  (alive at entry: frozen)
    with collector.serving():
        assert gc.get_threshold() == (collector.SERVING_YOUNG_THRESHOLD, 11, 12)
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (700, 11, 12)
    assert gc.get_freeze_count() == 0


def test_a_lease_of_1000_tasks_and_their_delete_run_no_collection() -> None:
    """The largest requests (1000 tasks leased over the JSON face, then deleted) stay under
    the serving threshold: no collection runs inside them (with CPython's default, several
    did)."""
    api = make_api()
    for _ in range(10):
        api.add(PULL, *({"payload": "eA==", "tag": f"t{i % 10}"} for i in range(100)))
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    with collector.serving():
        gc.collect()  # the young generation starts empty, as after any collection
        gc.callbacks.append(count)
        try:
            leased = api.post(f"/v1/queues/{PULL}/lease", {"lease_seconds": 60, "max_tasks": 1000})
            names = [task["name"] for task in leased["tasks"]]
            deleted = api.post(f"/v1/queues/{PULL}/delete", {"names": names})
        finally:
            gc.callbacks.remove(count)
    assert (len(names), len(deleted["results"])) == (1000, 1000)
    assert collections == []


def test_settings_come_back_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError, match="boom"), collector.serving():
        raise RuntimeError("boom")
    assert (gc.get_threshold(), gc.get_freeze_count()) == ((700, 10, 10), 0)


def test_a_freeze_made_before_is_left_as_it_was() -> None:
    """Something else (a pre-fork server, the user) froze objects first: serving neither
    freezes more nor unfreezes theirs."""
    gc.freeze()
    frozen = gc.get_freeze_count()
    with collector.serving():
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == frozen


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    with collector.serving():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_the_cli_serves_under_the_policy_and_restores_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``main()`` run in this process (as a test may): its server loop sees the serving
    policy, and the test process has its collector back when ``main()`` returns."""
    seen: dict[str, Any] = {}

    def serve(server: Any, runtime: Any, banner: str, grpc: Any = None) -> int:
        seen.update(threshold=gc.get_threshold(), frozen=gc.get_freeze_count())
        server.server_close()
        runtime.close()
        return 0

    monkeypatch.setattr(cli, "_serve", serve)
    assert cli.main(["--port", "0", "--storage", MEMORY_STORAGE]) == 0
    assert seen["threshold"] == (collector.SERVING_YOUNG_THRESHOLD, 10, 10)
    assert seen["frozen"] > 0
    assert (gc.get_threshold(), gc.get_freeze_count()) == ((700, 10, 10), 0)
