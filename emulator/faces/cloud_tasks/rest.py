"""Cloud Tasks over REST: ``/v2beta2/``, ``/v2beta3/`` and ``/v2/`` on the emulator's port.

The routes are Google's HTTP rules (google-cloud-tasks' ``transports/rest_base.py``), one
row each in :data:`ROUTES`: a path pattern whose captured group is the request's resource
field (``name`` or ``parent``). A POST's JSON body is the rest of the request (``body:
"*"``); a GET's or DELETE's query parameters are (``responseView=2&pageSize=50``). JSON is
read and written by protobuf's JSON mapping (what google-cloud-tasks' ``to_json`` and
``from_json`` use), as Google's clients write and read it:
camelCase or snake_case names, enums as numbers or names, bytes as base64, durations as
``"60s"``, timestamps as RFC 3339, ``null`` for an absent field, unknown fields refused.
Answers use string enums unless the query asks ``$alt=json;enum-encoding=int`` (what the
GAPIC REST transport sends).

Errors have Google's shape ``{"error": {"code": 404, "message": ..., "status": "NOT_FOUND"}}``:
bad input 400 INVALID_ARGUMENT naming the field, Google's RPCs the emulator does not serve
501 UNIMPLEMENTED, paths Cloud Tasks does not have 404 NOT_FOUND. Requests may carry any
``Authorization: Bearer`` token (AnonymousCredentials sends none); a server that requires
its own token checks it for the whole app, before this face.

firebase-admin, with ``CLOUD_TASKS_EMULATOR_HOST`` set, calls v2 without the version prefix
(``/projects/...``); those paths are served as v2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import grpc
from flask import Response, request
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from werkzeug.exceptions import HTTPException

from emulator.core.service import QueueService
from emulator.domain.limits import MAX_REQUEST_SIZE_BYTES
from emulator.faces.cloud_tasks.errors import (
    CloudTasksError,
    invalid,
    rest_error,
    status_of,
    unimplemented,
)
from emulator.faces.cloud_tasks.methods import UNSERVED, Method, methods_of
from emulator.faces.cloud_tasks.versions import Dialect, Pb

_LOCATION: Final = r"projects/[^/]+/locations/[^/:]+"
_QUEUE: Final = r"projects/[^/]+/locations/[^/]+/queues/[^/:]+"
_TASK: Final = r"projects/[^/]+/locations/[^/]+/queues/[^/]+/tasks/[^/:]+"
_BASE64_RE: Final = re.compile(r"[A-Za-z0-9+/_-]*={0,2}\Z")
#: Query parameters every Google API takes (system parameters), never request fields.
_SYSTEM_PARAMETERS: Final = frozenset(
    {
        "$alt",
        "alt",
        "$.xgafv",
        "prettyPrint",
        "$prettyPrint",
        "fields",
        "$fields",
        "key",
        "access_token",
        "oauth_token",
        "quotaUser",
        "userIp",
        "callback",
        "uploadType",
        "upload_protocol",
        "$callback",
    }
)


@dataclass(frozen=True)
class Route:
    """One HTTP rule: method, path pattern (its group is ``field``), the RPC, and whether the
    body carries the request (``body: "*"``) or the query does."""

    http_method: str
    pattern: re.Pattern[str]
    rpc: str
    field: str
    body: bool


def _route(http_method: str, template: str, rpc: str, field: str) -> Route:
    return Route(http_method, re.compile(template + r"\Z"), rpc, field, http_method == "POST")


ROUTES: Final[Sequence[Route]] = (
    _route("POST", rf"({_QUEUE})/tasks:lease", "LeaseTasks", "parent"),
    _route("POST", rf"({_TASK}):acknowledge", "AcknowledgeTask", "name"),
    _route("POST", rf"({_TASK}):renewLease", "RenewLease", "name"),
    _route("POST", rf"({_TASK}):cancelLease", "CancelLease", "name"),
    _route("POST", rf"({_TASK}):run", "RunTask", "name"),
    _route("POST", rf"({_QUEUE})/tasks", "CreateTask", "parent"),
    _route("GET", rf"({_QUEUE})/tasks", "ListTasks", "parent"),
    _route("GET", rf"({_TASK})", "GetTask", "name"),
    _route("DELETE", rf"({_TASK})", "DeleteTask", "name"),
    _route("GET", rf"({_LOCATION})/queues", "ListQueues", "parent"),
    _route("GET", rf"({_QUEUE})", "GetQueue", "name"),
    _route("POST", rf"({_QUEUE}):purge", "PurgeQueue", "name"),
    _route("POST", rf"({_QUEUE}):pause", "PauseQueue", "name"),
    _route("POST", rf"({_QUEUE}):resume", "ResumeQueue", "name"),
    # Google's, not served (UNIMPLEMENTED with the reason):
    _route("POST", rf"({_LOCATION})/queues", "CreateQueue", "parent"),
    _route("PATCH", rf"({_QUEUE})", "UpdateQueue", "queue.name"),
    _route("DELETE", rf"({_QUEUE})", "DeleteQueue", "name"),
    _route("POST", rf"({_QUEUE}):getIamPolicy", "GetIamPolicy", "resource"),
    _route("POST", rf"({_QUEUE}):setIamPolicy", "SetIamPolicy", "resource"),
    _route("POST", rf"({_QUEUE}):testIamPermissions", "TestIamPermissions", "resource"),
    _route("POST", rf"({_QUEUE})/tasks:batchCreate", "BatchCreateTasks", "parent"),
    _route("POST", rf"({_QUEUE})/tasks:batchDelete", "BatchDeleteTasks", "parent"),
    _route("GET", rf"({_LOCATION})/cmekConfig", "GetCmekConfig", "name"),
    _route("PATCH", rf"({_LOCATION})/cmekConfig", "UpdateCmekConfig", "cmek_config.name"),
    _route("GET", rf"({_LOCATION}/operations/[^/:]+)", "GetOperation", "name"),
    _route("GET", r"(projects/[^/]+)/locations", "ListLocations", "name"),
    _route("GET", rf"({_LOCATION})", "GetLocation", "name"),
)


def answer(service: QueueService, d: Dialect, resource: str) -> Response:
    """The answer to the current Flask request for ``resource`` of version ``d``; the
    routes are in :mod:`emulator.faces.cloud_tasks.blueprint`."""
    ints = "enum-encoding=int" in request.args.get("$alt", "")
    try:
        method, field, value = _resolve(d, request.method, resource)
        message = _request_message(d, method, field, value)
        response = method.handler(d, service, message)
    except Exception as exc:
        status, text = status_of(_http_error(exc))
        too_large = isinstance(exc, HTTPException) and exc.code == 413
        http, body = rest_error(status, text, 413 if too_large else None)
        return Response(json.dumps(body), status=http, mimetype="application/json")
    return Response(_to_json(response, ints), mimetype="application/json")


def _resolve(d: Dialect, http_method: str, resource: str) -> tuple[Method, str, str]:
    """The served method a request names, its resource field and value.

    Raises:
        CloudTasksError: UNIMPLEMENTED for Google's RPCs the emulator does not serve (or that
            this version lacks), NOT_FOUND for a path Cloud Tasks does not have.
    """
    matches = [(r, m) for r in ROUTES if (m := r.pattern.match(resource)) is not None]
    for route, match in matches:
        if route.http_method != http_method:
            continue
        served = methods_of(d).get(route.rpc)
        if served is not None:
            return served, route.field, match[1]
        why = UNSERVED.get(route.rpc, f"{d.version} has no {route.rpc}")
        raise unimplemented(route.rpc, why)
    where = f"{http_method} /{d.version}/{resource}"
    if matches:
        allowed = ", ".join(sorted({r.http_method for r, _ in matches}))
        raise CloudTasksError(grpc.StatusCode.NOT_FOUND, f"{where}: use {allowed} on this path")
    raise CloudTasksError(grpc.StatusCode.NOT_FOUND, f"{where} is not a Cloud Tasks resource")


def _request_message(d: Dialect, method: Method, field: str, value: str) -> Pb:
    """The request message: the body (POST) or the query, plus the path's resource field."""
    document = _body() if request.method == "POST" else {}
    query = _query()
    if request.method == "POST" and query:
        raise invalid(
            next(iter(query)), "unknown query parameter (send request fields in the body)"
        )
    document.update(query)
    message = d.new(method.request)
    _check_bytes(document, message.DESCRIPTOR, "")
    try:
        json_format.ParseDict(document, message)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise invalid(method.request, f"invalid JSON request: {exc}") from None
    setattr(message, field, value)
    return message


def _check_bytes(document: object, descriptor: Descriptor, path: str) -> None:
    """Refuse bytes fields that are not base64 (standard or URL-safe, padding optional):
    protobuf's JSON parser skips characters it does not know, so ``"***"`` would be stored
    as an empty payload."""
    if not isinstance(document, dict):
        return
    for key, value in document.items():
        field = descriptor.fields_by_camelcase_name.get(key) or descriptor.fields_by_name.get(key)
        if field is None or value is None:
            continue
        where = f"{path}.{field.name}" if path else field.name
        values = value if isinstance(value, list) else [value]
        if field.type == FieldDescriptor.TYPE_BYTES:
            for item in values:
                if isinstance(item, str) and not _BASE64_RE.match(item):
                    raise invalid(where, "is not base64")
        elif field.message_type is not None and not field.message_type.GetOptions().map_entry:
            for item in values:
                _check_bytes(item, field.message_type, where)


def _body() -> dict[str, Any]:
    data = request.get_data(cache=False)
    if not data.strip():
        return {}
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid("body", f"is not valid JSON: {exc}") from None
    except RecursionError:
        raise invalid("body", "is not valid JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise invalid("body", "must be a JSON object")
    return document


def _query() -> dict[str, Any]:
    """Request fields from the query string (``readMask=name,stats``; ``a.b=1`` nests;
    a repeated name is a list); system parameters (``$alt``, ``key``, ...) left out."""
    document: dict[str, Any] = {}
    for key in request.args:
        if key in _SYSTEM_PARAMETERS:
            continue
        values = request.args.getlist(key)
        *parents, leaf = key.split(".")
        node = document
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise invalid(key, "conflicts with another query parameter")
            node = child
        node[leaf] = values[0] if len(values) == 1 else values
    return document


def _http_error(exc: Exception) -> Exception:
    """werkzeug's errors while reading the request as Google's; a body over the limit (from
    its Content-Length, or a bounded read of a chunked one) is INVALID_ARGUMENT with HTTP
    status 413, as Google's front ends answer."""
    if not isinstance(exc, HTTPException):
        return exc
    if exc.code == 413:
        return invalid("body", f"request body too large: at most {MAX_REQUEST_SIZE_BYTES} bytes")
    return CloudTasksError(grpc.StatusCode.INVALID_ARGUMENT, exc.description or exc.name)


def _to_json(response: Pb, ints: bool) -> str:
    """protobuf's JSON mapping, as google-cloud-tasks' ``to_json`` writes it (proto field
    names in camelCase, fields at their defaults left out)."""
    return str(json_format.MessageToJson(response, use_integers_for_enums=ints, indent=None))
