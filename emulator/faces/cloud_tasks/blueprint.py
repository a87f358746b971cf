"""The Cloud Tasks REST routes, importing Google's Cloud Tasks types only when first called.

``google.cloud.tasks_v2*`` (the message classes the REST face parses and writes) pulls in
google-api-core, google-auth and grpc: about half of the emulator's import time, so more
than half of its start-up to ``/healthz`` (docs/PERFORMANCE.md). This module registers the
routes with nothing but Flask; the first Cloud Tasks request imports
:mod:`emulator.faces.cloud_tasks.rest`, which answers it and every later one.
"""

from __future__ import annotations

from flask import Blueprint, Response

from emulator.core.service import QueueService

#: The versions served under ``/<version>/``.
_VERSIONS = "<any(v2beta2, v2beta3, v2):version>"


def create_cloud_tasks_blueprint(service: QueueService) -> Blueprint:
    """The ``/v2beta2/``, ``/v2beta3/`` and ``/v2/`` routes (and firebase-admin's
    ``/projects/...``, served as v2) over ``service``."""
    rest = Blueprint("cloud_tasks", __name__)
    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]

    @rest.route(f"/{_VERSIONS}/<path:resource>", methods=methods)
    def versioned(version: str, resource: str) -> Response:
        return _answer(service, version, resource)

    @rest.route(f"/{_VERSIONS}/", methods=methods)
    @rest.route(f"/{_VERSIONS}", methods=methods)
    def version_root(version: str) -> Response:
        return _answer(service, version, "")

    @rest.route("/projects/<path:rest>", methods=methods)
    def unversioned(rest: str) -> Response:
        return _answer(service, "v2", f"projects/{rest}")

    return rest


def _answer(service: QueueService, version: str, resource: str) -> Response:
    from emulator.faces.cloud_tasks import rest, versions  # deferred: see the module docstring

    return rest.answer(service, versions.DIALECTS[version], resource)
