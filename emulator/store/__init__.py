"""Storage implementations of :class:`emulator.core.store.TaskStore`."""
