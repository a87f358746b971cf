"""``ConfigWatcher``: the configuration of one queue.yaml, reloaded when the file changes."""

from __future__ import annotations

import logging
import os
import threading
from typing import Final

from emulator.config.queue_yaml import ConfigError, load_queue_yaml
from emulator.domain.queue_config import QueuesConfig

_LOG: Final = logging.getLogger(__name__)

_Signature = tuple[int, int]


class ConfigWatcher:
    """The current queue configuration of one file, reloaded when the file changes.

    With ``path`` None it always returns the built-in configuration (just ``default``).
    :meth:`current` stats the file once per call and reloads when its ``(mtime_ns, size)``
    changed; a bad, unreadable or deleted file is logged once (until the file changes
    again) and the last good configuration stays in force. Thread-safe.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None, *, logger: logging.Logger | None = None
    ) -> None:
        self._path = None if path is None else os.fspath(path)
        self._logger = logger or _LOG
        self._lock = threading.Lock()
        self._builtin = QueuesConfig()
        self._config: QueuesConfig | None = None
        self._signature: _Signature | None = None
        self._reload_count = 0

    @property
    def path(self) -> str | None:
        """The watched file, or None for the built-in configuration."""
        return self._path

    @property
    def reload_count(self) -> int:
        """How many times a changed file was reloaded successfully (the first load is not one)."""
        return self._reload_count

    def load_initial(self) -> QueuesConfig:
        """Load the file now and make it current; raises ConfigError if it is bad."""
        if self._path is None:
            return self._builtin
        with self._lock:
            return self._load_locked(self._path)

    def current(self) -> QueuesConfig:
        """The configuration in force, reloading first if the file changed.

        Before any good load (no :meth:`load_initial`), this loads and may raise ConfigError.
        """
        if self._path is None:
            return self._builtin
        with self._lock:
            if self._config is None:
                return self._load_locked(self._path)
            signature = _stat_signature(self._path)
            if signature == self._signature:
                return self._config
            self._signature = signature
            return self._reload_locked(self._path, self._config)

    def _load_locked(self, path: str) -> QueuesConfig:
        """First load: errors propagate; on success the config and signature are recorded."""
        signature = _stat_signature(path)
        config = load_queue_yaml(path)
        self._config, self._signature = config, signature
        return config

    def _reload_locked(self, path: str, previous: QueuesConfig) -> QueuesConfig:
        """Reload a changed file; on error log it and keep ``previous``."""
        try:
            config = load_queue_yaml(path)
        except ConfigError as exc:
            self._logger.error("%s (keeping the previous queue configuration)", exc)
            return previous
        self._config = config
        self._reload_count += 1
        self._logger.info("reloaded %s: %d queues", path, len(config.queues))
        return config


def _stat_signature(path: str) -> _Signature | None:
    """``(mtime_ns, size)`` of ``path``, or None if it cannot be stat'ed (e.g. deleted)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)
