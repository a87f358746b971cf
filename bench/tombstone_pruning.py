"""How long one tombstone-pruning batch holds the store (``--tombstone-ttl``).

``python -m bench.tombstone_pruning [N]`` makes N tombstones (default 100 000) in a SQLite
file, lets them expire on a frozen clock and prunes them the way the background pruner does
(batches of :data:`~emulator.core.retention.PRUNE_BATCH`, one transaction each), then prints
the number of batches and the median and largest time one batch took: the longest a request
waits behind the pruner. A figure, not a test: nothing here fails on timing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from emulator.core.retention import PRUNE_BATCH, TombstoneRetention
from emulator.domain.clock import ControllableClock, FakeClock
from emulator.domain.model import StoredTask
from emulator.store.sqlite import SqliteTaskStore


def _tombstones(store: SqliteTaskStore, count: int, now_usec: int) -> None:
    with store.transaction() as tx:
        for i in range(count):
            tx.insert_task(StoredTask("q", f"t{i:07}", eta_usec=0))
            tx.delete_task("q", f"t{i:07}", tombstone_usec=now_usec)


def measure(count: int) -> str:
    """Prune ``count`` expired tombstones; the figures as one line."""
    clock = ControllableClock()
    clock.freeze(FakeClock.DEFAULT_START_USEC)
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteTaskStore(Path(directory) / "tasks.sqlite3")
        _tombstones(store, count, clock.now_usec())
        clock.advance(10)
        retention = TombstoneRetention(store, clock, ttl_seconds=1)
        times: list[float] = []
        pruned = PRUNE_BATCH
        while pruned == PRUNE_BATCH:
            start = time.perf_counter()
            pruned = retention.prune_batch()
            times.append(time.perf_counter() - start)
        store.close()
    times.sort()
    return (
        f"tombstones={count} batch={PRUNE_BATCH} batches={len(times)} "
        f"median_ms={times[len(times) // 2] * 1e3:.2f} max_ms={times[-1] * 1e3:.2f}"
    )


def main(argv: list[str]) -> int:
    """Run :func:`measure` with the count in ``argv`` (default 100 000)."""
    print(measure(int(argv[0]) if argv else 100_000))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
