"""The test-control face (``/_emulator/*``): reset, clock, flush and forget, for tests only."""
