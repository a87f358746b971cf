"""The Flask application factory: one app, the faces registered around one QueueService."""

from __future__ import annotations

from flask import Flask, Response, jsonify

from emulator import __version__, background
from emulator.core.faults import FaultPlan
from emulator.core.service import QueueService
from emulator.domain.clock import ControllableClock
from emulator.domain.limits import MAX_REQUEST_SIZE_BYTES
from emulator.faces import auth
from emulator.faces.body_limit import ChunkedBodyLimit
from emulator.faces.cloud_tasks.blueprint import create_cloud_tasks_blueprint
from emulator.faces.console import paths as console_paths
from emulator.faces.console.login import login_redirect
from emulator.faces.console.views import create_console
from emulator.faces.control.faults import create_faults_blueprint
from emulator.faces.control.views import create_control_blueprint
from emulator.faces.identity import read_identity_header
from emulator.faces.json.api import create_api_blueprint
from emulator.faces.json.errors import register_error_handlers
from emulator.faces.json.openapi import openapi_document
from emulator.faces.json.provider import OrjsonProvider
from emulator.faces.rpc_http.views import create_rpc_blueprint
from emulator.pruning import TombstonePruner
from emulator.wiring import Runtime


def create_app(
    service: QueueService,
    *,
    clock: ControllableClock | None = None,
    enable_test_control: bool = False,
    auth_token: str | None = None,
    faults: FaultPlan | None = None,
    identity_header: str | None = None,
) -> Flask:
    """Build the emulator's WSGI app.

    Args:
        service: the backend every face calls.
        clock: the controllable clock behind ``service``; required for test control.
        enable_test_control: register ``/_emulator/*`` (reset, clock, flush, forget, and
            ``/_emulator/faults`` when ``faults`` is given).
        auth_token: if given, every route but ``/healthz`` requires it
            (:mod:`emulator.faces.auth`).
        faults: the fault plan ``service`` follows (``emulator.wiring.compose``).
        identity_header: every request acts as the identity in this header (for queue.yaml
            ``acl``, which ``service`` checks: :mod:`emulator.faces.identity`).

    Raises:
        ValueError: test control requested without a controllable clock.
    """
    app = Flask("emulator")
    app.json = OrjsonProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_SIZE_BYTES  # a declared length: each face
    app.wsgi_app = ChunkedBodyLimit(app.wsgi_app, MAX_REQUEST_SIZE_BYTES)  # type: ignore[method-assign]
    app.json.sort_keys = False
    register_error_handlers(app)
    if identity_header is not None:
        read_identity_header(app, identity_header)
    console = create_console(service, auth_token=auth_token)  # the web console at /
    if auth_token is not None:
        auth.require_token(app, auth_token, refusals={console_paths.BLUEPRINT: login_redirect})
    app.register_blueprint(create_api_blueprint(service))
    app.register_blueprint(create_rpc_blueprint(service, clock, auth_token))
    if enable_test_control:
        if clock is None:
            raise ValueError("test control needs the service's ControllableClock")
        app.register_blueprint(create_control_blueprint(service, clock))
        # -- fault injection for back-off tests (fail_next)
        if faults is not None:
            app.register_blueprint(create_faults_blueprint(service, faults))
    # Cloud Tasks REST (/v2beta2/, /v2beta3/, /v2/): Google's error shape, not the JSON face's.
    app.register_blueprint(create_cloud_tasks_blueprint(service))

    # -- the web console (pages at /, /queues/..., /login); its depth sampler runs while
    # the app is served (emulator.background)
    app.register_blueprint(console.blueprint)
    background.register(app, console)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok", "version": __version__})

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(
            openapi_document(test_control=enable_test_control, faults=faults is not None)
        )

    return app


def runtime_app(
    runtime: Runtime,
    *,
    enable_test_control: bool = False,
    auth_token: str | None = None,
    identity_header: str | None = None,
) -> Flask:
    """The WSGI app over a :class:`~emulator.wiring.Runtime`'s service and clock; with a
    tombstone retention, its pruner runs while the app is served."""
    app = create_app(
        runtime.service,
        clock=runtime.clock,
        enable_test_control=enable_test_control,
        auth_token=auth_token,
        faults=runtime.faults,
        identity_header=identity_header,
    )
    if runtime.retention is not None:
        background.register(app, TombstonePruner(runtime.retention))
    return app
