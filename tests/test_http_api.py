"""Contract tests of the native JSON API (``/v1``) through Flask's test client.

Every request goes through :class:`tests.http_support.Api`, which also asserts that the
answer is JSON and never a 5xx. The clock is frozen at ``NOW`` and moved explicitly.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import __version__
from emulator.domain.limits import (
    MAX_ETA_USEC,
    MAX_LEASE_SECONDS,
    MAX_PULL_TASK_SIZE_BYTES,
    MAX_PUSH_TASK_SIZE_BYTES,
    MAX_REQUEST_SIZE_BYTES,
    MAX_TASKS_PER_ADD,
    MAX_TASKS_PER_LEASE,
)
from tests.http_support import (
    ALL_QUEUES,
    LIMITED,
    NOW,
    NOW_TEXT,
    OTHER,
    PULL,
    PUSH,
    SEC,
    Api,
    Json,
    assert_error,
    assert_error_shape,
    make_api,
)


@pytest.fixture
def api() -> Api:
    return make_api()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- add ------------------------------------------------------------------------------------


def test_add_unnamed_tasks_get_task1_task2_and_the_current_eta(api: Api) -> None:
    results = api.add(PULL, {"payload": b64(b"one")}, {"payload": b64(b"two")})

    assert results == [
        {"code": "OK", "name": "task1", "eta_usec": NOW},
        {"code": "OK", "name": "task2", "eta_usec": NOW},
    ]
    stored = api.peek(PULL)
    assert [(t["name"], t["payload"], t["eta_usec"]) for t in stored] == [
        ("task1", b64(b"one"), NOW),
        ("task2", b64(b"two"), NOW),
    ]


def test_auto_names_skip_names_already_taken(api: Api) -> None:
    api.add_ok(PULL, {"name": "task1"})

    assert api.add_ok(PULL, {}) == ["task2"]


def test_add_named_task_stores_payload_tag_and_eta(api: Api) -> None:
    [result] = api.add(PULL, {"name": "job-1", "payload": b64(b"\x00\xff"), "tag": "img"})

    assert result == {"code": "OK", "name": "job-1", "eta_usec": NOW}
    task = api.task(PULL, "job-1")
    assert (task["payload"], task["tag"], task["retry_count"], task["mode"]) == (
        b64(b"\x00\xff"),
        "img",
        0,
        "pull",
    )


def test_batch_with_existing_and_tombstoned_names_adds_the_others(api: Api) -> None:
    api.add_ok(PULL, {"name": "a"}, {"name": "b"})
    assert api.delete(PULL, "b") == ["OK"]

    results = api.add(PULL, {"name": "c"}, {"name": "a"}, {"name": "b"}, {"name": "d"})

    assert [(r["code"], r["name"]) for r in results] == [
        ("OK", "c"),
        ("TASK_ALREADY_EXISTS", "a"),
        ("TOMBSTONED_TASK", "b"),
        ("OK", "d"),
    ]
    assert api.peek_names(PULL) == ["a", "c", "d"]


@pytest.mark.parametrize(
    ("bad_task", "code"),
    [
        ({"eta_usec": NOW + MAX_ETA_USEC + 1}, "INVALID_ETA"),
        ({"countdown_seconds": 30 * 86400 + 1}, "INVALID_ETA"),
        ({"countdown_seconds": -(NOW / SEC) - 1}, "INVALID_ETA"),
        ({"payload": b64(b"x" * MAX_PULL_TASK_SIZE_BYTES)}, "TASK_TOO_LARGE"),
        ({"tag": "t" * 501}, "INVALID_TAG"),
        ({"name": "a.b"}, "INVALID_TASK_NAME"),
        ({"name": "n" * 501}, "INVALID_TASK_NAME"),
    ],
)
def test_one_invalid_task_rejects_the_whole_batch(api: Api, bad_task: Json, code: str) -> None:
    results = api.add(PULL, {"name": "first"}, bad_task, {})

    assert [r["code"] for r in results] == ["SKIPPED", code, "SKIPPED"]
    assert results[1]["message"]
    assert results[0]["name"] == "first"
    assert api.peek(PULL) == []


@pytest.mark.parametrize(
    "task",
    [
        {"eta_usec": NOW + MAX_ETA_USEC},
        {"countdown_seconds": 30 * 86400},
        {"tag": "t" * 500},
        {"name": "n" * 500},
        {"name": "Az09_-"},
        {"payload": b64(b"x" * (MAX_PULL_TASK_SIZE_BYTES - 100))},
    ],
)
def test_values_at_the_limits_are_accepted(api: Api, task: Json) -> None:
    assert len(api.add_ok(PULL, task)) == 1


def test_push_task_size_limit_is_100_kib(api: Api) -> None:
    [result] = api.add(PUSH, {"payload": b64(b"x" * MAX_PUSH_TASK_SIZE_BYTES)})

    assert result["code"] == "TASK_TOO_LARGE"
    assert api.add_ok(PUSH, {"payload": b64(b"x" * (MAX_PUSH_TASK_SIZE_BYTES - 200))})


def test_tag_on_a_push_task_is_invalid(api: Api) -> None:
    [result] = api.add(PUSH, {"tag": "x"})

    assert result["code"] == "INVALID_TAG"


def test_more_than_100_tasks_is_too_many(api: Api) -> None:
    response = api.request(
        "POST", f"/v1/queues/{PULL}/tasks", {"tasks": [{}] * (MAX_TASKS_PER_ADD + 1)}
    )

    assert_error(response, 400, "TOO_MANY_TASKS", "100")
    assert api.peek(PULL) == []
    assert len(api.add_ok(PULL, *[{}] * MAX_TASKS_PER_ADD)) == MAX_TASKS_PER_ADD


def test_empty_batch_is_invalid(api: Api) -> None:
    response = api.request("POST", f"/v1/queues/{PULL}/tasks", {"tasks": []})

    assert_error(response, 400, "INVALID_REQUEST")


@pytest.mark.parametrize(
    ("queue", "task"),
    [
        (PUSH, {"mode": "pull"}),
        ("default", {"mode": "pull", "name": "p"}),
        (PULL, {"mode": "push", "url": "/work"}),
    ],
)
def test_task_of_the_other_mode_is_an_invalid_queue_mode(api: Api, queue: str, task: Json) -> None:
    response = api.request("POST", f"/v1/queues/{queue}/tasks", {"tasks": [{}, task]})

    assert_error(response, 400, "INVALID_QUEUE_MODE", queue)
    assert api.peek(queue) == []


def test_task_without_mode_takes_the_queue_mode(api: Api) -> None:
    api.add_ok(PUSH, {"name": "p", "url": "/work", "method": "put", "headers": {"X-A": "1"}})

    task = api.task(PUSH, "p")
    assert (task["mode"], task["method"], task["url"], task["headers"]) == (
        "push",
        "PUT",
        "/work",
        [["X-A", "1"]],
    )


def test_add_to_an_unknown_queue_is_404(api: Api) -> None:
    response = api.request("POST", "/v1/queues/nope/tasks", {"tasks": [{}]})

    assert_error(response, 404, "UNKNOWN_QUEUE", "nope")


def test_add_to_an_invalid_queue_name_is_400(api: Api) -> None:
    response = api.request("POST", "/v1/queues/bad_name/tasks", {"tasks": [{}]})

    assert_error(response, 400, "INVALID_QUEUE_NAME", "bad_name")


def test_eta_usec_and_countdown_seconds_set_the_eta(api: Api) -> None:
    results = api.add(
        PULL, {"name": "at", "eta_usec": NOW + 5 * SEC}, {"name": "in", "countdown_seconds": 2.5}
    )

    assert [r["eta_usec"] for r in results] == [NOW + 5 * SEC, NOW + 2_500_000]
    assert [(t["name"], t["state"]) for t in api.peek(PULL)] == [
        ("in", "delayed"),
        ("at", "delayed"),
    ]


def test_eta_usec_and_countdown_together_are_refused(api: Api) -> None:
    response = api.request(
        "POST", f"/v1/queues/{PULL}/tasks", {"tasks": [{"eta_usec": NOW, "countdown_seconds": 1}]}
    )

    assert_error(response, 400, "INVALID_REQUEST", "tasks[0]", "eta_usec", "countdown_seconds")


def test_per_task_retry_options_are_stored_and_applied(api: Api) -> None:
    api.add_ok(PULL, {"name": "once", "retry_options": {"task_retry_limit": 0}})

    assert api.task(PULL, "once")["retry_options"] == {"task_retry_limit": 0}
    api.at(NOW + 1)
    assert api.lease(PULL) == []
    assert_error(api.get(f"/v1/queues/{PULL}/tasks/once"), 410, "TOMBSTONED_TASK")


# -- lease ----------------------------------------------------------------------------------


def test_tasks_are_ready_from_their_eta(api: Api) -> None:
    api.add_ok(PULL, {"name": "t"}, {"name": "later", "eta_usec": NOW + 1})  # t: eta == NOW

    assert api.lease_names(PULL) == ["t"]
    api.at(NOW + 1)
    assert api.lease_names(PULL) == ["later"]


def test_lease_order_is_eta_then_name(api: Api) -> None:
    api.add_ok(
        PULL,
        {"name": "c", "eta_usec": NOW - SEC},
        {"name": "a", "eta_usec": NOW - SEC},
        {"name": "z", "eta_usec": NOW - 2 * SEC},
        {"name": "b", "eta_usec": NOW - SEC},
    )

    assert api.lease_names(PULL, max_tasks=3) == ["z", "a", "b"]
    assert api.lease_names(PULL, max_tasks=3) == ["c"]


def test_lease_sets_eta_to_now_plus_lease_and_counts_retries(api: Api) -> None:
    api.add_ok(PULL, {"name": "t", "payload": b64(b"p"), "tag": "x", "eta_usec": NOW - 1})

    [task] = api.lease(PULL, lease_seconds=1.5)

    assert task == {
        "name": "t",
        "payload": b64(b"p"),
        "tag": "x",
        "eta_usec": NOW + 1_500_000,
        "eta": "2026-01-01T00:00:01.500000Z",
        "retry_count": 1,
    }
    assert api.lease(PULL) == []
    api.at(NOW + 1_500_001)
    [again] = api.lease(PULL, lease_seconds=10)
    assert (again["retry_count"], again["eta_usec"]) == (2, NOW + 1_500_001 + 10 * SEC)
    assert api.task(PULL, "t")["leased_at_usec"] == NOW + 1_500_001


def test_lease_takes_at_most_max_tasks(api: Api) -> None:
    api.add_ok(PULL, *[{"eta_usec": NOW - SEC}] * 5)

    assert len(api.lease(PULL, max_tasks=2)) == 2
    assert len(api.lease(PULL, max_tasks=10)) == 3


def test_zero_lease_seconds_is_allowed(api: Api) -> None:
    api.add_ok(PULL, {"name": "t", "eta_usec": NOW - 1})

    [task] = api.lease(PULL, lease_seconds=0)

    assert (task["eta_usec"], task["retry_count"]) == (NOW, 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lease_seconds": 30, "max_tasks": 0}, "max_tasks"),
        ({"lease_seconds": 30, "max_tasks": MAX_TASKS_PER_LEASE + 1}, "max_tasks"),
        ({"lease_seconds": -1, "max_tasks": 1}, "lease_seconds"),
        ({"lease_seconds": MAX_LEASE_SECONDS + 0.5, "max_tasks": 1}, "lease_seconds"),
        ({"max_tasks": 1}, "lease_seconds"),
        ({"lease_seconds": 30}, "max_tasks"),
    ],
)
def test_lease_bounds_are_400_naming_the_field(api: Api, body: Json, field: str) -> None:
    api.add_ok(PULL, {"eta_usec": NOW - 1})

    response = api.request("POST", f"/v1/queues/{PULL}/lease", body)

    assert_error(response, 400, "INVALID_REQUEST", field)
    assert api.peek(PULL)[0]["retry_count"] == 0


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/queues/nope/lease", {"lease_seconds": -1, "max_tasks": 1}, "lease_seconds"),
        ("/v1/queues/nope/lease", {"lease_seconds": 1, "max_tasks": 0}, "max_tasks"),
        ("/v1/queues/nope/tasks/t/lease", {"eta_usec": 1, "lease_seconds": -1}, "lease_seconds"),
    ],
)
def test_a_bad_argument_is_reported_before_an_unknown_queue(
    api: Api, path: str, body: Json, field: str
) -> None:
    assert_error(api.request("POST", path, body), 400, "INVALID_REQUEST", field)


def test_a_bad_peek_limit_is_reported_before_an_unknown_queue(api: Api) -> None:
    assert_error(api.get("/v1/queues/nope/tasks", limit="0"), 400, "INVALID_REQUEST", "limit")


def test_lease_bounds_are_inclusive(api: Api) -> None:
    api.add_ok(PULL, {"eta_usec": NOW - 1})

    assert len(api.lease(PULL, lease_seconds=MAX_LEASE_SECONDS, max_tasks=MAX_TASKS_PER_LEASE)) == 1


def test_lease_from_push_queue_is_invalid_queue_mode(api: Api) -> None:
    for queue in (PUSH, "default"):
        response = api.request(
            "POST", f"/v1/queues/{queue}/lease", {"lease_seconds": 1, "max_tasks": 1}
        )
        assert_error(response, 400, "INVALID_QUEUE_MODE", queue)


def test_lease_from_unknown_queue_is_404(api: Api) -> None:
    response = api.request("POST", "/v1/queues/nope/lease", {"lease_seconds": 1, "max_tasks": 1})

    assert_error(response, 404, "UNKNOWN_QUEUE", "nope")


def test_tag_without_group_by_tag_is_invalid(api: Api) -> None:
    api.add_ok(PULL, {"tag": "A", "eta_usec": NOW - 1})

    response = api.request(
        "POST", f"/v1/queues/{PULL}/lease", {"lease_seconds": 1, "max_tasks": 1, "tag": "A"}
    )

    assert_error(response, 400, "INVALID_REQUEST", "group_by_tag")
    assert api.peek(PULL)[0]["retry_count"] == 0


# -- lease by tag -----------------------------------------------------------------------------


def test_lease_by_explicit_tag_takes_only_that_tag(api: Api) -> None:
    api.add_ok(
        PULL,
        {"name": "a1", "tag": "A", "eta_usec": NOW - 3 * SEC},
        {"name": "b1", "tag": "B", "eta_usec": NOW - 2 * SEC},
        {"name": "a2", "tag": "A", "eta_usec": NOW - SEC},
    )

    assert api.lease_names(PULL, group_by_tag=True, tag="B") == ["b1"]
    assert api.lease_names(PULL, group_by_tag=True, tag="A", max_tasks=1) == ["a1"]
    assert api.lease_names(PULL, group_by_tag=True, tag="A") == ["a2"]


def _untagged_first_scenario(api: Api) -> None:
    """Reference §4.4's observed case: u1(oldest, untagged), a1(A), u2, a2(A), fut(A, future)."""
    api.add_ok(
        PULL,
        {"name": "u1", "eta_usec": NOW - 5 * SEC},
        {"name": "a1", "tag": "A", "eta_usec": NOW - 4 * SEC},
        {"name": "u2", "eta_usec": NOW - 3 * SEC},
        {"name": "a2", "tag": "A", "eta_usec": NOW - 2 * SEC},
        {"name": "fut", "tag": "A", "countdown_seconds": 100},
    )


@pytest.mark.parametrize("tag", [None, ""])
def test_lease_by_tag_without_a_tag_follows_the_oldest_task(api: Api, tag: str | None) -> None:
    _untagged_first_scenario(api)
    extra: dict[str, Any] = {} if tag is None else {"tag": tag}

    def lease() -> list[str]:
        return api.lease_names(PULL, max_tasks=2, group_by_tag=True, **extra)

    assert lease() == ["u1"]  # untagged group: only within the first max_tasks window
    assert lease() == ["a1", "a2"]  # tag A: beyond the window
    assert lease() == ["u2"]
    assert lease() == []  # fut is not due


def test_plain_lease_ignores_tags(api: Api) -> None:
    _untagged_first_scenario(api)

    assert api.lease_names(PULL, max_tasks=10) == ["u1", "a1", "u2", "a2"]


# -- modify lease -----------------------------------------------------------------------------


def _leased(api: Api, name: str = "t", lease_seconds: float = 30) -> int:
    """Add ``name`` and lease it at NOW; return its lease token."""
    api.add_ok(PULL, {"name": name, "eta_usec": NOW - SEC})
    [task] = api.lease(PULL, lease_seconds=lease_seconds, max_tasks=1)
    assert task["name"] == name
    token: int = task["eta_usec"]
    return token


def _modify(api: Api, name: str, eta_usec: object, lease_seconds: object, queue: str = PULL) -> Any:
    return api.request(
        "POST",
        f"/v1/queues/{queue}/tasks/{name}/lease",
        {"eta_usec": eta_usec, "lease_seconds": lease_seconds},
    )


def test_modify_lease_with_the_token_extends_from_now(api: Api) -> None:
    token = _leased(api)
    api.advance(10)

    response = _modify(api, "t", token, 60)

    assert response.status_code == 200
    assert response.get_json() == {
        "name": "t",
        "eta_usec": NOW + 70 * SEC,
        "eta": "2026-01-01T00:01:10.000000Z",
    }
    task = api.task(PULL, "t")
    assert (task["eta_usec"], task["retry_count"]) == (NOW + 70 * SEC, 1)
    # the new ETA is the new token
    assert _modify(api, "t", NOW + 70 * SEC, 5).status_code == 200
    assert_error(_modify(api, "t", token, 5), 409, "TASK_LEASE_EXPIRED")


def test_modify_lease_with_another_token_is_lease_expired(api: Api) -> None:
    token = _leased(api)

    assert_error(_modify(api, "t", token + 1, 60), 409, "TASK_LEASE_EXPIRED", "t")
    assert api.task(PULL, "t")["eta_usec"] == token


def test_modify_an_expired_lease_is_lease_expired(api: Api) -> None:
    token = _leased(api)
    api.at(token - 1)
    assert _modify(api, "t", token, 1).status_code == 200  # the lease's last microsecond
    new_token = token - 1 + SEC
    api.at(new_token)  # the lease ends: the task is leasable, so the holder lost it

    assert_error(_modify(api, "t", new_token, 60), 409, "TASK_LEASE_EXPIRED", "expired")
    assert api.task(PULL, "t")["eta_usec"] == new_token


def test_modify_a_deleted_task_is_tombstoned(api: Api) -> None:
    token = _leased(api)
    assert api.delete(PULL, "t") == ["OK"]

    assert_error(_modify(api, "t", token, 1), 410, "TOMBSTONED_TASK", "t")


def test_modify_an_unknown_task_is_404(api: Api) -> None:
    assert_error(_modify(api, "ghost", NOW, 1), 404, "UNKNOWN_TASK", "ghost")


def test_modify_in_unknown_or_push_queue(api: Api) -> None:
    assert_error(_modify(api, "t", NOW, 1, queue="nope"), 404, "UNKNOWN_QUEUE")
    assert_error(_modify(api, "t", NOW, 1, queue=PUSH), 400, "INVALID_QUEUE_MODE")


def test_modify_with_zero_releases_without_counting_a_retry(api: Api) -> None:
    token = _leased(api)
    api.advance(10)

    response = _modify(api, "t", token, 0)

    assert response.get_json()["eta_usec"] == NOW + 10 * SEC
    assert api.task(PULL, "t")["retry_count"] == 1
    [task] = api.lease(PULL)  # eta == now: ready at once
    assert (task["name"], task["retry_count"]) == ("t", 2)


# -- delete and purge -------------------------------------------------------------------------


def test_batch_delete_gives_a_code_per_name(api: Api) -> None:
    api.add_ok(PULL, {"name": "a"}, {"name": "b"})

    assert api.delete(PULL, "a", "ghost", "b", "a") == [
        "OK",
        "UNKNOWN_TASK",
        "OK",
        "TOMBSTONED_TASK",
    ]
    assert api.peek(PULL) == []
    assert api.delete(PULL, "b") == ["TOMBSTONED_TASK"]


def test_delete_ignores_leases(api: Api) -> None:
    _leased(api)

    assert api.delete(PULL, "t") == ["OK"]


def test_delete_from_unknown_queue_is_404(api: Api) -> None:
    response = api.request("POST", "/v1/queues/nope/delete", {"names": ["a"]})

    assert_error(response, 404, "UNKNOWN_QUEUE")


def test_single_delete(api: Api) -> None:
    api.add_ok(PULL, {"name": "a"})

    response = api.request("DELETE", f"/v1/queues/{PULL}/tasks/a")

    assert response.status_code == 200
    assert response.get_json() == {"name": "a", "code": "OK"}
    assert_error(api.request("DELETE", f"/v1/queues/{PULL}/tasks/a"), 410, "TOMBSTONED_TASK", "a")
    assert_error(api.request("DELETE", f"/v1/queues/{PULL}/tasks/b"), 404, "UNKNOWN_TASK", "b")
    assert_error(api.request("DELETE", "/v1/queues/nope/tasks/a"), 404, "UNKNOWN_QUEUE")


def test_purge_keeps_tombstones(api: Api) -> None:
    api.add_ok(PULL, {"name": "a"}, {"name": "b"}, {"name": "c"})
    api.add_ok(OTHER, {"name": "a"})

    assert api.post(f"/v1/queues/{PULL}/purge") == {"queue": PULL, "purged": 3}

    assert api.peek(PULL) == []
    assert api.peek_names(OTHER) == ["a"]
    assert [r["code"] for r in api.add(PULL, {"name": "a"}, {"name": "new"})] == [
        "TOMBSTONED_TASK",
        "OK",
    ]
    assert api.post(f"/v1/queues/{PULL}/purge") == {"queue": PULL, "purged": 1}


def test_purge_unknown_queue_is_404(api: Api) -> None:
    assert_error(api.request("POST", "/v1/queues/nope/purge"), 404, "UNKNOWN_QUEUE")


# -- pause and resume -------------------------------------------------------------------------


def test_paused_queue_refuses_leases_but_takes_adds(api: Api) -> None:
    token = _leased(api)
    api.add_ok(PULL, {"name": "ready", "eta_usec": NOW - 1})

    assert api.post(f"/v1/queues/{PULL}/pause") == {"queue": PULL, "paused": True}

    body = {"lease_seconds": 1, "max_tasks": 5}
    assert_error(api.request("POST", f"/v1/queues/{PULL}/lease", body), 409, "QUEUE_PAUSED")
    assert_error(_modify(api, "t", token, 60), 409, "QUEUE_PAUSED")
    assert api.add_ok(PULL, {"name": "while-paused"}) == ["while-paused"]
    assert api.stats(PULL)["paused"] is True
    assert api.get(f"/v1/queues/{PULL}").get_json()["paused"] is True
    assert api.lease_names(OTHER) == []  # other queues are not paused

    assert api.post(f"/v1/queues/{PULL}/resume") == {"queue": PULL, "paused": False}
    assert api.lease_names(PULL) == ["ready", "while-paused"]
    assert _modify(api, "t", token, 60).status_code == 200


def test_pause_unknown_queue_is_404(api: Api) -> None:
    assert_error(api.request("POST", "/v1/queues/nope/pause"), 404, "UNKNOWN_QUEUE")
    assert_error(api.request("POST", "/v1/queues/nope/resume"), 404, "UNKNOWN_QUEUE")


# -- statistics -------------------------------------------------------------------------------


def test_stats_count_tasks_oldest_eta_leases_and_in_flight(api: Api) -> None:
    api.add_ok(
        PULL,
        {"name": "r1", "eta_usec": NOW - 2 * SEC},
        {"name": "r2", "eta_usec": NOW - SEC},
        {"name": "d", "countdown_seconds": 100},
    )
    assert api.lease_names(PULL, max_tasks=1) == ["r1"]

    assert api.stats(PULL) == {
        "queue": PULL,
        "exists": True,
        "tasks": 3,
        "oldest_eta_usec": NOW - SEC,
        "oldest_eta": "2025-12-31T23:59:59.000000Z",
        "leased_last_minute": 1,
        "leased_last_hour": 1,
        "in_flight": 1,
        "enforced_rate": None,
        "paused": False,
        "ready": 1,
        "delayed": 1,
        "rate_limited_leases_last_minute": None,  # no --lease-rate-limit
    }

    api.advance(59)
    stats = api.stats(PULL)
    assert (stats["leased_last_minute"], stats["leased_last_hour"], stats["in_flight"]) == (1, 1, 0)
    api.advance(2)  # 61 s after the lease
    stats = api.stats(PULL)
    assert (stats["leased_last_minute"], stats["leased_last_hour"]) == (0, 1)
    api.advance(3600)
    stats = api.stats(PULL)
    assert (stats["leased_last_minute"], stats["leased_last_hour"]) == (0, 0)
    assert stats["tasks"] == 3


def test_stats_of_an_empty_and_a_push_queue(api: Api) -> None:
    assert api.stats(OTHER)["tasks"] == 0
    assert api.stats(OTHER)["oldest_eta_usec"] is None
    push = api.stats(PUSH)
    assert (push["enforced_rate"], push["in_flight"]) == (5.0, 0)


def test_stats_of_an_unknown_queue_say_it_does_not_exist(api: Api) -> None:
    stats = api.stats("nope")

    assert stats["exists"] is False
    assert (stats["tasks"], stats["oldest_eta_usec"], stats["in_flight"]) == (0, None, None)


def test_stats_of_several_queues_in_request_order(api: Api) -> None:
    api.add_ok(PULL, {}, {})

    response = api.get("/v1/stats", queue=["nope", PULL])

    stats = response.get_json()["stats"]
    assert [(s["queue"], s["exists"], s["tasks"]) for s in stats] == [
        ("nope", False, 0),
        (PULL, True, 2),
    ]
    every = api.get("/v1/stats").get_json()["stats"]
    assert [s["queue"] for s in every] == ALL_QUEUES


# -- queues -----------------------------------------------------------------------------------


def test_list_queues_shows_config_and_stats(api: Api) -> None:
    api.add_ok(LIMITED, {})

    queues = {q["name"]: q for q in api.get("/v1/queues").get_json()["queues"]}

    assert sorted(queues) == ALL_QUEUES
    assert queues[LIMITED]["mode"] == "pull"
    assert queues[LIMITED]["retry_parameters"] == {"task_retry_limit": 2}
    assert queues[LIMITED]["stats"]["tasks"] == 1
    assert (queues[PUSH]["mode"], queues[PUSH]["rate"], queues[PUSH]["bucket_size"]) == (
        "push",
        "5/s",
        10,
    )
    assert queues["default"]["mode"] == "push"


def test_get_queue(api: Api) -> None:
    queue = api.get(f"/v1/queues/{LIMITED}").get_json()

    assert (queue["name"], queue["mode"], queue["paused"]) == (LIMITED, "pull", False)
    assert queue["stats"]["exists"] is True
    assert_error(api.get("/v1/queues/nope"), 404, "UNKNOWN_QUEUE", "nope")
    assert_error(api.get("/v1/queues/no_pe"), 400, "INVALID_QUEUE_NAME")


# -- peek and get ---------------------------------------------------------------------------


def _three_states(api: Api) -> None:
    """l: leased, r: ready, d: delayed (in that ETA order before the lease)."""
    api.add_ok(
        PULL,
        {"name": "l", "eta_usec": NOW - 3 * SEC},
        {"name": "r", "eta_usec": NOW - 2 * SEC, "tag": "A"},
        {"name": "d", "countdown_seconds": 100, "tag": "B"},
    )
    assert api.lease_names(PULL, max_tasks=1) == ["l"]


@pytest.mark.parametrize(
    ("state", "names"),
    [
        (None, ["r", "l", "d"]),
        ("ready", ["r"]),
        ("leased", ["l"]),
        ("delayed", ["d"]),
        ("ready,delayed", ["r", "d"]),
        (["ready", "leased"], ["r", "l"]),
    ],
)
def test_peek_filters_by_state(api: Api, state: str | list[str] | None, names: list[str]) -> None:
    _three_states(api)

    query = {} if state is None else {"state": state}

    assert api.peek_names(PULL, **query) == names


def test_peek_shows_each_task_state(api: Api) -> None:
    _three_states(api)

    assert {t["name"]: t["state"] for t in api.peek(PULL)} == {
        "l": "leased",
        "r": "ready",
        "d": "delayed",
    }


def test_peek_filters_by_tag_and_empty_tag_means_untagged(api: Api) -> None:
    _three_states(api)

    assert api.peek_names(PULL, tag="A") == ["r"]
    assert api.peek_names(PULL, tag="") == ["l"]
    assert api.peek_names(PULL, tag="Z") == []


def test_peek_pages_cover_every_task_exactly_once(api: Api) -> None:
    api.add_ok(
        PULL,
        *[
            {
                "name": f"t{i}",
                "eta_usec": NOW - (i % 3) * SEC,
                "tag": "even" if i % 2 == 0 else "odd",
            }
            for i in range(8)
        ],
    )
    everything = api.peek_names(PULL)
    assert len(everything) == 8

    for tag, expected in (
        (None, everything),
        ("even", [n for n in everything if int(n[1]) % 2 == 0]),
    ):
        seen: list[str] = []
        token: str | None = None
        pages = 0
        while True:
            query: dict[str, str] = {"limit": "3"}
            if token:
                query["page_token"] = token
            if tag:
                query["tag"] = tag
            body = api.get(f"/v1/queues/{PULL}/tasks", **query).get_json()
            assert len(body["tasks"]) <= 3
            seen += [t["name"] for t in body["tasks"]]
            token = body["next_page_token"]
            pages += 1
            assert pages <= 10
            if token is None:
                break
        assert seen == expected


def test_peek_and_get_have_no_side_effects(api: Api) -> None:
    token = _leased(api)
    api.add_ok(PULL, {"name": "ready", "eta_usec": NOW - 1})
    before = api.peek(PULL)

    for _ in range(3):
        api.peek(PULL)
        api.task(PULL, "t")
        api.task(PULL, "ready")

    assert api.peek(PULL) == before
    assert api.task(PULL, "t")["eta_usec"] == token
    assert api.task(PULL, "ready")["retry_count"] == 0
    [leased] = api.lease(PULL)
    assert (leased["name"], leased["retry_count"]) == ("ready", 1)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"page_token": "!!!"}, "page_token"),
        ({"page_token": base64.urlsafe_b64encode(b"no-colon").decode()}, "page_token"),
        ({"page_token": base64.urlsafe_b64encode(b"x:a").decode()}, "page_token"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "2.5"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"limit": "\u00b2"}, "limit"),  # str.isdigit() is True, int() fails
        ({"limit": "9" * 5000}, "limit"),  # beyond int()'s digit limit
        ({"state": "sleeping"}, "state"),
        ({"state": "ready,"}, "state"),
        ({"bogus": "1"}, "bogus"),
    ],
)
def test_bad_peek_parameters_are_400(api: Api, query: dict[str, str], field: str) -> None:
    api.add_ok(PULL, {})

    assert_error(api.get(f"/v1/queues/{PULL}/tasks", **query), 400, "INVALID_REQUEST", field)


def test_page_token_with_a_huge_eta_is_400(api: Api) -> None:
    token = base64.urlsafe_b64encode(b"99999999999999999999999:a").decode()

    assert_error(api.get(f"/v1/queues/{PULL}/tasks", page_token=token), 400, "INVALID_REQUEST")


def test_peek_unknown_queue_is_404(api: Api) -> None:
    assert_error(api.get("/v1/queues/nope/tasks"), 404, "UNKNOWN_QUEUE")


def test_get_task_shows_every_field(api: Api) -> None:
    api.add_ok(PULL, {"name": "t", "payload": b64(b"hi"), "tag": "A", "countdown_seconds": 5})

    assert api.task(PULL, "t") == {
        "name": "t",
        "queue": PULL,
        "payload": b64(b"hi"),
        "tag": "A",
        "eta_usec": NOW + 5 * SEC,
        "eta": "2026-01-01T00:00:05.000000Z",
        "state": "delayed",
        "retry_count": 0,
        "created_usec": NOW,
        "leased_at_usec": None,
        "mode": "pull",
        "method": None,
        "url": None,
        "headers": [],
        "retry_options": None,
        "dispatch_deadline_usec": None,
        "http_url": None,
    }


def test_get_deleted_or_unknown_task(api: Api) -> None:
    api.add_ok(PULL, {"name": "t"})
    api.delete(PULL, "t")

    assert_error(api.get(f"/v1/queues/{PULL}/tasks/t"), 410, "TOMBSTONED_TASK")
    assert_error(api.get(f"/v1/queues/{PULL}/tasks/u"), 404, "UNKNOWN_TASK")


# -- time, health, retry limit ------------------------------------------------------------------


def test_time_is_the_service_clock(api: Api) -> None:
    assert api.get("/v1/time").get_json() == {"now_usec": NOW, "now": NOW_TEXT}
    api.advance(1.25)
    assert api.get("/v1/time").get_json()["now_usec"] == NOW + 1_250_000


def test_healthz(api: Api) -> None:
    response = api.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "version": __version__}


def test_queue_retry_limit_deletes_and_tombstones_on_the_next_lease(api: Api) -> None:
    api.add_ok(LIMITED, {"name": "t", "eta_usec": NOW - 1})

    counts = []
    for _ in range(2):
        [task] = api.lease(LIMITED, lease_seconds=10)
        counts.append(task["retry_count"])
        api.advance(11)

    assert counts == [1, 2]
    assert api.lease(LIMITED, lease_seconds=10) == []
    assert_error(api.get(f"/v1/queues/{LIMITED}/tasks/t"), 410, "TOMBSTONED_TASK")
    assert api.add(LIMITED, {"name": "t"})[0]["code"] == "TOMBSTONED_TASK"


# -- bad input: never a 500, always a JSON error naming the field, nothing changed -----------------

ADD = f"/v1/queues/{PULL}/tasks"
LEASE = f"/v1/queues/{PULL}/lease"
MODIFY = f"/v1/queues/{PULL}/tasks/a/lease"
DELETE = f"/v1/queues/{PULL}/delete"
TOKEN = NOW + 30 * SEC  # the lease token of task "a" in the seeded API

#: For each endpoint, a body that would succeed and change something.
GOOD: dict[str, Json] = {
    ADD: {"tasks": [{"name": "new", "payload": "aGk="}]},
    LEASE: {"lease_seconds": 30, "max_tasks": 5},
    MODIFY: {"eta_usec": TOKEN, "lease_seconds": 10},
    DELETE: {"names": ["b"]},
}


@pytest.fixture
def seeded() -> Api:
    """a (tag A) leased with token TOKEN, b ready, c delayed; all in PULL."""
    api = make_api()
    api.add_ok(
        PULL,
        {"name": "a", "tag": "A", "eta_usec": NOW - 2 * SEC},
        {"name": "b", "eta_usec": NOW - SEC},
        {"name": "c", "countdown_seconds": 100},
    )
    assert api.lease_names(PULL, max_tasks=1) == ["a"]
    return api


def _with(path: str, **fields: object) -> Json:
    body = dict(GOOD[path])
    body.update(fields)
    return body


def _with_task(**fields: object) -> Json:
    return {"tasks": [{"name": "new", **fields}]}


WRONG_FIELDS: list[tuple[str, Json, str]] = [
    (ADD, {"tasks": "x"}, "tasks"),
    (ADD, {"tasks": {}}, "tasks"),
    (ADD, {"tasks": [5]}, "tasks[0]"),
    (ADD, {"tasks": [None]}, "tasks[0]"),
    (ADD, _with(ADD, bogus=1), "bogus"),
    (ADD, {}, "tasks"),
    (ADD, _with_task(name=5), "tasks[0].name"),
    (ADD, _with_task(name=True), "tasks[0].name"),
    (ADD, _with_task(payload=5), "tasks[0].payload"),
    (ADD, _with_task(payload="not base64!"), "tasks[0].payload"),
    (ADD, _with_task(payload="aGk"), "tasks[0].payload"),
    (ADD, _with_task(payload="aG\nk="), "tasks[0].payload"),
    (ADD, _with_task(payload="aGk\u00e9"), "tasks[0].payload"),
    (ADD, _with_task(tag=5), "tasks[0].tag"),
    (ADD, _with_task(tag=["A"]), "tasks[0].tag"),
    (ADD, _with_task(eta_usec="1"), "tasks[0].eta_usec"),
    (ADD, _with_task(eta_usec=True), "tasks[0].eta_usec"),
    (ADD, _with_task(eta_usec=1.5), "tasks[0].eta_usec"),
    (ADD, _with_task(eta_usec=-1), "tasks[0].eta_usec"),
    (ADD, _with_task(eta_usec=2**63), "tasks[0].eta_usec"),
    (ADD, _with_task(countdown_seconds="1"), "tasks[0].countdown_seconds"),
    (ADD, _with_task(countdown_seconds=False), "tasks[0].countdown_seconds"),
    (ADD, _with_task(countdown_seconds=1e13), "tasks[0].countdown_seconds"),
    (ADD, _with_task(countdown_seconds=-1e13), "tasks[0].countdown_seconds"),
    (ADD, _with_task(mode="sideways"), "tasks[0].mode"),
    (ADD, _with_task(mode=1), "tasks[0].mode"),
    (ADD, _with_task(method="PATCH"), "tasks[0].method"),
    (ADD, _with_task(method=5), "tasks[0].method"),
    (ADD, _with_task(url=5), "tasks[0].url"),
    (ADD, _with_task(headers=5), "tasks[0].headers"),
    (ADD, _with_task(headers="a: b"), "tasks[0].headers"),
    (ADD, _with_task(headers=[["a"]]), "tasks[0].headers[0]"),
    (ADD, _with_task(headers=[["a", 1]]), "tasks[0].headers[0]"),
    (ADD, _with_task(headers={"a": 1}), "tasks[0].headers[0]"),
    (ADD, _with_task(retry_options=5), "tasks[0].retry_options"),
    (ADD, _with_task(retry_options={"bogus": 1}), "tasks[0].retry_options.bogus"),
    (
        ADD,
        _with_task(retry_options={"task_retry_limit": -1}),
        "tasks[0].retry_options.task_retry_limit",
    ),
    (
        ADD,
        _with_task(retry_options={"task_retry_limit": "1"}),
        "tasks[0].retry_options.task_retry_limit",
    ),
    (
        ADD,
        _with_task(retry_options={"min_backoff_seconds": -0.1}),
        "tasks[0].retry_options.min_backoff_seconds",
    ),
    (ADD, _with_task(dispatch_deadline_usec=-1), "tasks[0].dispatch_deadline_usec"),
    (ADD, _with_task(dispatch_deadline_usec="1"), "tasks[0].dispatch_deadline_usec"),
    (ADD, _with_task(dispatch_deadline_usec=2**64), "tasks[0].dispatch_deadline_usec"),
    (ADD, _with_task(bogus=1), "tasks[0].bogus"),
    (LEASE, _with(LEASE, max_tasks="1"), "max_tasks"),
    (LEASE, _with(LEASE, max_tasks=1.0), "max_tasks"),
    (LEASE, _with(LEASE, max_tasks=True), "max_tasks"),
    (LEASE, _with(LEASE, max_tasks=-1), "max_tasks"),
    (LEASE, _with(LEASE, max_tasks=10**30), "max_tasks"),
    (LEASE, _with(LEASE, max_tasks=[5]), "max_tasks"),
    (LEASE, _with(LEASE, lease_seconds=True), "lease_seconds"),
    (LEASE, _with(LEASE, lease_seconds="30"), "lease_seconds"),
    (LEASE, _with(LEASE, lease_seconds=-0.5), "lease_seconds"),
    (LEASE, _with(LEASE, lease_seconds=10**30), "lease_seconds"),
    (LEASE, _with(LEASE, lease_seconds=10**400), "lease_seconds"),  # too large for a float
    (LEASE, _with(LEASE, lease_seconds={}), "lease_seconds"),
    (LEASE, _with(LEASE, group_by_tag="yes"), "group_by_tag"),
    (LEASE, _with(LEASE, group_by_tag=1), "group_by_tag"),
    (LEASE, _with(LEASE, group_by_tag=True, tag=5), "tag"),
    (LEASE, _with(LEASE, bogus=None), "bogus"),
    (LEASE, {}, "lease_seconds"),
    (MODIFY, _with(MODIFY, eta_usec="x"), "eta_usec"),
    (MODIFY, _with(MODIFY, eta_usec=1.5), "eta_usec"),
    (MODIFY, _with(MODIFY, eta_usec=False), "eta_usec"),
    (MODIFY, {"lease_seconds": 10}, "eta_usec"),
    (MODIFY, _with(MODIFY, lease_seconds=True), "lease_seconds"),
    (MODIFY, _with(MODIFY, lease_seconds=-1), "lease_seconds"),
    (MODIFY, _with(MODIFY, lease_seconds=MAX_LEASE_SECONDS + 1), "lease_seconds"),
    (MODIFY, _with(MODIFY, lease_seconds="10"), "lease_seconds"),
    (MODIFY, _with(MODIFY, bogus=1), "bogus"),
    (DELETE, {"names": "b"}, "names"),
    (DELETE, {"names": [1]}, "names[0]"),
    (DELETE, {"names": ["b", None]}, "names[1]"),
    (DELETE, {}, "names"),
    (DELETE, _with(DELETE, bogus=1), "bogus"),
]


@pytest.mark.parametrize(("path", "body", "field"), WRONG_FIELDS)
def test_wrong_field_is_400_naming_it_and_changes_nothing(
    seeded: Api, path: str, body: Json, field: str
) -> None:
    before = seeded.snapshot()

    response = seeded.request("POST", path, body)

    assert_error(response, 400, "INVALID_REQUEST", field)
    assert seeded.snapshot() == before


@pytest.mark.parametrize("path", list(GOOD))
def test_the_good_bodies_do_change_something(seeded: Api, path: str) -> None:
    """Guards the test above: one field away from these, nothing may change."""
    before = seeded.snapshot()

    seeded.post(path, GOOD[path])

    assert seeded.snapshot() != before


RAW_FIELD_CASES: list[tuple[str, str, str]] = [
    (LEASE, '{"lease_seconds": NaN, "max_tasks": 5}', "lease_seconds"),
    (LEASE, '{"lease_seconds": Infinity, "max_tasks": 5}', "lease_seconds"),
    (LEASE, '{"lease_seconds": -Infinity, "max_tasks": 5}', "lease_seconds"),
    (LEASE, '{"lease_seconds": 1e400, "max_tasks": 5}', "lease_seconds"),
    (LEASE, '{"lease_seconds": 30, "max_tasks": 1e400}', "max_tasks"),
    (LEASE, '{"lease_seconds": 30, "max_tasks": NaN}', "max_tasks"),
    (LEASE, '{"lease_seconds": 30, "max_tasks": 5, "group_by_tag": true, "tag": "\\ud800"}', "tag"),
    (MODIFY, f'{{"eta_usec": {TOKEN}, "lease_seconds": NaN}}', "lease_seconds"),
    (MODIFY, '{"eta_usec": NaN, "lease_seconds": 1}', "eta_usec"),
    (ADD, '{"tasks": [{"countdown_seconds": NaN}]}', "tasks[0].countdown_seconds"),
    (ADD, '{"tasks": [{"eta_usec": Infinity}]}', "tasks[0].eta_usec"),
    (ADD, '{"tasks": [{"tag": "\\ud800"}]}', "tasks[0].tag"),
    (ADD, '{"tasks": [{"name": "x\\udfff"}]}', "tasks[0].name"),
    (ADD, '{"tasks": [{"mode": "push", "url": "/\\ud800"}]}', "tasks[0].url"),
    (ADD, '{"tasks": [{"headers": {"k\\ud800": "v"}}]}', "tasks[0].headers"),
    (DELETE, '{"names": ["\\ud800"]}', "names[0]"),
]


@pytest.mark.parametrize(("path", "raw", "field"), RAW_FIELD_CASES)
def test_non_finite_numbers_and_lone_surrogates_are_400(
    seeded: Api, path: str, raw: str, field: str
) -> None:
    before = seeded.snapshot()

    assert_error(seeded.request("POST", path, raw=raw), 400, "INVALID_REQUEST", field)
    assert seeded.snapshot() == before


MALFORMED: list[bytes] = [
    b"{",
    b"[]",
    b'"tasks"',
    b"null",
    b"1",
    b"{'tasks': []}",
    b'{"a": 1}{',
    b"\xff\xfe\x00",
    b"\xc3\x28",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"tasks": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
]


@pytest.mark.parametrize("path", list(GOOD))
@pytest.mark.parametrize("raw", MALFORMED, ids=lambda raw: repr(raw[:12]))
def test_malformed_json_is_400_and_changes_nothing(seeded: Api, path: str, raw: bytes) -> None:
    before = seeded.snapshot()

    assert_error(seeded.request("POST", path, raw=raw), 400, "INVALID_REQUEST", "JSON")
    assert seeded.snapshot() == before


@pytest.mark.parametrize("path", [ADD, LEASE])
def test_oversize_body_is_413_json(seeded: Api, path: str) -> None:
    before = seeded.snapshot()
    raw = b" " * MAX_REQUEST_SIZE_BYTES + json.dumps(GOOD[path]).encode()

    response = seeded.request("POST", path, raw=raw)

    assert_error(response, 413, "INVALID_REQUEST", "too large")
    assert seeded.snapshot() == before


def test_unknown_route_is_404_json(api: Api) -> None:
    for path in ("/nope", "/v1", "/v1/queues/pull-q/nope", f"/v1/queues/{PULL}/tasks/a/b/c"):
        assert_error(api.get(path), 404, "INVALID_REQUEST")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", LEASE, "POST"),
        ("PUT", ADD, "POST"),
        ("DELETE", f"/v1/queues/{PULL}", "GET"),
        ("POST", "/v1/time", "GET"),
        ("PATCH", f"/v1/queues/{PULL}/tasks/a", "DELETE"),
    ],
)
def test_wrong_method_is_405_json_with_allow(
    seeded: Api, method: str, path: str, allowed: str
) -> None:
    before = seeded.snapshot()

    response = seeded.request(method, path, GOOD.get(path))

    assert_error(response, 405, "INVALID_REQUEST")
    assert allowed in response.headers["Allow"]
    assert seeded.snapshot() == before


# -- random input -----------------------------------------------------------------------------

_INTERESTING = st.sampled_from(
    [0, -1, 1, 2**31, 2**63, 2**64, 10**30, 1e300, 0.5, "", "aGk=", "A", "task1", "\ud800", "pull"]
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # includes NaN and ±Infinity, which json.dumps writes as such
    st.text(
        st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=8
    ),  # lone surrogates too
    _INTERESTING,
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_TEXT = st.text(
    st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=6
)


def _mostly(
    valid: st.SearchStrategy[Any], other: st.SearchStrategy[Any] = _VALUES
) -> st.SearchStrategy[Any]:
    """Five times in six a plausible value (to get past the other fields), else ``other``."""
    return st.integers(0, 5).flatmap(lambda i: valid if i else other)


_TASK = st.fixed_dictionaries(
    {},
    optional={
        "name": _mostly(st.text("ab1_-.", max_size=4) | _TEXT),
        "payload": _mostly(st.binary(max_size=16).map(b64)),
        "tag": _mostly(st.sampled_from(["A", ""]) | _TEXT),
        "eta_usec": _mostly(st.integers(NOW - 5 * SEC, NOW + 31 * 86400 * SEC)),
        "countdown_seconds": _mostly(st.floats(-10, 3e6)),
        "mode": _mostly(st.sampled_from(["pull", "push"])),
        "method": _mostly(st.sampled_from(["GET", "post", "PATCH"])),
        "url": _mostly(_TEXT),
        "headers": _mostly(st.dictionaries(_TEXT, _TEXT, max_size=2)),
        "retry_options": _mostly(
            st.fixed_dictionaries(
                {},
                optional={
                    "task_retry_limit": _mostly(st.integers(-1, 3)),
                    "task_age_limit": _mostly(st.integers(0, 2**63)),
                    "min_backoff_seconds": _mostly(st.floats(-1, 10)),
                },
            )
        ),
        "dispatch_deadline_usec": _mostly(st.integers(-1, 2**64)),
    },
)
_TASKS = _mostly(_TASK)
_TASKS_BODY = st.builds(lambda tasks: {"tasks": tasks}, st.lists(_TASKS, min_size=1, max_size=3))
_ADD_BODIES = _mostly(
    _TASKS_BODY, _VALUES | st.dictionaries(st.sampled_from(["tasks", "bogus"]), _VALUES)
)
_LEASE_BODY = st.fixed_dictionaries(
    {
        "lease_seconds": _mostly(st.integers(0, 100) | st.floats(0, 1e6)),
        "max_tasks": _mostly(st.integers(1, 5)),
    },
    optional={
        "group_by_tag": _mostly(st.just(True) | st.booleans()),
        "tag": _mostly(st.sampled_from(["A", ""]) | _TEXT),
    },
)
_LEASE_BODIES = _mostly(
    _LEASE_BODY,
    _VALUES
    | st.dictionaries(
        st.sampled_from(["lease_seconds", "max_tasks", "group_by_tag", "tag", "bogus"]), _VALUES
    ),
)
_FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _fuzz_api() -> Api:
    api = make_api()
    api.add_ok(
        PULL,
        {"name": "a", "tag": "A", "eta_usec": NOW - 2 * SEC},
        {"name": "pull", "eta_usec": NOW - SEC},
    )
    return api


@_FUZZ
@given(queue=st.sampled_from([PULL, PUSH, "nope", "bad_name"]), body=_ADD_BODIES)
def test_random_add_bodies_never_fail_the_server(queue: str, body: object) -> None:
    api = _fuzz_api()

    response = api.request("POST", f"/v1/queues/{queue}/tasks", raw=json.dumps(body))

    if response.status_code == 200:
        assert isinstance(body, dict)
        results = response.get_json()["tasks"]
        assert len(results) == len(body["tasks"])
        assert all(isinstance(r["code"], str) for r in results)
    else:
        assert_error_shape(response)


@_FUZZ
@given(queue=st.sampled_from([PULL, PUSH, "nope"]), body=_LEASE_BODIES)
def test_random_lease_bodies_never_fail_the_server(queue: str, body: object) -> None:
    api = _fuzz_api()

    response = api.request("POST", f"/v1/queues/{queue}/lease", raw=json.dumps(body))

    if response.status_code == 200:
        tasks = response.get_json()["tasks"]
        assert {t["name"] for t in tasks} <= {"a", "pull"}
        assert all(t["retry_count"] == 1 for t in tasks)
    else:
        assert_error_shape(response)
