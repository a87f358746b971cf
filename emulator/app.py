"""The Flask application factory: one app, faces registered around one QueueService."""

from __future__ import annotations

from flask import Flask, Response, jsonify

from emulator import __version__
from emulator.clock import ControllableClock
from emulator.core.service import QueueService
from emulator.faces.http_errors import register_error_handlers
from emulator.faces.json_api import create_api_blueprint
from emulator.faces.openapi import openapi_document
from emulator.faces.rpc_http import create_rpc_blueprint
from emulator.faces.test_control import create_control_blueprint
from emulator.limits import MAX_REQUEST_SIZE_BYTES


def create_app(
    service: QueueService,
    *,
    clock: ControllableClock | None = None,
    enable_test_control: bool = False,
) -> Flask:
    """Build the emulator's WSGI app.

    Args:
        service: the backend every face calls.
        clock: the controllable clock behind ``service``; required for test control.
        enable_test_control: register ``/_emulator/*`` (reset, clock, flush, forget).

    Raises:
        ValueError: test control requested without a controllable clock.
    """
    app = Flask("emulator")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_SIZE_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    register_error_handlers(app)
    app.register_blueprint(create_api_blueprint(service))
    app.register_blueprint(create_rpc_blueprint(service, clock))
    if enable_test_control:
        if clock is None:
            raise ValueError("test control needs the service's ControllableClock")
        app.register_blueprint(create_control_blueprint(service, clock))

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok", "version": __version__})

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document(test_control=enable_test_control))

    return app
