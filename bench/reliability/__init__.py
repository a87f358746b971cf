"""Reliability harness (docs/RELIABILITY.md): lease exclusivity under load, crash safety
under ``kill -9``, and a soak of mixed load.

``python -m bench.reliability {exclusivity,crash,soak} ...`` runs the full versions; the
pytest suite runs each at a small size (tests/test_reliability_*.py).

Modules: :mod:`events` (the JSONL event log), :mod:`checker` (histories → violations),
:mod:`servers` (emulator subprocesses), :mod:`workers` (the worker processes),
:mod:`exclusivity`, :mod:`crash`, :mod:`soak` (the three runs), :mod:`cli`.
"""
