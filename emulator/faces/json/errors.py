"""The JSON face's error table: ``ErrorCode`` → HTTP status, and the JSON error body.

Every error response of the HTTP faces has the body
``{"error": {"code": "<TaskQueueServiceError name>", "message": "..."}}``.
"""

from __future__ import annotations

import logging
from typing import Final

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from emulator.domain.errors import CallDeadlineExceeded, ErrorCode, TaskQueueError
from emulator.faces.json.codec import deadline_error_to_json, error_to_json

HTTP_STATUS: Final[dict[ErrorCode, int]] = {
    ErrorCode.UNKNOWN_QUEUE: 404,
    ErrorCode.TRANSIENT_ERROR: 503,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.TASK_TOO_LARGE: 413,
    ErrorCode.INVALID_TASK_NAME: 400,
    ErrorCode.INVALID_QUEUE_NAME: 400,
    ErrorCode.INVALID_URL: 400,
    ErrorCode.INVALID_QUEUE_RATE: 400,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.TASK_ALREADY_EXISTS: 409,
    ErrorCode.TOMBSTONED_TASK: 410,
    ErrorCode.INVALID_ETA: 400,
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.UNKNOWN_TASK: 404,
    ErrorCode.TOMBSTONED_QUEUE: 410,
    ErrorCode.DUPLICATE_TASK_NAME: 400,
    ErrorCode.TOO_MANY_TASKS: 400,
    ErrorCode.INVALID_PAYLOAD: 400,
    ErrorCode.INVALID_RETRY_PARAMETERS: 400,
    ErrorCode.INVALID_QUEUE_MODE: 400,
    ErrorCode.ACL_LOOKUP_ERROR: 403,
    ErrorCode.TRANSACTIONAL_REQUEST_TOO_LARGE: 413,
    ErrorCode.TASK_LEASE_EXPIRED: 409,
    ErrorCode.QUEUE_PAUSED: 409,
    ErrorCode.INVALID_TAG: 400,
    ErrorCode.INVALID_DISPATCH_DEADLINE: 400,
}

#: The status of a call that ran out of time (body code ``DEADLINE_EXCEEDED``).
DEADLINE_EXCEEDED_STATUS: Final = 504

_log = logging.getLogger("emulator.http")


def error_response(code: ErrorCode, message: str, status: int | None = None) -> Response:
    """The JSON error body with the status from the table (or ``status`` if given)."""
    response = jsonify(error_to_json(code, message))
    response.status_code = status or HTTP_STATUS.get(code, 500)
    return response


def register_error_handlers(app: Flask) -> None:
    """Make every error a JSON body: domain errors, HTTP errors (404, 405, 413) and bugs."""

    @app.errorhandler(TaskQueueError)
    def _domain(err: TaskQueueError) -> Response:
        return error_response(err.code, err.message)

    @app.errorhandler(CallDeadlineExceeded)
    def _deadline(err: CallDeadlineExceeded) -> Response:
        response = jsonify(deadline_error_to_json(err))
        response.status_code = DEADLINE_EXCEEDED_STATUS
        return response

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        status = err.code or 500
        message = err.description or err.name
        if status == 413:
            message = "request body too large: " + message
        response = error_response(ErrorCode.INVALID_REQUEST, message, status)
        for key, value in err.get_headers():  # e.g. the Allow header a 405 must carry
            if key.lower() != "content-type":
                response.headers[key] = value
        return response

    @app.errorhandler(Exception)
    def _bug(err: Exception) -> Response:
        _log.exception("internal error")
        return error_response(ErrorCode.INTERNAL_ERROR, f"internal error: {type(err).__name__}")
