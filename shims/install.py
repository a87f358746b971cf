"""Putting the shim into ``sys.modules`` under Google's module names, and taking it out.

After :func:`install`, ``from google.appengine.api import taskqueue`` (and
``google.appengine.api.taskqueue.taskqueue``, ``google.appengine.runtime.apiproxy_errors``)
give the shim's modules. ``google`` stays a namespace package shared with ``google.cloud``
and ``google.protobuf``: the shim never replaces it, it only adds attributes. The parent
packages ``google.appengine``, ``google.appengine.api`` and ``google.appengine.runtime`` are
Google's own when the SDK is installed; otherwise the shim adds empty stand-ins (the
``runtime`` one also defines the SDK's request-level ``DeadlineExceededError``).

Google's SDK has more modules inside its ``taskqueue`` package (``taskqueue_service_bytes_pb2``,
``taskqueue_stub``, ``cloudtask``, ...) that the rest of the SDK imports: testbed, the datastore
stubs, ``queueinfo``. While the shim is installed, :class:`_SdkSubmoduleFinder` loads them from
Google's package directory under their usual names, so ``from google.appengine.ext import
testbed`` (datastore, memcache, ndb) works side by side with the shim's ``taskqueue``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from emulator import settings
from emulator.cloudtasks.target import CloudTasksTarget
from emulator.domain.limits import MEMORY_STORAGE
from emulator.domain.production import ProductionOptions, resolve_production
from shims import backends

TASKQUEUE = "google.appengine.api.taskqueue"
TASKQUEUE_MODULE = "google.appengine.api.taskqueue.taskqueue"
APIPROXY_ERRORS = "google.appengine.runtime.apiproxy_errors"
_PARENTS = ("google", "google.appengine", "google.appengine.api", "google.appengine.runtime")
_MISSING = object()


class DeadlineExceededError(BaseException):
    """Stand-in for ``google.appengine.runtime.DeadlineExceededError`` (the whole request ran
    out of time), defined when Google's SDK is not installed."""

    def __str__(self) -> str:
        return "The overall deadline for responding to the HTTP request was exceeded."


class _SdkSubmoduleFinder(importlib.abc.MetaPathFinder):
    """Finds ``google.appengine.api.taskqueue.<name>`` in Google's own package directory for
    every ``<name>`` the shim does not provide itself (only while the shim is installed)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.loaded: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        parent, _, name = fullname.rpartition(".")
        if parent != TASKQUEUE or fullname == TASKQUEUE_MODULE:
            return None
        source = self.directory / f"{name}.py"
        if not source.is_file():
            return None
        self.loaded.append(fullname)
        return importlib.util.spec_from_file_location(fullname, source)

    def package_attribute(self, name: str) -> ModuleType:
        """The shim package's ``__getattr__`` while installed: ``from
        google.appengine.api.taskqueue import taskqueue_stub`` asks the package (whose real
        name is ``shims.taskqueue``) for the attribute first, so answer with Google's module.

        Raises:
            AttributeError: ``name`` is not one of Google's taskqueue submodules.
        """
        if not (self.directory / f"{name}.py").is_file():
            raise AttributeError(f"module {TASKQUEUE!r} has no attribute {name!r}")
        return importlib.import_module(f"{TASKQUEUE}.{name}")


def _sdk_taskqueue_directory() -> Path | None:
    """Where Google's ``google/appengine/api/taskqueue`` package lives, if it is installed
    (found without importing it: importing it would load Google's taskqueue module)."""
    try:
        api = importlib.util.find_spec("google.appengine.api")
    except (ImportError, ValueError):
        return None
    for location in (api.submodule_search_locations or []) if api else []:
        directory = Path(location) / "taskqueue"
        if (directory / "__init__.py").is_file():
            return directory
    return None


@dataclass
class _Installation:
    """What :func:`install` changed, so :func:`uninstall` can put it back."""

    previous_modules: dict[str, ModuleType | None] = field(default_factory=dict)
    previous_attributes: list[tuple[ModuleType, str, object]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    finder: _SdkSubmoduleFinder | None = None


_lock = threading.RLock()
_installation: _Installation | None = None


def _shim_modules() -> dict[str, ModuleType]:
    from shims import apiproxy_errors, taskqueue

    return {
        TASKQUEUE: taskqueue,
        TASKQUEUE_MODULE: taskqueue.taskqueue,
        APIPROXY_ERRORS: apiproxy_errors,
    }


def is_installed() -> bool:
    """True between :func:`install` and :func:`uninstall`."""
    with _lock:
        return _installation is not None


def install(
    queue_yaml: str | None = None,
    storage: str = MEMORY_STORAGE,
    use_sdk: bool = False,
    *,
    lease_rate_limit: int | None = None,
    add_visibility_delay: float | None = None,
    inject_faults: str | None = None,
    inject_faults_seed: int | None = None,
    like_production: bool | None = None,
    backend: str = settings.BACKEND_LOCAL,
    project: str | None = None,
    location: str | None = None,
    endpoint: str | None = None,
) -> None:
    """Make ``google.appengine.api.taskqueue`` the emulator's shim.

    With ``backend="cloudtasks"`` the shim forwards every call to Cloud Tasks in ``project``
    and ``location`` (docs/MIGRATION.md), with no emulator at all: ``endpoint`` None is the
    real service with Application Default Credentials, ``"host:port"`` a plaintext gRPC
    Cloud Tasks emulator. ``queue_yaml`` still gives the queues' names and modes (the
    production settings below apply to the embedded emulator only).

    The backend is remote when ``TASKQUEUE_EMULATOR_HOST`` is set (when a call is made),
    embedded otherwise: ``queue_yaml`` (default: ``TASKQUEUE_EMULATOR_QUEUE_YAML``; None means
    only the push queue ``default``) and ``storage`` (a SQLite file, or ``:memory:``).
    Installing twice only updates the embedded settings.

    The embedded emulator's opt-in production behaviours (docs/TESTING.md), as the CLI's
    flags of the same names: ``lease_rate_limit`` (lease calls per queue per second that
    return tasks; 0: none), ``add_visibility_delay`` (seconds before a new task can be
    leased), ``inject_faults`` (``"lease=TRANSIENT_ERROR:0.05,..."``; ``"none"``),
    ``inject_faults_seed`` and ``like_production`` (production's figures for the ones not
    given). None means "as the ``TASKQUEUE_EMULATOR_*`` variable says", else off. A remote
    emulator has the behaviours its own flags give it.

    With ``use_sdk=True`` nothing is replaced: Google's real SDK is imported and its
    ``taskqueue`` service is routed to the emulator at ``TASKQUEUE_EMULATOR_HOST`` over
    ``/rpc_http`` (see :mod:`shims.sdk.stub`).

    Warns (``RuntimeWarning``) when one of Google's modules being replaced was already
    imported: code that imported it before keeps using Google's SDK.

    Raises:
        RuntimeError: ``use_sdk=True`` without ``TASKQUEUE_EMULATOR_HOST``.
        ImportError: ``use_sdk=True`` and Google's SDK is not installed.
        ValueError: a production setting (or its variable) is unusable, or given with
            ``backend="cloudtasks"``, or the backend, the project or the location is; the
            message names it.
    """
    if use_sdk:
        _install_sdk()
        return
    target = _cloud_tasks_target(backend, project, location, endpoint)
    explicit = {
        "lease_rate_limit": lease_rate_limit,
        "add_visibility_delay": add_visibility_delay,
        "inject_faults": inject_faults,
        "inject_faults_seed": inject_faults_seed,
        "like_production": like_production,
    }
    given = [name for name, value in explicit.items() if value is not None]
    if target is not None and given:
        raise ValueError(
            f"{', '.join(given)}: the production behaviours are the embedded emulator's; "
            'with backend="cloudtasks" Cloud Tasks itself is production (leave them out)'
        )
    production = _production(
        lease_rate_limit=lease_rate_limit,
        add_visibility_delay=add_visibility_delay,
        inject_faults=inject_faults,
        inject_faults_seed=inject_faults_seed,
        like_production=like_production,
    )
    global _installation
    with _lock:
        chosen_yaml = queue_yaml or os.environ.get(backends.ENV_QUEUE_YAML)
        backends.configure_embedded(chosen_yaml, storage, production)
        if target is not None:
            backends.configure_cloud_tasks(chosen_yaml, target)
        if _installation is not None:
            return
        installation = _Installation()
        modules = _shim_modules()
        _warn_about_loaded_sdk(modules)
        for name in _PARENTS:
            _ensure_package(name, installation)
        for name, module in modules.items():
            _put_module(name, module, installation)
        directory = _sdk_taskqueue_directory()
        if directory is not None:
            installation.finder = _SdkSubmoduleFinder(directory)
            sys.meta_path.insert(0, installation.finder)
            # A module-level __getattr__ (PEP 562), set only while the shim is installed.
            modules[TASKQUEUE].__dict__["__getattr__"] = installation.finder.package_attribute
        _installation = installation


def _cloud_tasks_target(
    backend: str, project: str | None, location: str | None, endpoint: str | None
) -> CloudTasksTarget | None:
    """The target of ``backend="cloudtasks"`` (None for the local backends), its values read
    as the CLI's ``--cloud-tasks-*`` flags read theirs.

    Raises:
        ValueError: an unknown backend, or a missing or unusable project, location, endpoint.
    """
    if backend == settings.BACKEND_LOCAL:
        return None
    if backend != settings.BACKEND_CLOUD_TASKS:
        raise ValueError(f"backend must be one of {', '.join(settings.BACKENDS)}, not {backend!r}")
    given = {"cloud_tasks_project": project, "cloud_tasks_location": location}
    values = {}
    for dest, value in {**given, "cloud_tasks_endpoint": endpoint}.items():
        argument = dest.removeprefix("cloud_tasks_")
        if value is None:
            if dest in given:
                raise ValueError(f"backend={backend!r} needs {argument}=...")
            continue
        try:
            values[argument] = settings.setting(dest).parse(value)
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"{argument}: {exc}") from None
    return CloudTasksTarget(**values)


def _production(**given: object) -> ProductionOptions:
    """The production behaviours of :func:`install`'s arguments, each one not given (None)
    taken from its ``TASKQUEUE_EMULATOR_*`` variable."""
    names = (
        "lease_rate_limit",
        "add_visibility_delay",
        "inject_faults",
        "inject_faults_seed",
        "like_production",
    )
    values = {
        name: given[name] if given[name] is not None else settings.from_environment(name)
        for name in names
    }
    like = bool(values.pop("like_production"))
    return resolve_production(like_production=like, **values)


def uninstall() -> None:
    """Undo :func:`install`: restore ``sys.modules`` and the parent packages' attributes, and
    close the automatically created backends. A no-op when not installed."""
    global _installation
    with _lock:
        installation, _installation = _installation, None
        if installation is None:
            return
        if installation.finder is not None:
            _forget_sdk_submodules(installation.finder)
        for name, previous in installation.previous_modules.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
        for parent, attribute, value in reversed(installation.previous_attributes):
            if value is _MISSING:
                parent.__dict__.pop(attribute, None)
            else:
                setattr(parent, attribute, value)
        for name in reversed(installation.created):
            sys.modules.pop(name, None)
    backends.close_all()


def _forget_sdk_submodules(finder: _SdkSubmoduleFinder) -> None:
    """Remove the finder and the SDK submodules loaded through it that were bound to the
    shim's ``taskqueue`` (``taskqueue_stub`` imports it), so a later import of Google's SDK
    loads them afresh. Generated ``*_pb2`` modules stay: they import nothing of the shim, and
    loading one twice would register its descriptors twice."""
    with contextlib.suppress(ValueError):
        sys.meta_path.remove(finder)
    from shims import taskqueue

    taskqueue.__dict__.pop("__getattr__", None)
    for name in finder.loaded:
        taskqueue.__dict__.pop(name.rpartition(".")[2], None)
        if not name.endswith("_pb2"):
            sys.modules.pop(name, None)


def _warn_about_loaded_sdk(modules: dict[str, ModuleType]) -> None:
    replaced = [
        name
        for name, module in modules.items()
        if sys.modules.get(name) is not None and sys.modules[name] is not module
    ]
    if replaced:
        warnings.warn(
            "shims.install(): Google's SDK module(s) "
            + ", ".join(replaced)
            + " were already imported; sys.modules now maps them to the task-queue emulator's "
            "shim. Code that imported them before install() keeps using Google's SDK (and its "
            "exception classes). Call shims.install() before importing Google's SDK.",
            RuntimeWarning,
            stacklevel=3,
        )


def _ensure_package(name: str, installation: _Installation) -> ModuleType:
    """The package ``name``: already imported, importable (Google's), or a stand-in."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    try:
        return importlib.import_module(name)
    except ImportError:
        pass
    module = ModuleType(name)
    module.__path__ = []
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    module.__package__ = name
    if name == "google.appengine.runtime":
        module.DeadlineExceededError = DeadlineExceededError  # type: ignore[attr-defined]
    installation.previous_modules.setdefault(name, None)
    installation.created.append(name)
    sys.modules[name] = module
    _set_attribute_on_parent(name, module, installation)
    return module


def _put_module(name: str, module: ModuleType, installation: _Installation) -> None:
    installation.previous_modules.setdefault(name, sys.modules.get(name))
    sys.modules[name] = module
    _set_attribute_on_parent(name, module, installation)


def _set_attribute_on_parent(name: str, module: ModuleType, installation: _Installation) -> None:
    parent_name, _, attribute = name.rpartition(".")
    parent = sys.modules.get(parent_name) if parent_name else None
    if parent is None or parent_name == TASKQUEUE:
        return
    installation.previous_attributes.append(
        (parent, attribute, parent.__dict__.get(attribute, _MISSING))
    )
    setattr(parent, attribute, module)


def _install_sdk() -> None:
    host = os.environ.get(backends.ENV_HOST, "").strip()
    if not host:
        raise RuntimeError(
            "shims.install(use_sdk=True) needs TASKQUEUE_EMULATOR_HOST=host:port: Google's SDK "
            "talks to a running emulator over /rpc_http"
        )
    uninstall()
    try:
        importlib.import_module(TASKQUEUE)
    except ImportError as exc:
        raise ImportError(
            "shims.install(use_sdk=True) needs Google's SDK: pip install appengine-python-standard"
        ) from exc
    from shims.sdk import stub as sdk_stub

    sdk_stub.register_sdk_stub(host)
