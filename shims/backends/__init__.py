"""Which backend the shim talks to: :func:`current`, :func:`use`, :func:`configure_embedded`.

The backends (:mod:`~shims.backends.protocol` says what they do): :mod:`~shims.backends.embedded`
drives the emulator's core in this process (no server, no HTTP),
:mod:`~shims.backends.remote` talks to an emulator's JSON API over HTTP
(:mod:`~shims.backends.http`) and :mod:`~shims.backends.cloudtasks` forwards to Cloud Tasks
in this process.

Which backend :func:`current` returns: the one set with :func:`use` if any; otherwise the
Cloud Tasks backend if :func:`configure_cloud_tasks` chose it; otherwise a remote
backend for ``TASKQUEUE_EMULATOR_HOST`` when that variable is set (read at each call, so a
test can point the shim at a server by setting it); otherwise the embedded backend built from
:func:`configure_embedded`'s settings (default: ``TASKQUEUE_EMULATOR_QUEUE_YAML`` and an
in-memory store), created on first use. Its production behaviours (lease rate limit, faults,
visibility delay) are the ones configured, else those the ``TASKQUEUE_EMULATOR_*`` variables
ask for (read as the CLI reads them, when it is built).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Final

from emulator.cloudtasks.target import CloudTasksTarget
from emulator.domain.clock import ControllableClock
from emulator.domain.limits import MEMORY_STORAGE
from emulator.domain.production import ProductionOptions
from emulator.settings import HOST_ENV, QUEUE_YAML_ENV, production_from_environment
from shims.backends.protocol import (
    Backend,
    ControlledBackend,
    ControlUnavailableError,
    QueueView,
)

__all__ = [
    "ENV_HOST",
    "ENV_QUEUE_YAML",
    "Backend",
    "ControlUnavailableError",
    "ControlledBackend",
    "QueueView",
    "close_all",
    "configure_cloud_tasks",
    "configure_embedded",
    "current",
    "use",
]

#: ``host:port`` of the emulator the shim talks to (unset: the embedded emulator).
ENV_HOST: Final = HOST_ENV
#: The embedded emulator's queue.yaml, unless :func:`configure_embedded` names one.
ENV_QUEUE_YAML: Final = QUEUE_YAML_ENV


@dataclass(frozen=True)
class EmbeddedSettings:
    """How to build the default embedded backend."""

    queue_yaml: str | None = None
    storage: str = MEMORY_STORAGE
    #: None: what the ``TASKQUEUE_EMULATOR_*`` variables ask for when the backend is built.
    production: ProductionOptions | None = None


@dataclass(frozen=True)
class CloudTasksSettings:
    """How to build the Cloud Tasks backend."""

    queue_yaml: str | None
    target: CloudTasksTarget
    clock: ControllableClock | None = None


_lock = threading.RLock()
_forwarding: CloudTasksSettings | None = None
_cloud_tasks: ControlledBackend | None = None
_explicit: ControlledBackend | None = None
_settings: EmbeddedSettings | None = None
_embedded: ControlledBackend | None = None
_remotes: dict[str, ControlledBackend] = {}


def use(backend: ControlledBackend | None) -> ControlledBackend | None:
    """Make ``backend`` the one :func:`current` returns (None: back to automatic choice).

    Returns the previously set backend (not closed; the caller owns it).
    """
    global _explicit
    with _lock:
        previous, _explicit = _explicit, backend
        return previous


def configure_embedded(
    queue_yaml: str | None = None,
    storage: str = MEMORY_STORAGE,
    production: ProductionOptions | None = None,
) -> None:
    """Settings for the automatic embedded backend; a built one is closed and rebuilt lazily.

    ``production`` None means the behaviours the ``TASKQUEUE_EMULATOR_*`` variables ask for.
    """
    global _settings, _embedded
    with _lock:
        _settings = EmbeddedSettings(queue_yaml, storage, production)
        old, _embedded = _embedded, None
    _drop_cloud_tasks()
    if old is not None:
        old.close()


def configure_cloud_tasks(
    queue_yaml: str | None, target: CloudTasksTarget, clock: ControllableClock | None = None
) -> None:
    """Make :func:`current` forward to Cloud Tasks at ``target`` (built lazily, queue.yaml
    ``queue_yaml``; ``clock``: what "now" reads, default the system's), ahead of
    ``TASKQUEUE_EMULATOR_HOST`` and the embedded emulator, until :func:`configure_embedded`
    or :func:`close_all`."""
    global _forwarding
    _drop_cloud_tasks()
    with _lock:
        _forwarding = CloudTasksSettings(queue_yaml, target, clock)


def _drop_cloud_tasks() -> None:
    global _forwarding, _cloud_tasks
    with _lock:
        old, _cloud_tasks, _forwarding = _cloud_tasks, None, None
    if old is not None:
        old.close()


def current() -> ControlledBackend:
    """The backend the shim module talks to now (see the module docstring)."""
    with _lock:
        if _explicit is not None:
            return _explicit
        if _forwarding is not None:
            return _cloud_tasks_backend(_forwarding)
        host = os.environ.get(ENV_HOST, "").strip()
        if host:
            return _remote_for(host)
        return _default_embedded()


def _remote_for(host: str) -> ControlledBackend:
    backend = _remotes.get(host)
    if backend is None:
        from shims.backends.remote import RemoteBackend

        backend = _remotes[host] = RemoteBackend(host)
    return backend


def _cloud_tasks_backend(settings: CloudTasksSettings) -> ControlledBackend:
    global _cloud_tasks
    if _cloud_tasks is None:
        from shims.backends.cloudtasks import CloudTasksBackend

        _cloud_tasks = CloudTasksBackend.build(settings.queue_yaml, settings.target, settings.clock)
    return _cloud_tasks


def _default_embedded() -> ControlledBackend:
    global _embedded
    if _embedded is None:
        from shims.backends.embedded import EmbeddedBackend

        settings = _settings or EmbeddedSettings(os.environ.get(ENV_QUEUE_YAML) or None)
        production = settings.production or production_from_environment()
        _embedded = EmbeddedBackend.build(settings.queue_yaml, settings.storage, production)
    return _embedded


def close_all() -> None:
    """Close and forget every automatically created backend (not one set with :func:`use`),
    and the choice of Cloud Tasks."""
    global _embedded
    _drop_cloud_tasks()
    with _lock:
        backends = [b for b in (_embedded, *_remotes.values()) if b is not None]
        _embedded = None
        _remotes.clear()
    for backend in backends:
        backend.close()
