"""Storage implementations of :class:`emulator.store.protocol.TaskStore`."""
