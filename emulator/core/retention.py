"""Tombstone retention (``--tombstone-ttl``): forget deleted names older than the TTL.

Pure: the decision reads the injected clock, the work is the store's
:meth:`~emulator.store.protocol.StoreTransaction.prune_tombstones` in small batches, one
short transaction each, so a request never waits behind more than one batch.
:mod:`emulator.pruning` runs :meth:`TombstoneRetention.prune` in the background.
"""

from __future__ import annotations

from typing import Final

from emulator.domain.clock import Clock
from emulator.domain.limits import usec_from_seconds
from emulator.store.protocol import TaskStore

#: Tombstones forgotten per transaction.
PRUNE_BATCH: Final = 500


class TombstoneRetention:
    """Forgets tombstones made more than ``ttl_seconds`` before the clock's now.

    A tombstone exactly ``ttl_seconds`` old is kept; one a microsecond older is forgotten
    (its name can be added again). Queue statistics count tasks, not tombstones, so they
    do not change.
    """

    def __init__(
        self, store: TaskStore, clock: Clock, ttl_seconds: int, batch: int = PRUNE_BATCH
    ) -> None:
        if ttl_seconds < 0 or batch < 1:
            raise ValueError("the TTL must be >= 0 seconds and the batch >= 1")
        self._store = store
        self._clock = clock
        self._ttl_usec = usec_from_seconds(ttl_seconds)
        self._batch = batch
        self.ttl_seconds = ttl_seconds

    def prune_batch(self) -> int:
        """Forget at most one batch of expired tombstones in one transaction; return how many.

        Raises:
            StorageUnavailable: the store failed; nothing of this batch was forgotten.
        """
        cutoff = self._clock.now_usec() - self._ttl_usec
        with self._store.transaction() as tx:
            return tx.prune_tombstones(cutoff, self._batch)

    def prune(self, max_batches: int = 1000) -> int:
        """Batches until one is not full (or ``max_batches``); return how many were forgotten.
        Other transactions run between the batches."""
        total = 0
        for _ in range(max_batches):
            count = self.prune_batch()
            total += count
            if count < self._batch:
                break
        return total
