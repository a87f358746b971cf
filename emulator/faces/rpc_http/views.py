"""The App Engine API-server face: ``POST /rpc_http`` speaking the remote_api protocol.

This is the endpoint Google's Python 3 SDK calls when ``wrap_wsgi_app`` is active and
``API_HOST``/``API_PORT`` point here, and the one :mod:`shims.sdk.stub` forwards to. The body is
a serialized ``remote_api.Request``; the answer is always HTTP 200 with a serialized
``remote_api.Response`` (see :func:`emulator.faces.rpc_http.methods.call`), also for bodies that are
too large (``rpc_error`` REQUEST_TOO_LARGE) and for bugs (``application_error``
INTERNAL_ERROR, logged). Only other HTTP methods get the usual JSON 405. Any ticket
(``request_id``) is accepted, unless the server has a token (``--auth-token``): then the call
must carry it as ``Authorization: Bearer`` or as the ticket (:mod:`emulator.faces.auth`).

Under a test clock, the ETAs of added tasks are moved from the client's clock onto the
emulator's (:meth:`ControllableClock.client_eta_translation`): the client's clock reading is
taken from the :data:`CLIENT_NOW_HEADER` that :mod:`shims.sdk.stub` sends, else it is assumed
to be the wall clock (Google's SDK with ``API_HOST``, Go).
"""

from __future__ import annotations

import logging
from typing import Final

from flask import Blueprint, Response, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from emulator.core.service import QueueService
from emulator.domain.clock import ControllableClock, EtaTranslation
from emulator.domain.errors import ErrorCode
from emulator.domain.limits import MAX_REQUEST_SIZE_BYTES
from emulator.faces import auth
from emulator.faces.rpc_http import CLIENT_NOW_HEADER, RPC_PATH, codec, methods
from emulator.faces.rpc_http.protos import remote_api_wire_pb2 as remote

CONTENT_TYPE: Final = "application/octet-stream"
_log = logging.getLogger("emulator.rpc_http")


class _TooLarge(Exception):
    """The request body is over :data:`MAX_REQUEST_SIZE_BYTES`."""


class _BadHeader(Exception):
    """A header of ours has a value that cannot be used."""


def _eta_translation(clock: ControllableClock | None) -> EtaTranslation | None:
    """How this call's ETAs move onto the emulator's clock (None: they stay as sent)."""
    if clock is None:
        return None
    raw = request.headers.get(CLIENT_NOW_HEADER)
    if raw is None:
        return clock.client_eta_translation(None)
    text = raw.strip()
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 20:
        raise _BadHeader(
            f"header {CLIENT_NOW_HEADER} must be integer microseconds, not {raw[:30]!r}"
        )
    return clock.client_eta_translation(int(text))


def _read_body(limit: int = MAX_REQUEST_SIZE_BYTES) -> bytes:
    """The request body, read without ever holding more than ``limit + 1`` bytes.

    A body with a declared length (every body that reaches the view:
    :class:`~emulator.faces.body_limit.ChunkedBodyLimit` gives chunked ones theirs) is read
    as exactly that many bytes: werkzeug's stream allocates a buffer of the size asked for,
    and ``limit + 1`` (32 MiB) cost more than the rest of a small call's handling.

    Raises:
        _TooLarge: the body is (or is declared) longer than ``limit``.
        ClientDisconnected: the stream ended before the declared length (the client closed
            its side mid-body): a prefix of a request must not be parsed and executed.
    """
    length = request.content_length
    if length is not None and length > limit:
        raise _TooLarge
    try:
        data = request.stream.read(limit + 1 if length is None else length)
    except RequestEntityTooLarge:
        raise _TooLarge from None
    if len(data) > limit:
        raise _TooLarge
    if length is not None and len(data) < length:
        raise ClientDisconnected
    return data


def _answer(
    service: QueueService,
    clock: ControllableClock | None,
    check: auth.RpcCheck | None,
) -> remote.Response:
    authorization = request.headers.get("Authorization")
    authorized = None if check is None else (lambda ticket: check(authorization, ticket))
    try:
        return methods.call(service, _read_body(), _eta_translation(clock), authorized)
    except _BadHeader as bad:
        return codec.rpc_error(remote.RpcError.PARSE_ERROR, str(bad))
    except _TooLarge:
        return codec.rpc_error(
            remote.RpcError.REQUEST_TOO_LARGE,
            f"the request is larger than {MAX_REQUEST_SIZE_BYTES} bytes",
        )
    except ClientDisconnected:
        return codec.rpc_error(remote.RpcError.PARSE_ERROR, "the request body was cut short")
    except Exception as exc:
        _log.exception("internal error in /rpc_http")
        return codec.application_error(
            ErrorCode.INTERNAL_ERROR, f"internal error: {type(exc).__name__}"
        )


def create_rpc_blueprint(
    service: QueueService,
    clock: ControllableClock | None = None,
    auth_token: str | None = None,
) -> Blueprint:
    """The ``POST /rpc_http`` route bound to ``service`` (whose clock is ``clock``, if it can
    be controlled by tests), requiring ``auth_token`` if given."""
    blueprint = Blueprint("rpc_http", __name__)
    check = auth.rpc_check(auth_token)

    @blueprint.post(RPC_PATH)
    def rpc_http() -> Response:
        body = _answer(service, clock, check).SerializeToString()
        return Response(body, status=200, content_type=CONTENT_TYPE)

    return blueprint
