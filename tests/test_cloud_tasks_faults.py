"""The production behaviours through the Cloud Tasks face (REST, Flask's test client): an
injected code has its status (TRANSIENT_ERROR → 503 UNAVAILABLE), a deadline is 504
DEADLINE_EXCEEDED, RenewLease counts as ``modify_lease`` and AcknowledgeTask as ``delete``,
and a failed call changes nothing; the rate limit and the delay apply to LeaseTasks and
CreateTask as to the legacy API."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import TestResponse

from emulator.domain.faults import FaultCall, FaultRule
from emulator.domain.production import ProductionOptions
from tests.http_support import PULL, Api, make_api

Q = f"projects/p/locations/l/queues/{PULL}"
LEASE = {"maxTasks": 10, "leaseDuration": "60s"}


def send(api: Api, method: str, path: str, body: Any = None) -> TestResponse:
    response = api.client.open(path, method=method, json=body)
    assert response.is_json, response.get_data(as_text=True)
    return response


def ok(api: Api, method: str, path: str, body: Any = None) -> Any:
    response = send(api, method, path, body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def google_error(response: TestResponse, http: int, status: str, mention: str) -> None:
    body = response.get_json()
    assert (response.status_code, body["error"]["status"]) == (http, status), body
    assert mention in body["error"]["message"], body


@pytest.fixture
def api() -> Api:
    return make_api()


def test_injected_faults_have_cloud_tasks_statuses_and_change_nothing(api: Api) -> None:
    ok(api, "POST", f"/v2beta2/{Q}/tasks", {"task": {"pullMessage": {}}})
    api.faults.arm(FaultRule(FaultCall.LEASE, "TRANSIENT_ERROR"))
    api.faults.arm(FaultRule(FaultCall.LEASE, "DEADLINE_EXCEEDED"))

    unavailable = send(api, "POST", f"/v2beta2/{Q}/tasks:lease", LEASE)
    late = send(api, "POST", f"/v2beta2/{Q}/tasks:lease", LEASE)

    google_error(unavailable, 503, "UNAVAILABLE", "injected fault: lease")
    google_error(late, 504, "DEADLINE_EXCEEDED", "injected fault: lease")
    [task] = ok(api, "POST", f"/v2beta2/{Q}/tasks:lease", LEASE)["tasks"]
    assert task["status"] == {"attemptDispatchCount": 1}  # the failed leases did not count

    token = {"scheduleTime": task["scheduleTime"], "leaseDuration": "120s"}
    api.faults.arm(FaultRule(FaultCall.MODIFY_LEASE, "TRANSIENT_ERROR"))
    google_error(
        send(api, "POST", f"/v2beta2/{task['name']}:renewLease", token),
        503,
        "UNAVAILABLE",
        "modify_lease",
    )
    api.faults.arm(FaultRule(FaultCall.DELETE, "DEADLINE_EXCEEDED"))
    acknowledge = {"scheduleTime": task["scheduleTime"]}
    google_error(
        send(api, "POST", f"/v2beta2/{task['name']}:acknowledge", acknowledge),
        504,
        "DEADLINE_EXCEEDED",
        "delete",
    )

    assert [t["name"] for t in api.peek(PULL)] == ["task1"]  # still there, lease unchanged
    assert ok(api, "POST", f"/v2beta2/{task['name']}:acknowledge", acknowledge) == {}
    assert api.peek(PULL) == []


def test_the_rate_limit_and_the_delay_apply_to_cloud_tasks_calls() -> None:
    api = make_api(production=ProductionOptions(lease_rate_limit=1, add_visibility_delay_seconds=2))
    ok(api, "POST", f"/v2beta2/{Q}/tasks", {"task": {"pullMessage": {}}})
    ok(api, "POST", f"/v2beta2/{Q}/tasks", {"task": {"pullMessage": {}}})

    assert ok(api, "POST", f"/v2beta2/{Q}/tasks:lease", LEASE) == {}  # not visible yet
    api.advance(2)
    assert len(ok(api, "POST", f"/v2beta2/{Q}/tasks:lease", {**LEASE, "maxTasks": 1})["tasks"]) == 1
    assert ok(api, "POST", f"/v2beta2/{Q}/tasks:lease", LEASE) == {}  # the second of the second
    assert api.stats(PULL)["rate_limited_leases_last_minute"] == 1
