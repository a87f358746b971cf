"""Wiring: build the service from a queue.yaml path and a storage location.

Used by the CLI, by the shim's embedded backend and by the pytest plugin's live server. This
module knows nothing of HTTP: it imports no Flask, werkzeug or protobuf, even transitively
(a test checks this), so an embedded emulator stays server-free. Serving a runtime is
:func:`emulator.app.runtime_app` plus :mod:`emulator.server`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from emulator.config import ConfigWatcher
from emulator.core.pull_queue import LocalQueueService
from emulator.domain.clock import ControllableClock
from emulator.store.sqlite import SqliteTaskStore

_log = logging.getLogger("emulator")


@dataclass
class Runtime:
    """A ready-to-use service with the parts a caller may need to reach."""

    service: LocalQueueService
    clock: ControllableClock
    store: SqliteTaskStore

    def close(self) -> None:
        """Close the store."""
        self.store.close()


def build_runtime(
    queue_yaml: str | None,
    storage: str,
    *,
    clock: ControllableClock | None = None,
    create_parent: bool = False,
) -> Runtime:
    """Load the config (raising ``ConfigError`` if it is bad) and open the store
    (``create_parent``: create the storage file's directory if it is missing).

    Raises:
        emulator.config.ConfigError: the queue.yaml cannot be used.
        emulator.store.sqlite.StoreError: the storage cannot be opened.
    """
    watcher = ConfigWatcher(queue_yaml, logger=_log)
    watcher.load_initial()
    store = SqliteTaskStore(storage, create_parent=create_parent)
    clock = clock or ControllableClock()
    return Runtime(LocalQueueService(store, clock, watcher.current), clock, store)
