"""Google's SDK, unmodified, against the emulator: an apiproxy stub for the ``taskqueue`` service.

With ``appengine-python-standard`` installed, :func:`register_sdk_stub` puts an
:class:`EmulatorTaskQueueStub` in ``apiproxy_stub_map.apiproxy`` for the ``taskqueue`` service
only (datastore and every other service keep their stubs). The SDK's own ``taskqueue`` module,
its ``Task``/``Queue`` classes and its exceptions then work unchanged: each call is sent as a
``remote_api.Request`` to ``POST http://$TASKQUEUE_EMULATOR_HOST/rpc_http``, the same protocol
the SDK speaks to App Engine's API server (legacy-taskqueue-api.md §7.4), without a security
ticket or ``API_HOST`` set-up.

Failures are the SDK's: ``application_error`` → ``apiproxy_errors.ApplicationError`` (which
``taskqueue`` translates into ``UnknownQueueError`` & co.); ``rpc_error`` → the
``apiproxy_errors`` class of its code (§2.3); no answer within the call's deadline →
``DeadlineExceededError``; an emulator that is down (connection refused or dropped) →
``ApplicationError(TRANSIENT_ERROR)``, so callers see ``taskqueue.TransientError``.

Adds carry the SDK's clock reading (``X-TaskQueue-Emulator-Client-Now-Usec``, read through
the SDK module's own ``time``, so a test that patches it is honoured): under a test clock the
emulator moves the ETAs the SDK computed onto its own clock, so a task added without an ETA
is ready at the frozen instant it was added.

Calls are thread-safe; keep-alive connections are pooled and reused across threads
(:mod:`shims.backends.http`, the client the remote backend uses too).
``UserRPC`` calls (``add_async``, ``lease_tasks_async``, ...) run on the SDK's RPC thread pool.
"""

from __future__ import annotations

import http.client
import os
import sys
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from google.appengine.api import (
    apiproxy_rpc,
    apiproxy_stub_map,
)
from google.appengine.ext.remote_api import (
    remote_api_bytes_pb2 as remote_api,
)
from google.appengine.runtime import apiproxy_errors

from emulator.domain.errors import ErrorCode
from emulator.domain.limits import DEFAULT_API_DEADLINE_SECONDS, MAX_REQUEST_SIZE_BYTES
from emulator.faces.rpc_http import CLIENT_NOW_HEADER, RPC_PATH, TASKQUEUE_SERVICE
from emulator.settings import HOST_ENV
from shims.backends.http import ConnectionFailed, DeadlineExceeded, HttpClient

_TICKET: Final = "taskqueue-emulator"
_ADD_CALLS: Final = frozenset({"BulkAdd", "Add"})
#: Calls that may be sent twice with the effect of once: only these are resent after a
#: kept-alive connection broke (the emulator may have acted on any other).
_IDEMPOTENT_CALLS: Final = frozenset(
    {"FetchQueueStats", "FetchQueues", "QueryTasks", "FetchTask", "PurgeQueue", "PauseQueue"}
)
_SDK_TASKQUEUE_MODULE: Final = "google.appengine.api.taskqueue.taskqueue"

_RpcErrorCode = remote_api.RpcError
#: ``remote_api.RpcError`` code → the exception class and message the SDK's own transport
#: (``default_api_stub._EXCEPTIONS_MAP``) raises for it.
RPC_ERRORS: Final[Mapping[int, tuple[type[Exception], str]]] = MappingProxyType(
    {
        _RpcErrorCode.UNKNOWN: (
            apiproxy_errors.RPCFailedError,
            "The remote RPC to the application server failed for call %s.%s().",
        ),
        _RpcErrorCode.CALL_NOT_FOUND: (
            apiproxy_errors.CallNotFoundError,
            "The API package '%s' or call '%s()' was not found.",
        ),
        _RpcErrorCode.PARSE_ERROR: (
            apiproxy_errors.ArgumentError,
            "There was an error parsing arguments for API call %s.%s().",
        ),
        _RpcErrorCode.OVER_QUOTA: (
            apiproxy_errors.OverQuotaError,
            "The API call %s.%s() required more quota than is available.",
        ),
        _RpcErrorCode.REQUEST_TOO_LARGE: (
            apiproxy_errors.RequestTooLargeError,
            "The request to API call %s.%s() was too large.",
        ),
        _RpcErrorCode.CAPABILITY_DISABLED: (
            apiproxy_errors.CapabilityDisabledError,
            "The API call %s.%s() is temporarily disabled.",
        ),
        _RpcErrorCode.FEATURE_DISABLED: (
            apiproxy_errors.FeatureNotEnabledError,
            "The API call %s.%s() is currently not enabled.",
        ),
        _RpcErrorCode.RESPONSE_TOO_LARGE: (
            apiproxy_errors.ResponseTooLargeError,
            "The response from API call %s.%s() was too large.",
        ),
        _RpcErrorCode.CANCELLED: (
            apiproxy_errors.CancelledError,
            "The API call %s.%s() was explicitly cancelled.",
        ),
        _RpcErrorCode.DEADLINE_EXCEEDED: (
            apiproxy_errors.DeadlineExceededError,
            "The API call %s.%s() took too long to respond and was cancelled.",
        ),
    }
)
_HEADERS: Final = MappingProxyType(
    {
        "Content-Type": "application/octet-stream",
        "X-Google-RPC-Service-Endpoint": "app-engine-apis",
        "X-Google-RPC-Service-Method": "/VMRemoteAPI.CallRemoteAPI",
    }
)


class EmulatorRPC(apiproxy_rpc.RPC):  # type: ignore[misc]
    """An RPC of :class:`EmulatorTaskQueueStub` that honours its ``deadline``.

    The base class runs ``_SendRequest`` on the SDK's thread pool (the stub is THREADSAFE)
    and stores any exception for ``CheckSuccess()``.
    """

    def _SendRequest(self) -> None:
        self.stub.forward(self.package, self.call, self.request, self.response, self.deadline)


class EmulatorTaskQueueStub:
    """An apiproxy stub that forwards ``taskqueue`` calls to the emulator's ``/rpc_http``."""

    THREADSAFE = True

    def __init__(self, host: str) -> None:
        """``host`` is ``host[:port]`` of the emulator (port 8089 if omitted).

        Raises:
            ValueError: ``host`` cannot be parsed.
        """
        self._http = HttpClient(host)

    @property
    def address(self) -> str:
        """``host:port`` this stub sends to."""
        return self._http.address

    def CreateRPC(self) -> EmulatorRPC:
        """A new RPC for ``UserRPC`` and ``apiproxy_stub_map.MakeSyncCall``."""
        return EmulatorRPC(stub=self)

    def MakeSyncCall(
        self, service: str, call: str, request: Any, response: Any, request_id: Any = None
    ) -> None:
        """Make one call with the default deadline, filling ``response``."""
        self.forward(service, call, request, response, None)

    def forward(
        self, service: str, call: str, request: Any, response: Any, deadline: float | None
    ) -> None:
        """Send ``request`` as ``service.call`` and parse the answer into ``response``.

        Raises:
            apiproxy_errors.Error: a subclass, as described in the module docstring.
        """
        error = _error_factory(service, call)
        if service != TASKQUEUE_SERVICE:
            raise error(_RpcErrorCode.CALL_NOT_FOUND, "")
        payload = request.SerializeToString()
        if len(payload) > MAX_REQUEST_SIZE_BYTES:
            raise error(_RpcErrorCode.REQUEST_TOO_LARGE, "")
        envelope = remote_api.Request(
            service_name=service, method=call, request=payload, request_id=_TICKET
        )
        extra = {CLIENT_NOW_HEADER: str(sdk_now_usec())} if call in _ADD_CALLS else {}
        idempotent = call in _IDEMPOTENT_CALLS
        reply = self._send(envelope.SerializeToString(), deadline, error, extra, idempotent)
        if reply.HasField("rpc_error"):
            raise error(reply.rpc_error.code, reply.rpc_error.detail)
        if reply.HasField("application_error"):
            raise apiproxy_errors.ApplicationError(
                reply.application_error.code, reply.application_error.detail
            )
        response.ParseFromString(reply.response)

    def _send(
        self,
        body: bytes,
        deadline: float | None,
        error: _ErrorFactory,
        extra_headers: Mapping[str, str],
        idempotent: bool,
    ) -> Any:
        timeout = deadline if deadline and deadline > 0 else DEFAULT_API_DEADLINE_SECONDS
        headers = {**_HEADERS, "X-Google-RPC-Service-Deadline": str(timeout), **extra_headers}
        try:
            reply = self._http.request(
                "POST", RPC_PATH, body, headers, deadline=timeout, idempotent=idempotent
            )
        except DeadlineExceeded:
            raise error(_RpcErrorCode.DEADLINE_EXCEEDED, "") from None
        except ConnectionFailed as failure:
            cause = failure.__cause__
            if isinstance(cause, ConnectionError | http.client.RemoteDisconnected):
                raise apiproxy_errors.ApplicationError(
                    int(ErrorCode.TRANSIENT_ERROR),
                    f"the taskqueue emulator at {self.address} is unreachable: {cause}",
                ) from None
            raise error(_RpcErrorCode.UNKNOWN, f"{type(cause).__name__}: {cause}") from None
        if reply.status != 200:
            raise apiproxy_errors.RPCFailedError(f"Proxy returned HTTP status {reply.status}")
        try:
            return remote_api.Response.FromString(reply.body)
        except Exception as exc:  # protobuf raises DecodeError; anything else is as bad
            raise error(_RpcErrorCode.UNKNOWN, f"unreadable response: {exc}") from None

    def close(self) -> None:
        """Close idle connections; the stub stays usable (it reconnects on demand)."""
        self._http.close()


_ErrorFactory = Callable[[int, str], Exception]


def sdk_now_usec() -> int:
    """The time as Google's ``taskqueue`` module sees it (its ETAs come from ``time.time()``
    as that module reads it), in integer microseconds."""
    module = sys.modules.get(_SDK_TASKQUEUE_MODULE)
    clock = getattr(module, "time", time)
    return round(float(clock.time()) * 1e6)


def _error_factory(service: str, call: str) -> _ErrorFactory:
    """Build the ``apiproxy_errors`` exception for an ``RpcError`` code, worded as the SDK."""

    def make(code: int, detail: str) -> Exception:
        exception_type, template = RPC_ERRORS.get(code, RPC_ERRORS[_RpcErrorCode.UNKNOWN])
        message = template % (service, call)
        if detail:
            message = f"{message} -- Additional details from server: {detail}"
        return exception_type(message)

    return make


def register_sdk_stub(host: str | None = None) -> None:
    """Route the SDK's ``taskqueue`` service to the emulator at ``host``.

    ``host`` defaults to ``$TASKQUEUE_EMULATOR_HOST``. Only the ``taskqueue`` entry of
    ``apiproxy_stub_map.apiproxy`` is replaced (an earlier stub of this module is closed).

    Raises:
        ValueError: no host given and ``TASKQUEUE_EMULATOR_HOST`` unset, or a bad host.
    """
    address = host or os.environ.get(HOST_ENV)
    if not address:
        raise ValueError(f"pass host= or set {HOST_ENV}=host:port")
    stub = EmulatorTaskQueueStub(address)
    previous = apiproxy_stub_map.apiproxy.GetStub(TASKQUEUE_SERVICE)
    apiproxy_stub_map.apiproxy.ReplaceStub(TASKQUEUE_SERVICE, stub)
    if isinstance(previous, EmulatorTaskQueueStub):
        previous.close()
