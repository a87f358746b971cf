"""The pull-queue core: pure semantics over an injected clock and a store interface.

Nothing here imports Flask, sqlite3 or gRPC (a test checks this).
"""
