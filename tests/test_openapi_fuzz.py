"""Schemathesis against ``GET /openapi.json`` of an app with test control enabled: every
operation of the document (the /v1 API, /healthz, /openapi.json, /_emulator/*) with
generated valid and invalid requests. No 500, every error body ``{"error": {"code",
"message"}}``, responses conform to the document (status codes, content types, schemas).

The number of examples per operation follows the Hypothesis profile (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from tests.http_support import make_api

APP = make_api(test_control=True).app
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)


def assert_well_formed_error(response: Any) -> None:
    """A 4xx/5xx carries exactly ``{"error": {"code": str, "message": str}}``."""
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message"}, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_every_operation_answers_within_its_document(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, (case.as_curl_command(), response.text)
    assert_well_formed_error(response)
    case.validate_response(response)
