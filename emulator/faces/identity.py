"""``--identity-header NAME``: the HTTP faces' caller identity, for queue.yaml ``acl``.

:func:`read_identity_header` registers, on the whole app (JSON ``/v1``, ``/rpc_http``, Cloud
Tasks REST, the console), a hook that reads the header (``accounts.google.com:`` stripped) and
makes it the request's identity (:mod:`emulator.domain.identity`) until the request ends;
:class:`emulator.core.acl.AclService` checks it. The gRPC face reads the same name from the
call's metadata (``emulator.faces.cloud_tasks.grpc_server``).
"""

from __future__ import annotations

from flask import Flask, g, request

from emulator.domain.identity import identity_from_header, reset_identity, set_identity

_TOKEN = "taskqueue_emulator_identity_token"


def read_identity_header(app: Flask, header: str) -> None:
    """Every request of ``app`` acts as the identity in ``header`` (none if it is absent)."""

    @app.before_request
    def _enter() -> None:
        setattr(g, _TOKEN, set_identity(identity_from_header(request.headers.get(header))))

    @app.teardown_request
    def _leave(_: BaseException | None) -> None:
        token = getattr(g, _TOKEN, None)
        if token is not None:
            reset_identity(token)
