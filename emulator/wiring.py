"""Wiring: build the service from a queue.yaml path and a storage location.

Used by the CLI, by the shim's embedded backend and by the pytest plugin's live server. This
module knows nothing of HTTP: it imports no Flask, werkzeug or protobuf, even transitively
(a test checks this), so an embedded emulator stays server-free. Serving a runtime is
:func:`emulator.app.runtime_app` plus :mod:`emulator.server`.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field, replace

from emulator.config import ConfigWatcher
from emulator.core.acl import AclService
from emulator.core.faults import FaultInjectingService, FaultPlan
from emulator.core.pull_queue import LocalQueueService
from emulator.core.rate_limit import RateLimitedService
from emulator.core.retention import TombstoneRetention
from emulator.core.service import QueueService
from emulator.core.visibility import VisibilityDelayService
from emulator.domain.clock import Clock, ControllableClock
from emulator.domain.production import ProductionOptions
from emulator.store.sqlite import SqliteTaskStore

_log = logging.getLogger("emulator")


@dataclass
class Runtime:
    """A ready-to-use service with the parts a caller may need to reach.

    ``service`` is the core with the production behaviours of ``production`` around it (see
    :func:`compose`); ``faults`` is the plan its fault injection follows (``fail_next``);
    ``retention`` forgets old tombstones (``--tombstone-ttl``; None: kept forever), run in
    the background by a server (:mod:`emulator.pruning`).
    """

    service: QueueService
    clock: ControllableClock
    store: SqliteTaskStore
    faults: FaultPlan = field(default_factory=FaultPlan)
    production: ProductionOptions = field(default_factory=ProductionOptions)
    retention: TombstoneRetention | None = None

    def close(self) -> None:
        """Close the store."""
        self.store.close()


def build_runtime(
    queue_yaml: str | None,
    storage: str,
    *,
    clock: ControllableClock | None = None,
    create_parent: bool = False,
    production: ProductionOptions | None = None,
    tombstone_ttl_seconds: int | None = None,
    enforce_acl: bool = False,
) -> Runtime:
    """Load the config (raising ``ConfigError`` if it is bad) and open the store
    (``create_parent``: create the storage file's directory if it is missing); the service
    has the ``production`` behaviours (default: none); tombstones older than
    ``tombstone_ttl_seconds`` are forgotten by ``Runtime.retention`` (None: kept forever);
    with ``enforce_acl`` queue.yaml ``acl`` entries are checked against the identity the
    faces set (``--identity-header``; :class:`emulator.core.acl.AclService`).

    Raises:
        emulator.config.ConfigError: the queue.yaml cannot be used.
        emulator.store.sqlite.StoreError: the storage cannot be opened.
    """
    watcher = ConfigWatcher(queue_yaml, logger=_log)
    watcher.load_initial()
    clock = clock or ControllableClock()
    store = SqliteTaskStore(storage, create_parent=create_parent, clock=clock)
    options = with_fault_seed(production or ProductionOptions())
    service, plan = compose(LocalQueueService(store, clock, watcher.current), clock, options)
    if enforce_acl:
        service = AclService(service)  # outermost: a refused call reaches no fault or store
    retention = (
        None
        if tombstone_ttl_seconds is None
        else TombstoneRetention(store, clock, tombstone_ttl_seconds)
    )
    return Runtime(service, clock, store, plan, options, retention)


def with_fault_seed(options: ProductionOptions) -> ProductionOptions:
    """``options`` with a seed for its random faults: its own, else one chosen now (and
    logged, so the run can be replayed with ``--inject-faults-seed``)."""
    if not options.fault_rates or options.fault_seed is not None:
        return options
    seed = random.SystemRandom().randrange(2**32)
    _log.info("random faults use seed %d (replay them with --inject-faults-seed %d)", seed, seed)
    return replace(options, fault_seed=seed)


def compose(
    core: QueueService, clock: Clock, options: ProductionOptions
) -> tuple[QueueService, FaultPlan]:
    """The service every face calls: ``core`` inside the production behaviours that are on,
    innermost first: the visibility delay, the lease rate limit, fault injection (always
    there, for ``fail_next``; idle until a fault is armed or random faults are on). So a
    call failed by a fault reaches neither the rate limit nor the store.

    Raises:
        ValueError: random faults without a seed (see :func:`with_fault_seed`).
    """
    service = core
    if options.add_visibility_delay_seconds > 0:
        service = VisibilityDelayService(service, clock, options.add_visibility_delay_seconds)
    if options.lease_rate_limit:
        service = RateLimitedService(service, clock, options.lease_rate_limit)
    plan = FaultPlan(options.fault_rates, options.fault_seed)
    return FaultInjectingService(service, plan), plan
