"""Queue configuration from queue.yaml: reading (:mod:`~emulator.config.queue_yaml`),
production's deployment rules (:mod:`~emulator.config.rules`) and reloading on change
(:mod:`~emulator.config.watcher`)."""

from emulator.config.queue_yaml import ConfigError, load_queue_yaml, parse_queue_yaml
from emulator.config.watcher import ConfigWatcher

__all__ = ["ConfigError", "ConfigWatcher", "load_queue_yaml", "parse_queue_yaml"]
