"""The JSON face of the production behaviours: ``/_emulator/faults`` (arm, list, clear, every
field checked), what a failed call answers (503 TRANSIENT_ERROR, 504 DEADLINE_EXCEEDED, the
code's own status), ``rate_limited_leases_last_minute`` and the visibility delay over /v1."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import TestResponse

from emulator.domain.production import ProductionOptions
from tests.http_support import NOW, PULL, PUSH, SEC, Api, assert_error, make_api

FAULTS = "/_emulator/faults"


@pytest.fixture
def api() -> Api:
    return make_api(test_control=True)


def arm(api: Api, **body: Any) -> dict[str, Any]:
    return api.post(FAULTS, body)


def send(api: Api, method: str, path: str, body: object = None, **query: Any) -> TestResponse:
    """A request that may answer 5xx (an injected fault), always with a JSON error body."""
    response = api.client.open(path, method=method, json=body, query_string=query or None)
    assert response.is_json, response.get_data(as_text=True)[:200]
    return response


def test_an_armed_fault_fails_the_next_calls_with_the_codes_status(api: Api) -> None:
    api.add_ok(PULL, {"name": "t"})
    state = arm(api, call="lease", error="TRANSIENT_ERROR", count=2)

    assert state["pending"] == [
        {"call": "lease", "error": "TRANSIENT_ERROR", "count": 2, "queue": None}
    ]
    for left in (1, 0):
        response = send(
            api, "POST", f"/v1/queues/{PULL}/lease", {"lease_seconds": 9, "max_tasks": 1}
        )
        message = assert_error(response, 503, "TRANSIENT_ERROR", "injected fault: lease")
        assert ("1 more to come" in message) is (left == 1)
    assert api.lease_names(PULL) == ["t"]
    assert api.get(FAULTS).get_json() == {
        "pending": [],
        "injected": [{"call": "lease", "error": "TRANSIENT_ERROR", "count": 2}],
        "random": [],
        "seed": None,
    }


def test_a_deadline_is_a_504_with_the_pseudo_code_deadline_exceeded(api: Api) -> None:
    arm(api, call="add", error="DeadlineExceededError")

    response = send(api, "POST", f"/v1/queues/{PULL}/tasks", {"tasks": [{"name": "t"}]})

    assert_error(response, 504, "DEADLINE_EXCEEDED", "injected fault: add on queue 'pull-q'")
    assert api.peek(PULL) == []
    assert api.add_ok(PULL, {"name": "t"}) == ["t"]


@pytest.mark.parametrize(
    ("call", "method", "path", "body"),
    [
        ("delete", "POST", f"/v1/queues/{PULL}/delete", {"names": ["t"]}),
        ("delete", "DELETE", f"/v1/queues/{PULL}/tasks/t", None),
        ("purge", "POST", f"/v1/queues/{PULL}/purge", None),
        ("stats", "GET", f"/v1/queues/{PULL}/stats", None),
        ("stats", "GET", "/v1/stats", None),
        ("stats", "GET", "/v1/queues", None),
        ("modify_lease", "POST", f"/v1/queues/{PULL}/tasks/t/lease", "token"),
    ],
)
def test_each_call_of_the_native_api_can_be_failed(
    api: Api, call: str, method: str, path: str, body: object
) -> None:
    api.add_ok(PULL, {"name": "t"})
    [leased] = api.lease(PULL)
    if body == "token":
        body = {"eta_usec": leased["eta_usec"], "lease_seconds": 5}
    before = api.snapshot()
    arm(api, call=call, error="QUEUE_PAUSED")

    assert_error(api.request(method, path, body), 409, "QUEUE_PAUSED", "injected fault")

    assert api.snapshot() == before
    assert api.request(method, path, body).status_code == 200


def test_a_fault_for_a_queue_leaves_the_other_queues_alone(api: Api) -> None:
    arm(api, call="stats", error="INTERNAL_ERROR", queue=PULL)

    assert api.get("/v1/stats", queue="other-pull").status_code == 200
    failed = send(api, "GET", "/v1/stats", queue=["other-pull", PULL])
    assert_error(failed, 500, "INTERNAL_ERROR")


@pytest.mark.parametrize(
    ("body", "field", "mention"),
    [
        ({"error": "TRANSIENT_ERROR"}, "call", "call: is required"),
        ({"call": "lease"}, "error", "error: is required"),
        ({"call": "fetch", "error": "TRANSIENT_ERROR"}, "call", "call: must be one of add"),
        ({"call": 3, "error": "TRANSIENT_ERROR"}, "call", "call: must be a string"),
        ({"call": "lease", "error": "SLOW"}, "error", "error: must be TransientError"),
        ({"call": "lease", "error": "OK"}, "error", "error: must be"),
        ({"call": "lease", "error": "TRANSIENT_ERROR", "count": 0}, "count", "count: must be"),
        ({"call": "lease", "error": "TRANSIENT_ERROR", "count": 1.5}, "count", "an integer"),
        ({"call": "lease", "error": "TRANSIENT_ERROR", "count": True}, "count", "an integer"),
        ({"call": "lease", "error": "TRANSIENT_ERROR", "queue": 1}, "queue", "queue: must be"),
        ({"call": "lease", "error": "TRANSIENT_ERROR", "when": 1}, "when", "when: unknown"),
    ],
)
def test_every_field_of_a_fault_is_checked_and_named(
    api: Api, body: dict[str, object], field: str, mention: str
) -> None:
    assert_error(api.request("POST", FAULTS, body), 400, "INVALID_REQUEST", mention)
    assert api.get(FAULTS).get_json()["pending"] == []


def test_a_fault_for_an_unknown_queue_or_a_bad_body_is_refused(api: Api) -> None:
    body = {"call": "lease", "error": "TRANSIENT_ERROR"}
    assert_error(api.request("POST", FAULTS, {**body, "queue": "nope"}), 404, "UNKNOWN_QUEUE")
    assert_error(api.request("POST", FAULTS, {**body, "queue": "a_b"}), 400, "INVALID_QUEUE_NAME")
    assert_error(api.request("POST", FAULTS, raw="{"), 400, "INVALID_REQUEST", "not valid JSON")
    assert_error(api.request("POST", FAULTS, raw="[]"), 400, "INVALID_REQUEST", "JSON object")
    assert api.get(FAULTS).get_json()["pending"] == []


def test_delete_and_reset_clear_the_faults(api: Api) -> None:
    arm(api, call="lease", error="TRANSIENT_ERROR", count=5)
    send(api, "POST", f"/v1/queues/{PULL}/lease", {"lease_seconds": 9, "max_tasks": 1})

    cleared = api.request("DELETE", FAULTS)

    assert cleared.status_code == 200
    assert cleared.get_json()["pending"] == cleared.get_json()["injected"] == []
    arm(api, call="lease", error="TRANSIENT_ERROR")
    api.post("/_emulator/reset")
    assert api.get(FAULTS).get_json()["pending"] == []
    assert api.lease(PULL) == []


def test_the_random_mode_and_its_seed_are_reported() -> None:
    from emulator.domain.faults import parse_fault_spec

    rates = parse_fault_spec("lease=TRANSIENT_ERROR:0.25,stats=DEADLINE_EXCEEDED:1")
    api = make_api(test_control=True, production=ProductionOptions(fault_rates=rates, fault_seed=4))

    assert api.get(FAULTS).get_json()["random"] == [
        {"call": "lease", "error": "TRANSIENT_ERROR", "rate": 0.25},
        {"call": "stats", "error": "DEADLINE_EXCEEDED", "rate": 1.0},
    ]
    assert api.get(FAULTS).get_json()["seed"] == 4
    failed = send(api, "GET", f"/v1/queues/{PULL}/stats")
    assert_error(failed, 504, "DEADLINE_EXCEEDED", "--inject-faults stats=DEADLINE_EXCEEDED:1")


def test_without_test_control_there_is_no_fault_endpoint() -> None:
    api = make_api()

    assert_error(
        api.request("POST", FAULTS, {"call": "lease", "error": "X"}), 404, "INVALID_REQUEST"
    )
    assert_error(api.get(FAULTS), 404, "INVALID_REQUEST")


# -- the rate limit and the visibility delay over /v1 -------------------------------------------


def test_rate_limited_leases_are_counted_in_the_native_statistics() -> None:
    api = make_api(production=ProductionOptions(lease_rate_limit=2))
    api.add_ok(PULL, *[{"eta_usec": NOW - SEC} for _ in range(5)])

    assert [len(api.lease(PULL, max_tasks=1)) for _ in range(4)] == [1, 1, 0, 0]

    assert api.stats(PULL)["rate_limited_leases_last_minute"] == 2
    assert api.stats(PUSH)["rate_limited_leases_last_minute"] == 0
    [listed] = [q for q in api.get("/v1/queues").get_json()["queues"] if q["name"] == PULL]
    assert listed["stats"]["rate_limited_leases_last_minute"] == 2
    api.advance(60)
    assert api.stats(PULL)["rate_limited_leases_last_minute"] == 0


def test_added_tasks_report_the_delayed_eta() -> None:
    api = make_api(production=ProductionOptions(add_visibility_delay_seconds=1.5))

    results = api.add(PULL, {"name": "a"}, {"name": "b", "countdown_seconds": 10})

    assert [r["eta_usec"] for r in results] == [NOW + 1_500_000, NOW + 10 * SEC]
    assert api.peek_names(PULL, state="delayed") == ["a", "b"]
    api.advance(1.5)
    assert api.lease_names(PULL) == ["a"]
