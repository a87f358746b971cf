"""Cloud Tasks over gRPC: generic handlers for v2beta2, v2beta3 and v2 on one port.

No generated stubs: each RPC is a ``unary_unary`` handler taking and returning bytes, registered
under the service name google-cloud-tasks' clients call
(``google.cloud.tasks.v2beta2.CloudTasks``, ...). A handler parses the request with the
version's own message class (so undecodable bytes are INVALID_ARGUMENT, not the INTERNAL a
failing deserializer would give), calls :mod:`.methods` and aborts with the status of
:mod:`.errors` on failure. RPCs Google has and the emulator does not serve answer
UNIMPLEMENTED with the reason; names Google does not have, gRPC answers UNIMPLEMENTED itself.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable
from concurrent import futures
from typing import Final

import grpc

from emulator.core.service import QueueService
from emulator.domain.identity import acting_as, identity_from_header
from emulator.domain.limits import MAX_REQUEST_SIZE_BYTES
from emulator.faces import auth
from emulator.faces.cloud_tasks.errors import CloudTasksError, status_of, unimplemented
from emulator.faces.cloud_tasks.methods import UNSERVED, Method, methods_of, parse_request
from emulator.faces.cloud_tasks.versions import DIALECTS, Dialect

#: Decides whether a call may proceed, from its ``authorization`` metadata (None if absent);
#: None accepts every call (a server without ``--auth-token``).
AuthorizationCheck = Callable[[str | None], bool]
#: How long a stopping server lets calls in progress finish (seconds).
STOP_GRACE_SECONDS: Final = 5.0
_OPTIONS: Final = (
    ("grpc.max_receive_message_length", MAX_REQUEST_SIZE_BYTES),
    ("grpc.max_send_message_length", -1),
    ("grpc.so_reuseport", 0),  # a port in use is an error, not shared with another server
)
_log = logging.getLogger("emulator.cloud_tasks")

_Unary = Callable[[bytes, grpc.ServicerContext], bytes]


def token_check(token: str | None) -> AuthorizationCheck | None:
    """The server's own token (``--auth-token``) as a gRPC check: the metadata
    ``authorization: Bearer TOKEN``, compared as the HTTP faces compare it; None without one."""
    if token is None:
        return None
    expected = token
    return lambda authorization: auth.matches(expected, auth.bearer(authorization))


def _authorization(context: grpc.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata():
        if key == "authorization":
            return value if isinstance(value, str) else value.decode("latin-1")
    return None


def identity_of_metadata(
    metadata: Iterable[tuple[str, str | bytes]], header: str | None
) -> str | None:
    """The identity in gRPC ``metadata`` under ``header`` (lower-cased, as gRPC keys are)."""
    if header is None:
        return None
    key = header.lower()
    for name, value in metadata:
        if name == key:
            return identity_from_header(value if isinstance(value, str) else value.decode())
    return None


def _served(
    d: Dialect,
    method: Method,
    service: QueueService,
    authorize: AuthorizationCheck | None,
    identity_header: str | None = None,
) -> _Unary:
    def unary(data: bytes, context: grpc.ServicerContext) -> bytes:
        identity = identity_of_metadata(context.invocation_metadata(), identity_header)
        with acting_as(identity):
            return _call(context, data)

    def _call(context: grpc.ServicerContext, data: bytes) -> bytes:
        try:
            if authorize is not None and not authorize(_authorization(context)):
                raise CloudTasksError(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "this emulator requires a token: send the metadata 'authorization: Bearer "
                    "<token>' (the server's --auth-token / TASKQUEUE_EMULATOR_AUTH_TOKEN)",
                )
            request = parse_request(d, method, data)
            response = method.handler(d, service, request)
        except Exception as exc:
            status, message = status_of(exc)
            _log.debug("%s/%s: %s %s", d.service_name, method.name, status.name, message)
            context.abort(status, message)
        return bytes(response.SerializeToString())

    return unary


def _unserved(name: str, why: str) -> _Unary:
    def unary(data: bytes, context: grpc.ServicerContext) -> bytes:
        error = unimplemented(name, why)
        context.abort(error.status, error.message)

    return unary


def generic_handlers(
    service: QueueService,
    authorize: AuthorizationCheck | None = None,
    identity_header: str | None = None,
) -> list[grpc.GenericRpcHandler]:
    """One generic handler per served version, bytes in and bytes out; each call acts as
    the identity in the metadata ``identity_header`` (``--identity-header``), if given."""
    handlers: list[grpc.GenericRpcHandler] = []
    for d in DIALECTS.values():
        table: dict[str, grpc.RpcMethodHandler[bytes, bytes]] = {
            name: grpc.unary_unary_rpc_method_handler(_unserved(name, why))
            for name, why in UNSERVED.items()
        }
        for name, method in methods_of(d).items():
            table[name] = grpc.unary_unary_rpc_method_handler(
                _served(d, method, service, authorize, identity_header)
            )
        handlers.append(grpc.method_handlers_generic_handler(d.service_name, table))
    return handlers


def _check_bindable(host: str, port: int, target: str) -> None:
    """Bind ``host:port`` once with a plain socket, so that a port in use or an unknown host
    is one clear OSError (gRPC's core would also log its own lines to stderr)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC does
            probe.bind(address)
    except OSError as exc:
        raise OSError(f"cannot listen on {target}: {exc.strerror or exc}") from None


class CloudTasksGrpcServer:
    """A gRPC server of the three versions over ``service``, on ``host:port`` (0: any free).

    Raises:
        OSError: the address cannot be bound (a port in use, an unknown host).
    """

    def __init__(
        self,
        service: QueueService,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        authorize: AuthorizationCheck | None = None,
        identity_header: str | None = None,
        max_workers: int = 8,
    ) -> None:
        self._host = host
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers, thread_name_prefix="cloud-tasks-grpc"),
            handlers=generic_handlers(service, authorize, identity_header),
            options=_OPTIONS,
        )
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        _check_bindable(host, port, target)
        try:
            bound = self._server.add_insecure_port(target)
        except RuntimeError as exc:  # grpcio raises where older versions returned 0
            raise OSError(f"cannot listen on {target}: {exc}") from None
        if not bound:
            raise OSError(f"cannot listen on {target}")
        self._port = bound

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        """``host:port``, what a client's channel targets."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{host}:{self._port}"

    def start(self) -> CloudTasksGrpcServer:
        """Start serving (threads of its own); returns self."""
        self._server.start()
        return self

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Refuse new calls, let those in progress finish for up to ``grace`` seconds."""
        self._server.stop(grace).wait()
