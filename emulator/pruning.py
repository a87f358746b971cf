"""The background pass of ``--tombstone-ttl``: :class:`TombstonePruner`.

Registered as an app's background work (:mod:`emulator.background`) by
:func:`emulator.app.runtime_app` when the runtime has a retention; it runs while a server
serves the app. It imports no Flask, so the embedded shim could run one too.
"""

from __future__ import annotations

import logging
from typing import Final

from emulator.core.retention import TombstoneRetention
from emulator.domain.errors import TaskQueueError
from emulator.periodic import Periodic

#: Seconds of real time between two pruning passes.
PRUNE_INTERVAL_SECONDS: Final = 1.0
_log = logging.getLogger("emulator.retention")


class TombstonePruner:
    """Runs :meth:`TombstoneRetention.prune` every ``interval_seconds`` on a daemon thread,
    from :meth:`start` until :meth:`stop` (both idempotent).

    Each pass forgets expired tombstones in batches of one short transaction each, so
    requests interleave with it. A failing pass (the storage is full or read-only) is
    logged and the next one tries again.
    """

    def __init__(
        self, retention: TombstoneRetention, interval_seconds: float = PRUNE_INTERVAL_SECONDS
    ) -> None:
        self._retention = retention
        self._periodic = Periodic(
            self.run_once, interval_seconds, "taskqueue-emulator-tombstone-pruner"
        )

    def start(self) -> None:
        """Start the thread (a no-op if it is running); it prunes at once, then every
        interval."""
        self._periodic.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (up to ``timeout`` seconds)."""
        self._periodic.stop(timeout)

    def run_once(self) -> int:
        """One pass in the caller's thread; how many tombstones it forgot (0 if it failed)."""
        try:
            count = self._retention.prune()
        except TaskQueueError as exc:
            _log.warning("tombstone pruning failed, retrying later: %s", exc.message)
            return 0
        except Exception as exc:  # the thread must outlive a closing store
            _log.warning("tombstone pruning failed (%s: %s)", type(exc).__name__, exc)
            return 0
        if count:
            _log.debug("forgot %d tombstones older than the TTL", count)
        return count
