"""Making backend calls the way the SDK makes RPCs: async with a result hook, or sync.

The backend is chosen (``shims.backends.current()``) when the call is made, so an RPC keeps
talking to the backend it started on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shims import backends
from shims.taskqueue._rpc import ResultHook, UserRPC, create_rpc, sync_call

BackendCall = Callable[[backends.Backend, float], Any]


def make_async_call(
    method: str, call: BackendCall, hook: ResultHook, rpc: UserRPC | None
) -> UserRPC:
    """Start ``call`` on ``rpc`` (a new RPC if None) and return the RPC."""
    if rpc is None:
        rpc = create_rpc()
    if not isinstance(rpc, UserRPC):
        raise TypeError(
            f"rpc must come from this module's create_rpc(), not {type(rpc).__module__}"
        )
    assert rpc.service == "taskqueue", repr(rpc.service)
    backend = backends.current()
    rpc.make_call(method, lambda deadline: call(backend, deadline), hook)
    return rpc


def make_sync_call(call: BackendCall) -> Any:
    """Run ``call`` now; errors are raised as taskqueue exceptions."""
    backend = backends.current()
    return sync_call(lambda deadline: call(backend, deadline))
