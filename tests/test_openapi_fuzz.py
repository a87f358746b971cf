"""Schemathesis against ``GET /openapi.json`` of an app with test control enabled: every
operation of the document (the /v1 API, /healthz, /openapi.json, /_emulator/*) with
generated valid and invalid requests. No 500, every error body ``{"error": {"code",
"message"}}``, responses conform to the document (status codes, content types, schemas,
headers).

The number of examples per operation follows the Hypothesis profile (tests/conftest.py).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.http_support import make_api

#: The document gives shapes and ranges, not every rule of the core (an ETA and a countdown
#: together, a push-only field on a pull task, a clock body with both fields, ...), and some
#: routes answer lenient by design (/rpc_http always answers a remote_api.Response; stats of
#: an unknown queue say ``exists: false``): so schemathesis' two checks that read the schema as
#: the complete rule set are left out (docs/RELIABILITY.md, "Fuzzing").
EXCLUDED: list[schemathesis.CheckFunction] = [positive_data_acceptance, negative_data_rejection]

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
def test_every_operation_answers_within_its_document(case: schemathesis.Case[Any]) -> None:
    response = case.call()
    assert response.status_code < 500, (case.as_curl_command(), response.text)
    assert_well_formed_error(response)
    case.validate_response(response, excluded_checks=EXCLUDED)
