"""Cloud Tasks REST, request by request, with bodies shaped as Google's clients send them:
camelCase (and snake_case) names, base64 bytes, ``null`` for absent fields, durations as
``"60s"``, RFC 3339 timestamps, int and string enums, ``$alt=json;enum-encoding=int``; and
Google's error shape for everything that is refused. Flask's test client, no server."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from werkzeug.test import TestResponse

from tests.http_support import LIMITED, NOW, PULL, PUSH, SEC, Api, make_api

Q = f"projects/p/locations/l/queues/{PULL}"
INT_ENUMS = "%24alt=json%3Benum-encoding%3Dint"  # what the GAPIC REST transport appends


@pytest.fixture
def api() -> Api:
    return make_api()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def call(api: Api, method: str, path: str, body: Any = None, **headers: str) -> TestResponse:
    response = api.client.open(path, method=method, json=body, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    return response


def ok(api: Api, method: str, path: str, body: Any = None) -> Any:
    response = call(api, method, path, body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def google_error(response: TestResponse, http: int, status: str, *mentions: str) -> str:
    """Google's error body, exactly: code (the HTTP status), message, status."""
    body = response.get_json()
    assert response.status_code == http, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "status"}, body
    assert (body["error"]["code"], body["error"]["status"]) == (http, status), body
    message: str = body["error"]["message"]
    for text in mentions:
        assert text in message, (text, message)
    return message


def test_create_as_the_gapic_client_sends_it(api: Api) -> None:
    body = {"task": {"pullMessage": {"payload": b64(b"hello"), "tag": "foo"}}, "responseView": 2}

    task = ok(api, "POST", f"/v2beta2/{Q}/tasks?{INT_ENUMS}", body)

    assert task == {
        "name": f"{Q}/tasks/task1",
        "pullMessage": {"payload": b64(b"hello"), "tag": "foo"},
        "scheduleTime": "2026-01-01T00:00:00Z",
        "createTime": "2026-01-01T00:00:00Z",
        "view": 2,
    }


def test_string_enums_snake_case_names_and_nulls_are_read(api: Api) -> None:
    body = {
        "task": {
            "name": None,
            "schedule_time": None,
            "pull_message": {"payload": b64(b"x"), "tag": None},
        },
        "response_view": "FULL",
    }

    task = ok(api, "POST", f"/v2beta2/{Q}/tasks?alt=json", body)

    assert (task["view"], task["pullMessage"]) == ("FULL", {"payload": b64(b"x")})


def test_lease_renew_and_acknowledge_with_durations_and_rfc3339_tokens(api: Api) -> None:
    ok(api, "POST", f"/v2beta2/{Q}/tasks", {"task": {"pullMessage": {"tag": 'a "b"'}}})
    lease = {"maxTasks": 100, "leaseDuration": "60.9s", "responseView": "BASIC"}
    lease["filter"] = r'tag="a \"b\""'

    [task] = ok(api, "POST", f"/v2beta2/{Q}/tasks:lease?{INT_ENUMS}", lease)["tasks"]
    assert task["scheduleTime"] == "2026-01-01T00:01:00Z"  # 60.9 s: whole seconds
    assert task["status"] == {"attemptDispatchCount": 1}
    api.advance(0.5)
    renewed = ok(
        api,
        "POST",
        f"/v2beta2/{task['name']}:renewLease",
        {"scheduleTime": "2026-01-01T01:01:00+01:00", "leaseDuration": "120s"},  # same instant
    )
    assert renewed["scheduleTime"] == "2026-01-01T00:02:00.500Z"
    stale = call(
        api, "POST", f"/v2beta2/{task['name']}:acknowledge", {"scheduleTime": task["scheduleTime"]}
    )
    google_error(stale, 400, "FAILED_PRECONDITION", "lease token")
    token = {"scheduleTime": "2026-01-01T00:02:00.500000000Z"}
    assert ok(api, "POST", f"/v2beta2/{task['name']}:acknowledge", token) == {}


def test_list_tasks_from_query_parameters(api: Api) -> None:
    for name in ("a", "b", "c"):
        ok(
            api,
            "POST",
            f"/v2beta2/{Q}/tasks",
            {"task": {"name": f"{Q}/tasks/{name}", "pullMessage": {}}},
        )

    first = ok(api, "GET", f"/v2beta2/{Q}/tasks?responseView=2&pageSize=2&{INT_ENUMS}")
    assert [t["name"].rsplit("/", 1)[1] for t in first["tasks"]] == ["a", "b"]
    assert first["tasks"][0]["view"] == 2
    token = first["nextPageToken"]
    rest = ok(api, "GET", f"/v2beta2/{Q}/tasks?pageSize=2&pageToken={token}")
    assert [t["name"].rsplit("/", 1)[1] for t in rest["tasks"]] == ["c"]
    assert "nextPageToken" not in rest


def test_queue_json_with_a_read_mask_and_int64_as_strings(api: Api) -> None:
    ok(api, "POST", f"/v2beta2/{Q}/tasks", {"task": {"pullMessage": {}}})

    queue = ok(api, "GET", f"/v2beta2/{Q}?readMask=name%2Cstats%2CpullTarget&{INT_ENUMS}")
    assert queue == {
        "name": Q,
        "pullTarget": {},
        "stats": {"tasksCount": "1", "oldestEstimatedArrivalTime": "2026-01-01T00:00:00Z"},
    }
    plain = ok(api, "GET", f"/v2beta2/projects/p/locations/l/queues/{LIMITED}")
    assert plain["state"] == "RUNNING" and plain["retryConfig"] == {"maxAttempts": 3}
    ints = ok(api, "GET", f"/v2beta2/projects/p/locations/l/queues/{LIMITED}?{INT_ENUMS}")
    assert ints["state"] == 1


def test_v2_push_tasks_over_rest(api: Api) -> None:
    path = f"/v2/projects/p/locations/l/queues/{PUSH}/tasks"
    body = {
        "task": {
            "appEngineHttpRequest": {"httpMethod": "POST", "relativeUri": "/w", "body": b64(b"x")},
            "scheduleTime": "2026-01-01T00:00:10Z",
            "dispatchDeadline": "30s",
        },
        "responseView": "FULL",
    }

    task = ok(api, "POST", path, body)
    assert task["appEngineHttpRequest"] == {
        "httpMethod": "POST",
        "relativeUri": "/w",
        "body": b64(b"x"),
    }
    assert (task["scheduleTime"], task["dispatchDeadline"]) == ("2026-01-01T00:00:10Z", "30s")
    assert ok(api, "DELETE", f"/v2/{task['name']}") == {}


def test_firebase_admin_posts_v2_without_the_version_prefix(api: Api) -> None:
    path = f"/projects/p/locations/l/queues/{PUSH}/tasks"
    http_request = {
        "url": "https://us-central1-p.cloudfunctions.net/fn",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": b64(b'{"data": {}}'),
        "oidcToken": {"serviceAccountEmail": "fn@p.iam.gserviceaccount.com"},
    }

    task = ok(api, "POST", path, {"task": {"httpRequest": http_request}})
    assert task["httpRequest"]["url"] == http_request["url"]
    assert ok(api, "DELETE", f"/{task['name']}") == {}


def test_any_bearer_token_is_accepted(api: Api) -> None:
    response = call(api, "GET", f"/v2beta2/{Q}", Authorization="Bearer ya29.anything")
    assert response.status_code == 200


# -- refusals, in Google's shape ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"task": {"pullMessage": {}}, "colour": "red"}, ["colour"]),
        ({"task": {"pullMessage": {"payload": "***"}}}, ["payload"]),
        ({"task": {"scheduleTime": "yesterday", "pullMessage": {}}}, ["scheduleTime"]),
        ({"task": {"pullMessage": {}}, "responseView": "HUGE"}, ["HUGE"]),
        ({"task": {"pullMessage": {}}, "responseView": 9}, ["response_view"]),
        ({"task": "x"}, ["task"]),
        ({"task": {"pullMessage": {}, "appEngineHttpRequest": {}}}, ["payload_type"]),
        ({}, ["task", "required"]),
    ],
)
def test_bad_bodies_are_invalid_argument_naming_the_field(
    api: Api, body: dict[str, Any], mentions: list[str]
) -> None:
    google_error(call(api, "POST", f"/v2beta2/{Q}/tasks", body), 400, "INVALID_ARGUMENT", *mentions)


@pytest.mark.parametrize(
    ("raw", "mention"),
    [(b"{", "not valid JSON"), (b"[1]", "JSON object"), (b"[" * 100_000, "JSON")],
)
def test_unreadable_bodies_are_invalid_argument(api: Api, raw: bytes, mention: str) -> None:
    response = api.client.post(f"/v2beta2/{Q}/tasks", data=raw, content_type="application/json")
    google_error(response, 400, "INVALID_ARGUMENT", mention)


def test_a_body_over_the_limit_is_a_413(api: Api) -> None:
    response = api.client.post(
        f"/v2beta2/{Q}/tasks", data=b" " * (32 * 2**20 + 1), content_type="application/json"
    )
    google_error(response, 413, "INVALID_ARGUMENT", "too large")


def test_query_parameters_that_are_not_fields_are_refused(api: Api) -> None:
    google_error(
        call(api, "GET", f"/v2beta2/{Q}/tasks?colour=red"), 400, "INVALID_ARGUMENT", "colour"
    )
    google_error(
        call(api, "POST", f"/v2beta2/{Q}:pause?name=x", {}), 400, "INVALID_ARGUMENT", "name"
    )


@pytest.mark.parametrize(
    ("method", "path", "http", "status", "mention"),
    [
        ("GET", "/v2beta2/projects/p", 404, "NOT_FOUND", "not a Cloud Tasks resource"),
        ("GET", "/v2beta2", 404, "NOT_FOUND", "not a Cloud Tasks resource"),
        ("GET", "/v3/projects/p/locations/l/queues", 404, "NOT_FOUND", ""),
        ("PUT", f"/v2beta2/{Q}/tasks", 404, "NOT_FOUND", "use GET, POST"),
        ("GET", f"/v2beta2/{Q}:pause", 404, "NOT_FOUND", "use POST"),
        ("POST", "/v2beta2/projects/p/locations/l/queues", 501, "UNIMPLEMENTED", "queue.yaml"),
        ("PATCH", f"/v2beta2/{Q}", 501, "UNIMPLEMENTED", "UpdateQueue"),
        ("POST", f"/v2beta2/{Q}:getIamPolicy", 501, "UNIMPLEMENTED", "IAM"),
        ("POST", f"/v2beta2/{Q}/tasks:batchCreate", 501, "UNIMPLEMENTED", "v2beta2 has no"),
        ("GET", "/v2/projects/p/locations/l/operations/x", 501, "UNIMPLEMENTED", "complete"),
        ("POST", f"/v2/{Q}/tasks:lease", 501, "UNIMPLEMENTED", "v2 has no LeaseTasks"),
        ("GET", "/v2beta2/projects/p/locations", 501, "UNIMPLEMENTED", "any location"),
        (
            "GET",
            "/v2beta2/projects/p/locations/l/queues/bad_name",
            400,
            "INVALID_ARGUMENT",
            "queue ID",
        ),
        ("GET", "/v2beta2/projects/p/locations/l/queues/nope", 404, "NOT_FOUND", "'nope'"),
    ],
)
def test_paths_and_methods_that_are_not_served(
    api: Api, method: str, path: str, http: int, status: str, mention: str
) -> None:
    response = api.client.open(path, method=method, json={})
    if path.startswith("/v3"):  # not ours at all: the app's own 404
        assert response.status_code == 404
        return
    google_error(response, http, status, mention)


def test_lease_errors_over_rest(api: Api) -> None:
    path = f"/v2beta2/{Q}/tasks:lease"
    google_error(
        call(api, "POST", path, {"maxTasks": 1}), 400, "INVALID_ARGUMENT", "lease_duration"
    )
    bad = {"maxTasks": 1, "leaseDuration": "-5s"}
    google_error(call(api, "POST", path, bad), 400, "INVALID_ARGUMENT", "lease_duration")
    api.service.pause(PULL)
    paused = {"maxTasks": 1, "leaseDuration": "5s"}
    google_error(call(api, "POST", path, paused), 400, "FAILED_PRECONDITION", "paused")


def test_the_clock_of_the_emulator_decides_now(api: Api) -> None:
    api.at(NOW + 7 * SEC)
    task = ok(api, "POST", f"/v2beta2/{Q}/tasks", {"task": {"pullMessage": {}}})
    assert task["scheduleTime"] == "2026-01-01T00:00:07Z"
