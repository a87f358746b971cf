"""Wiring: build the service from a queue.yaml path and a storage location.

Used by the CLI, by the shim's embedded backend and by the pytest plugin's live server. This
module knows nothing of HTTP: it imports no Flask, werkzeug or protobuf, even transitively
(a test checks this), so an embedded emulator stays server-free; the one exception is
:func:`build_forwarding_runtime`, which imports google-cloud-tasks when it is called.
Serving a runtime is :func:`emulator.app.runtime_app` plus :mod:`emulator.server`.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from emulator.cloudtasks.target import CloudTasksTarget
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
    ``store`` is None when the service forwards to Cloud Tasks (``forwarding`` says where).
    """

    service: QueueService
    clock: ControllableClock
    store: SqliteTaskStore | None
    faults: FaultPlan = field(default_factory=FaultPlan)
    production: ProductionOptions = field(default_factory=ProductionOptions)
    retention: TombstoneRetention | None = None
    forwarding: CloudTasksTarget | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Close the store, or the channels to Cloud Tasks."""
        if self.store is not None:
            self.store.close()
        for close in self.closers:
            close()


def build_runtime(
    queue_yaml: str | None,
    storage: str,
    *,
    clock: ControllableClock | None = None,
    create_parent: bool = False,
    production: ProductionOptions | None = None,
    tombstone_ttl_seconds: int | None = None,
    enforce_acl: bool = False,
    fsync: bool = False,
) -> Runtime:
    """Load the config (raising ``ConfigError`` if it is bad) and open the store
    (``create_parent``: create the storage file's directory if it is missing; ``fsync``:
    sync a file to the disk at each checkpoint, :class:`SqliteTaskStore`); the service
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
    store = SqliteTaskStore(storage, create_parent=create_parent, clock=clock, fsync=fsync)
    options = with_fault_seed(production or ProductionOptions())
    service, plan = compose(LocalQueueService(store, clock, watcher.current), clock, options)
    if enforce_acl:
        service = AclService(service)  # outermost: a refused call reaches no fault or store
    retention = (
        None
        if tombstone_ttl_seconds is None
        else TombstoneRetention(store, clock, tombstone_ttl_seconds)
    )
    return Runtime(service, clock, store, plan, options, retention=retention)


def build_forwarding_runtime(
    queue_yaml: str | None,
    target: CloudTasksTarget,
    *,
    clock: ControllableClock | None = None,
    production: ProductionOptions | None = None,
    enforce_acl: bool = False,
) -> Runtime:
    """A runtime whose service forwards to Cloud Tasks at ``target``
    (:class:`emulator.cloudtasks.service.CloudTasksQueueService`), inside the same production
    behaviours as :func:`build_runtime`. The queue.yaml still gives the queues' names, modes
    and retry settings; ``clock`` is what the service's "now" reads (default: the system's);
    ``enforce_acl`` as for :func:`build_runtime`.

    google-cloud-tasks (and protobuf) are imported here, only when forwarding is chosen.

    Raises:
        emulator.config.ConfigError: the queue.yaml cannot be used.
        TaskQueueError: PERMISSION_DENIED: no endpoint and no Application Default Credentials.
    """
    from emulator.cloudtasks.clients import connect
    from emulator.cloudtasks.service import CloudTasksQueueService

    watcher = ConfigWatcher(queue_yaml, logger=_log)
    watcher.load_initial()
    clock = clock or ControllableClock()
    clients = connect(target)
    forwarding = CloudTasksQueueService(clients, target, watcher.current, clock)
    options = with_fault_seed(production or ProductionOptions())
    service, plan = compose(forwarding, clock, options)
    if enforce_acl:
        service = AclService(service)
    return Runtime(
        service, clock, None, plan, options, forwarding=target, closers=[forwarding.close]
    )


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
