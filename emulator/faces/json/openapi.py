"""The OpenAPI 3.1 document of the native JSON API (served at ``GET /openapi.json``)."""

from __future__ import annotations

import re
from typing import Any

from emulator import __version__
from emulator.domain.errors import DEADLINE_EXCEEDED, ErrorCode
from emulator.domain.faults import FAULT_ERRORS, FaultCall
from emulator.domain.limits import (
    CONFIG_QUEUE_NAME_RE,
    MAX_CLOCK_USEC,
    MAX_LEASE_SECONDS,
    MAX_PEEK_PAGE_SIZE,
    MAX_TASKS_PER_ADD,
    MAX_TASKS_PER_LEASE,
    TASK_NAME_RE,
)
from emulator.faces.rpc_http import RPC_PATH

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def _binary() -> Schema:
    return {"content": {"application/octet-stream": {"schema": {"type": "string"}}}}


def _op(
    summary: str, response: Schema, *, body: Schema | None = None, errors: str = "400 404"
) -> Schema:
    op: Schema = {
        "summary": summary,
        "responses": {"200": {"description": "OK", **_json(response)}},
    }
    statuses = errors.split()
    if body is not None and "413" not in statuses:
        statuses.append("413")  # a body over MAX_REQUEST_SIZE_BYTES, declared or chunked
    for status in statuses:
        op["responses"][status] = {"description": "Error", **_json(_ref("Error"))}
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    return op


#: What any call of the service may answer besides its own errors: 403 PERMISSION_DENIED (a
#: queue's acl under --identity-header), 503 TRANSIENT_ERROR (an injected fault, or the
#: storage is unavailable: disk full, read-only), 504 DEADLINE_EXCEEDED (an injected fault).
_FAULTS = "403 503 504"


def _pattern(regex: re.Pattern[str]) -> str:
    """A limits.py pattern as a JSON Schema (ECMA-262) pattern: ``\\Z`` becomes ``$``."""
    return regex.pattern.replace("\\Z", "$")


_QUEUE = {
    "name": "queue",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": _pattern(CONFIG_QUEUE_NAME_RE)},
}
_TASK = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": _pattern(TASK_NAME_RE)},
}

_SCHEMAS: Schema = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": [*(c.name for c in ErrorCode), DEADLINE_EXCEEDED],
                        "description": f"A TaskQueueServiceError name, or {DEADLINE_EXCEEDED} "
                        "(HTTP 504) for a call that ran out of time",
                    },
                    "message": {"type": "string"},
                },
            }
        },
    },
    "NewTask": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "description": "Omit to let the emulator choose task<N>."},
            "payload": {"type": "string", "contentEncoding": "base64"},
            "tag": {"type": "string", "maxLength": 500},
            "eta_usec": {"type": "integer", "minimum": 0},
            "countdown_seconds": {"type": "number"},
            "mode": {"type": "string", "enum": ["pull", "push"]},
            "method": {"type": "string", "enum": ["GET", "POST", "HEAD", "PUT", "DELETE"]},
            "url": {"type": "string"},
            "headers": {"oneOf": [{"type": "object"}, {"type": "array"}]},
            "retry_options": _ref("RetryOptions"),
            "dispatch_deadline_usec": {"type": "integer"},
        },
    },
    "RetryOptions": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "task_retry_limit": {"type": "integer", "minimum": 0},
            "task_age_limit": {"type": "integer", "minimum": 1},
            "min_backoff_seconds": {"type": "number", "minimum": 0},
            "max_backoff_seconds": {"type": "number", "minimum": 0},
            "max_doublings": {"type": "integer", "minimum": 0},
        },
    },
    "AddResult": {
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "name": {"type": ["string", "null"]},
            "eta_usec": {"type": "integer"},
            "message": {"type": "string"},
        },
    },
    "LeasedTask": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "payload": {"type": "string", "contentEncoding": "base64"},
            "tag": {"type": ["string", "null"]},
            "eta_usec": {"type": "integer", "description": "Lease expiry; the lease token."},
            "eta": {"type": "string", "format": "date-time"},
            "retry_count": {"type": "integer"},
        },
    },
    "Task": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "queue": {"type": "string"},
            "payload": {"type": "string", "contentEncoding": "base64"},
            "tag": {"type": ["string", "null"]},
            "eta_usec": {"type": "integer"},
            "eta": {"type": "string", "format": "date-time"},
            "state": {"type": "string", "enum": ["ready", "leased", "delayed"]},
            "retry_count": {"type": "integer"},
            "created_usec": {"type": "integer"},
            "leased_at_usec": {"type": ["integer", "null"]},
            "mode": {"type": "string", "enum": ["pull", "push"]},
            "method": {"type": ["string", "null"]},
            "url": {"type": ["string", "null"]},
            "headers": {"type": "array"},
            "retry_options": {"oneOf": [_ref("RetryOptions"), {"type": "null"}]},
            "dispatch_deadline_usec": {"type": ["integer", "null"]},
            "http_url": {
                "type": ["string", "null"],
                "description": "Absolute URL of an HTTP-target push task (added through "
                "Cloud Tasks' http_request); such a task has no url.",
            },
        },
    },
    "QueueStats": {
        "type": "object",
        "properties": {
            "queue": {"type": "string"},
            "exists": {"type": "boolean"},
            "tasks": {"type": "integer"},
            "oldest_eta_usec": {"type": ["integer", "null"]},
            "oldest_eta": {"type": ["string", "null"]},
            "leased_last_minute": {"type": ["integer", "null"]},
            "leased_last_hour": {"type": ["integer", "null"]},
            "in_flight": {"type": ["integer", "null"]},
            "enforced_rate": {"type": ["number", "null"]},
            "paused": {"type": "boolean"},
            "ready": {
                "type": ["integer", "null"],
                "description": "tasks a lease could take now (eta <= now)",
            },
            "delayed": {
                "type": ["integer", "null"],
                "description": "tasks never leased whose ETA is ahead (eta > now)",
            },
            "rate_limited_leases_last_minute": {
                "type": ["integer", "null"],
                "description": "Lease calls --lease-rate-limit answered with no tasks in the "
                "last 60 one-second windows; null without a limit",
            },
        },
    },
    "Queue": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "mode": {"type": "string", "enum": ["pull", "push"]},
            "rate": {"type": ["string", "null"]},
            "rate_per_second": {"type": ["number", "null"]},
            "bucket_size": {"type": ["integer", "null"]},
            "max_concurrent_requests": {"type": ["integer", "null"]},
            "retry_parameters": {"oneOf": [_ref("RetryOptions"), {"type": "null"}]},
            "acl": {"type": "array"},
            "target": {"type": ["string", "null"]},
            "paused": {"type": "boolean"},
            "stats": _ref("QueueStats"),
        },
    },
    "FaultRule": {
        "type": "object",
        "required": ["call", "error"],
        "additionalProperties": False,
        "properties": {
            "call": {"type": "string", "enum": [c.value for c in FaultCall]},
            "error": {
                "type": "string",
                "enum": [*FAULT_ERRORS, "TransientError", "DeadlineExceededError"],
            },
            "count": {"type": "integer", "minimum": 1, "default": 1},
            "queue": {"type": ["string", "null"], "description": "null: any queue"},
        },
    },
    "Faults": {
        "type": "object",
        "properties": {
            "pending": {"type": "array", "items": _ref("FaultRule")},
            "injected": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "call": {"type": "string"},
                        "error": {"type": "string"},
                        "count": {"type": "integer"},
                    },
                },
            },
            "random": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "call": {"type": "string"},
                        "error": {"type": "string"},
                        "rate": {"type": "number"},
                    },
                },
            },
            "seed": {"type": ["integer", "null"]},
        },
    },
    "Clock": {
        "type": "object",
        "properties": {
            "now_usec": {"type": "integer"},
            "now": {"type": "string"},
            "frozen": {"type": "boolean"},
        },
    },
}


def _array(key: str, item: Schema) -> Schema:
    return {"type": "object", "properties": {key: {"type": "array", "items": item}}}


def _api_paths() -> Schema:
    q, qt = [_QUEUE], [_QUEUE, _TASK]
    lease_body = {
        "type": "object",
        "required": ["lease_seconds", "max_tasks"],
        "additionalProperties": False,
        "properties": {
            "lease_seconds": {"type": "number", "minimum": 0, "maximum": MAX_LEASE_SECONDS},
            "max_tasks": {"type": "integer", "minimum": 1, "maximum": MAX_TASKS_PER_LEASE},
            "group_by_tag": {"type": "boolean"},
            "tag": {"type": "string"},
        },
    }
    peek_params = [
        _QUEUE,
        {
            "name": "state",
            "in": "query",
            "schema": {"type": "string"},
            "description": "ready, leased, delayed (repeat or comma-separate)",
        },
        {
            "name": "tag",
            "in": "query",
            "schema": {"type": "string"},
            "description": "empty = untagged",
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PEEK_PAGE_SIZE},
        },
        {"name": "page_token", "in": "query", "schema": {"type": "string"}},
    ]
    return {
        "/v1/queues": {
            "get": _op(
                "List queues with their configuration and statistics",
                _array("queues", _ref("Queue")),
                errors=_FAULTS,
            )
        },
        "/v1/queues/{queue}": {
            "parameters": q,
            "get": _op("One queue", _ref("Queue"), errors=f"400 404 {_FAULTS}"),
        },
        "/v1/queues/{queue}/tasks": {
            "post": {
                **_op(
                    f"Add 1..{MAX_TASKS_PER_ADD} tasks (per-task result codes)",
                    {
                        **_array("tasks", _ref("AddResult")),
                        "properties": {
                            **_array("tasks", _ref("AddResult"))["properties"],
                            "added": {"type": "integer"},
                        },
                    },
                    body={**_array("tasks", _ref("NewTask")), "required": ["tasks"]},
                    errors=f"400 404 413 {_FAULTS}",
                ),
                "parameters": q,
            },
            "get": {
                **_op(
                    "Peek at tasks without side effects",
                    {
                        "type": "object",
                        "properties": {
                            "tasks": {"type": "array", "items": _ref("Task")},
                            "next_page_token": {"type": ["string", "null"]},
                            "now_usec": {"type": "integer"},
                        },
                    },
                ),
                "parameters": peek_params,
            },
        },
        "/v1/queues/{queue}/tasks/{name}": {
            "parameters": qt,
            "get": _op("One task without side effects", _ref("Task"), errors="400 404 410"),
            "delete": _op(
                "Delete one task (no lease check)",
                {"type": "object"},
                errors=f"400 404 410 {_FAULTS}",
            ),
        },
        "/v1/queues/{queue}/tasks/{name}/lease": {
            "parameters": qt,
            "post": _op(
                "Modify a lease; eta_usec is the current lease token; 0 releases",
                {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "eta_usec": {"type": "integer"},
                        "eta": {"type": "string"},
                    },
                },
                body={
                    "type": "object",
                    "required": ["eta_usec", "lease_seconds"],
                    "properties": {
                        "eta_usec": {"type": "integer"},
                        "lease_seconds": {
                            "type": "number",
                            "minimum": 0,
                            "maximum": MAX_LEASE_SECONDS,
                        },
                    },
                },
                errors=f"400 404 409 410 {_FAULTS}",
            ),
        },
        "/v1/queues/{queue}/lease": {
            "parameters": q,
            "post": _op(
                "Lease tasks (optionally grouped by tag)",
                _array("tasks", _ref("LeasedTask")),
                body=lease_body,
                errors=f"400 404 409 {_FAULTS}",
            ),
        },
        "/v1/queues/{queue}/delete": {
            "parameters": q,
            "post": _op(
                "Delete tasks by name (per-task codes)",
                _array("results", {"type": "object"}),
                body={**_array("names", {"type": "string"}), "required": ["names"]},
                errors=f"400 404 {_FAULTS}",
            ),
        },
        "/v1/queues/{queue}/purge": {
            "parameters": q,
            "post": _op(
                "Delete every task, keeping tombstones",
                {"type": "object"},
                errors=f"400 404 {_FAULTS}",
            ),
        },
        "/v1/queues/{queue}/pause": {
            "parameters": q,
            "post": _op("Pause leasing", {"type": "object"}),
        },
        "/v1/queues/{queue}/resume": {
            "parameters": q,
            "post": _op("Resume leasing", {"type": "object"}),
        },
        "/v1/queues/{queue}/stats": {
            "parameters": q,
            "get": _op("Statistics of one queue", _ref("QueueStats"), errors=_FAULTS),
        },
        "/v1/stats": {
            "get": {
                **_op(
                    "Statistics of several queues (all if none named)",
                    _array("stats", _ref("QueueStats")),
                    errors=_FAULTS,
                ),
                "parameters": [
                    {
                        "name": "queue",
                        "in": "query",
                        "schema": {"type": "array", "items": {"type": "string"}},
                        "style": "form",
                        "explode": True,
                    }
                ],
            }
        },
        "/v1/time": {"get": _op("The emulator's current time", {"type": "object"}, errors="")},
        "/healthz": {"get": _op("Liveness", {"type": "object"}, errors="")},
        RPC_PATH: {
            "post": {
                "summary": "App Engine API-server protocol (remote_api Request/Response protobufs)",
                "requestBody": {"required": True, **_binary()},
                "responses": {
                    "200": {"description": "A serialized remote_api Response", **_binary()}
                },
            }
        },
        "/openapi.json": {"get": _op("This document", {"type": "object"}, errors="")},
    }


def _control_paths() -> Schema:
    q, qt = [_QUEUE], [_QUEUE, _TASK]
    clock_body = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "now_usec": {"type": "integer", "minimum": 0, "maximum": MAX_CLOCK_USEC},
            "advance_seconds": {"type": "number", "minimum": 0},
            "system": {"type": "boolean"},
        },
    }
    return {
        "/_emulator/reset": {
            "post": _op(
                "Drop tasks, tombstones, lease records, pauses; keep config",
                {"type": "object"},
                errors="",
            )
        },
        "/_emulator/clock": {
            "get": _op("The clock", _ref("Clock"), errors=""),
            "post": _op(
                "Freeze, advance or release the clock", _ref("Clock"), body=clock_body, errors="400"
            ),
        },
        "/_emulator/queues/{queue}/flush": {
            "parameters": q,
            "post": _op("Drop a queue's tasks and tombstones", {"type": "object"}),
        },
        "/_emulator/queues/{queue}/tasks/{name}/forget": {
            "parameters": qt,
            "post": _op("Delete a task without a tombstone", {"type": "object"}),
        },
    }


def _fault_paths() -> Schema:
    return {
        "/_emulator/faults": {
            "get": _op("Pending and injected faults, the random mode", _ref("Faults"), errors=""),
            "post": _op(
                "Make the next count calls fail (before anything changes)",
                _ref("Faults"),
                body=_ref("FaultRule"),
            ),
            "delete": _op("Drop pending faults and injected counts", _ref("Faults"), errors=""),
        }
    }


def openapi_document(*, test_control: bool = False, faults: bool = False) -> Schema:
    """The OpenAPI document; the ``/_emulator`` paths only when test control is enabled
    (``/_emulator/faults`` when the app has fault injection too)."""
    paths = _api_paths()
    if test_control:
        paths.update(_control_paths())
        if faults:
            paths.update(_fault_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "App Engine pull-queue emulator",
            "version": __version__,
            "description": "The native JSON API. Cloud Tasks' REST API (/v2beta2/, /v2beta3/, "
            "/v2/) is served too, as Google's discovery documents describe it "
            "(docs/CLOUD_TASKS.md).",
        },
        "paths": paths,
        "components": {"schemas": _SCHEMAS},
    }
