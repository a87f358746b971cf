"""``GET /openapi.json``: a well-formed OpenAPI 3.1 document that describes exactly the routes
the Flask app registers, and whose schemas name the fields the API really returns."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from emulator import __version__
from emulator.domain.errors import ErrorCode
from emulator.faces.console import paths as console_paths
from emulator.faces.json.openapi import openapi_document
from tests.http_support import NOW, PULL, PUSH, SEC, Api, make_api

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
PATH_ITEM_KEYS = HTTP_METHODS | {"parameters", "summary", "description", "servers", "$ref"}
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})  # added to every route by Flask


@pytest.fixture(params=[False, True], ids=["plain", "test-control"])
def api(request: pytest.FixtureRequest) -> Api:
    return make_api(test_control=request.param)


def _served(api: Api) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    body = response.get_json()
    assert isinstance(body, dict)
    return body


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                assert isinstance(value, str)
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _routes(api: Api) -> set[tuple[str, str]]:
    """(OpenAPI path, method) for every rule of the app's URL map but Cloud Tasks' (Google's
    discovery documents describe those; tests/test_cloud_tasks_rest.py tests them) and the web
    console's (HTML pages, not part of the API)."""
    routes: set[tuple[str, str]] = set()
    for rule in api.app.url_map.iter_rules():
        undocumented = ("cloud_tasks.", f"{console_paths.BLUEPRINT}.")
        if rule.endpoint == "static" or rule.endpoint.startswith(undocumented):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes.update((path, m.lower()) for m in rule.methods or () if m not in IGNORED_METHODS)
    return routes


def _documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, m) for path, item in doc["paths"].items() for m in item if m in HTTP_METHODS}


def test_served_document_is_the_generated_one(api: Api) -> None:
    control = api.app.url_map.bind("localhost").test("/_emulator/reset", method="POST")

    assert _served(api) == openapi_document(test_control=control, faults=control)


def test_document_has_the_openapi_3_1_structure(api: Api) -> None:
    doc = _served(api)

    assert doc["openapi"] == "3.1.0"
    assert isinstance(doc["info"]["title"], str) and doc["info"]["title"]
    assert doc["info"]["version"] == __version__
    schemas = doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        assert path.startswith("/"), path
        assert set(item) <= PATH_ITEM_KEYS, (path, set(item) - PATH_ITEM_KEYS)
        for method in set(item) & HTTP_METHODS:
            operation = item[method]
            assert isinstance(operation.get("summary"), str), (path, method)
            responses = operation["responses"]
            assert "200" in responses, (path, method)
            for status, response in responses.items():
                assert re.fullmatch(r"[1-5][0-9][0-9]", status), (path, method, status)
                assert isinstance(response["description"], str)
                for media in response.get("content", {}).values():
                    assert "schema" in media
            if "requestBody" in operation:
                assert operation["requestBody"]["content"], (path, method)
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_every_path_template_variable_is_a_declared_path_parameter(api: Api) -> None:
    for path, item in _served(api)["paths"].items():
        variables = set(re.findall(r"{([^{}]+)}", path))
        for method in set(item) & HTTP_METHODS:
            parameters = item.get("parameters", []) + item[method].get("parameters", [])
            declared = {p["name"] for p in parameters if p["in"] == "path"}
            assert declared == variables, (path, method)
            assert all(p["required"] is True for p in parameters if p["in"] == "path")


def test_document_describes_exactly_the_registered_routes(api: Api) -> None:
    routes = _routes(api)

    assert ("/v1/queues/{queue}/lease", "post") in routes  # the translation works
    assert _documented(_served(api)) == routes


def test_test_control_routes_are_documented_only_when_enabled() -> None:
    plain = _served(make_api())["paths"]
    control = _served(make_api(test_control=True))["paths"]

    assert not [p for p in plain if p.startswith("/_emulator")]
    assert {p for p in control if p.startswith("/_emulator")} == {
        "/_emulator/reset",
        "/_emulator/clock",
        "/_emulator/queues/{queue}/flush",
        "/_emulator/queues/{queue}/tasks/{name}/forget",
        "/_emulator/faults",
    }


def test_error_codes_of_real_responses_are_in_the_error_schema() -> None:
    api = make_api()
    codes = openapi_document()["components"]["schemas"]["Error"]["properties"]["error"]
    enum = set(codes["properties"]["code"]["enum"])
    responses = [
        api.get("/v1/queues/nope"),
        api.get("/nope"),
        api.request("PUT", "/v1/time"),
        api.request("POST", f"/v1/queues/{PULL}/lease", raw="{"),
    ]

    assert {r.get_json()["error"]["code"] for r in responses} <= enum
    assert enum == {c.name for c in ErrorCode} | {"DEADLINE_EXCEEDED"}


def _properties(name: str) -> set[str]:
    schema = openapi_document(test_control=True)["components"]["schemas"][name]
    return set(schema["properties"])


def test_schemas_name_the_fields_the_api_returns() -> None:
    api = make_api(test_control=True)
    api.add_ok(PULL, {"name": "t", "eta_usec": NOW - SEC, "tag": "A"})
    [added] = api.add(PULL, {"name": "u"})
    [leased] = api.lease(PULL, max_tasks=1)

    assert set(api.task(PULL, "t")) == _properties("Task")
    assert set(leased) == _properties("LeasedTask")
    assert set(added) <= _properties("AddResult")
    assert set(api.stats(PULL)) == _properties("QueueStats")
    assert set(api.get(f"/v1/queues/{PULL}").get_json()) == _properties("Queue")
    assert set(api.get("/_emulator/clock").get_json()) == _properties("Clock")
    assert set(api.peek(PULL)[0]) == _properties("Task")


#: A value for every documented NewTask field, and the queue that takes it.
NEW_TASK_SAMPLES: dict[str, tuple[object, str]] = {
    "name": ("n", PULL),
    "payload": ("aGk=", PULL),
    "tag": ("A", PULL),
    "eta_usec": (NOW + SEC, PULL),
    "countdown_seconds": (1.5, PULL),
    "mode": ("pull", PULL),
    "method": ("PUT", PUSH),
    "url": ("/work", PUSH),
    "headers": ({"X-A": "1"}, PUSH),
    "retry_options": ({"task_retry_limit": 1, "min_backoff_seconds": 0.5}, PULL),
    "dispatch_deadline_usec": (20 * SEC, PUSH),
}


def test_every_documented_task_field_is_accepted() -> None:
    api = make_api()
    documented = _properties("NewTask")

    assert set(NEW_TASK_SAMPLES) == documented
    for field, (value, queue) in NEW_TASK_SAMPLES.items():
        [result] = api.add(queue, {field: value})
        assert result["code"] == "OK", (field, result)


def test_every_documented_lease_field_is_accepted() -> None:
    doc = openapi_document()
    body = doc["paths"]["/v1/queues/{queue}/lease"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    api = make_api()
    api.add_ok(PULL, {"name": "t", "tag": "A", "eta_usec": NOW - SEC})
    sample = {"lease_seconds": 1.5, "max_tasks": 2, "group_by_tag": True, "tag": "A"}

    assert set(schema["properties"]) == set(sample)
    assert set(schema["required"]) == {"lease_seconds", "max_tasks"}
    assert api.lease_names(PULL, **sample) == ["t"]
