"""Benchmarks of the task-queue emulator against Google's testbed stub (issue 10).

``python -m bench`` runs every target side by side (see :mod:`bench.cli`). Only
:mod:`bench.emulator_api` imports the emulator and the shim.
"""
