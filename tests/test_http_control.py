"""The ``/_emulator`` test-control routes: only with ``enable_test_control``; reset, clock,
flush and forget."""

from __future__ import annotations

import time

import pytest

from emulator.app import create_app
from tests.http_support import (
    ALL_QUEUES,
    NOW,
    OTHER,
    PULL,
    SEC,
    Api,
    Json,
    assert_error,
    make_api,
)

CONTROL_ROUTES = [
    ("POST", "/_emulator/reset"),
    ("GET", "/_emulator/clock"),
    ("POST", "/_emulator/clock"),
    ("POST", f"/_emulator/queues/{PULL}/flush"),
    ("POST", f"/_emulator/queues/{PULL}/tasks/t/forget"),
]


@pytest.fixture
def api() -> Api:
    return make_api(test_control=True)


def _clock(api: Api, body: object = None, *, raw: str | None = None) -> Json:
    return api.post("/_emulator/clock", body, raw=raw)


@pytest.mark.parametrize(("method", "path"), CONTROL_ROUTES)
def test_control_routes_are_absent_without_test_control(method: str, path: str) -> None:
    api = make_api()
    api.add_ok(PULL, {"name": "t"})

    response = api.request(method, path, {"now_usec": 0} if path.endswith("clock") else None)

    assert_error(response, 404, "INVALID_REQUEST")
    assert api.peek_names(PULL) == ["t"]
    assert api.get("/v1/time").get_json()["now_usec"] == NOW


def test_test_control_needs_the_clock() -> None:
    api = make_api()

    with pytest.raises(ValueError, match="ControllableClock"):
        create_app(api.service, enable_test_control=True)


# -- reset ------------------------------------------------------------------------------------


def test_reset_drops_tasks_tombstones_pauses_and_lease_counts_but_keeps_config(api: Api) -> None:
    api.add_ok(PULL, {"name": "gone", "eta_usec": NOW - SEC}, {"name": "kept"}, {})
    api.add_ok(OTHER, {"name": "x"})
    assert api.lease_names(PULL, max_tasks=1) == ["gone"]
    assert api.delete(PULL, "gone") == ["OK"]
    api.post(f"/v1/queues/{OTHER}/pause")
    queues_before = api.get("/v1/queues").get_json()["queues"]

    assert api.post("/_emulator/reset") == {"reset": True}

    assert api.snapshot() == {q: [] for q in ALL_QUEUES}
    assert api.add_ok(PULL, {"name": "gone"}, {}) == ["gone", "task1"]
    stats = api.stats(PULL)
    assert (stats["leased_last_minute"], stats["leased_last_hour"]) == (0, 0)
    assert api.stats(OTHER)["paused"] is False
    queues_after = api.get("/v1/queues").get_json()["queues"]
    config_keys = ("name", "mode", "rate", "bucket_size", "retry_parameters", "acl", "target")
    assert [{k: q[k] for k in config_keys} for q in queues_after] == [
        {k: q[k] for k in config_keys} for q in queues_before
    ]


def test_reset_keeps_the_clock(api: Api) -> None:
    _clock(api, {"now_usec": NOW + 5 * SEC})

    api.post("/_emulator/reset")

    assert api.get("/v1/time").get_json()["now_usec"] == NOW + 5 * SEC


# -- clock ------------------------------------------------------------------------------------


def test_get_clock(api: Api) -> None:
    response = api.get("/_emulator/clock")

    assert response.get_json() == {
        "now_usec": NOW,
        "now": "2026-01-01T00:00:00.000000Z",
        "frozen": True,
    }


def test_freeze_sets_the_time_the_api_sees(api: Api) -> None:
    target = NOW + 123_456_789

    assert _clock(api, {"now_usec": target})["now_usec"] == target

    assert api.get("/v1/time").get_json()["now_usec"] == target
    assert api.add(PULL, {})[0]["eta_usec"] == target
    assert api.get("/_emulator/clock").get_json()["frozen"] is True


def test_freeze_can_move_the_clock_backwards(api: Api) -> None:
    assert _clock(api, {"now_usec": NOW - SEC})["now_usec"] == NOW - SEC


def test_advance_moves_the_clock_and_makes_delayed_tasks_due(api: Api) -> None:
    api.add_ok(PULL, {"name": "later", "countdown_seconds": 90})
    assert api.lease(PULL) == []

    state = _clock(api, {"advance_seconds": 90.5})

    assert state == {
        "now_usec": NOW + 90_500_000,
        "now": "2026-01-01T00:01:30.500000Z",
        "frozen": True,
    }
    assert api.lease_names(PULL) == ["later"]


def test_advance_expires_leases(api: Api) -> None:
    api.add_ok(PULL, {"name": "t", "eta_usec": NOW - 1})
    [task] = api.lease(PULL, lease_seconds=30)

    _clock(api, {"advance_seconds": 31})

    response = api.request(
        "POST",
        f"/v1/queues/{PULL}/tasks/t/lease",
        {"eta_usec": task["eta_usec"], "lease_seconds": 10},
    )
    assert_error(response, 409, "TASK_LEASE_EXPIRED")
    assert api.lease(PULL)[0]["retry_count"] == 2


def test_system_returns_to_real_time(api: Api) -> None:
    before = time.time_ns() // 1000

    state = _clock(api, {"system": True})

    after = time.time_ns() // 1000
    assert state["frozen"] is False
    assert before <= state["now_usec"] <= after
    # an advance while running is an offset, and "system" drops it again
    assert _clock(api, {"advance_seconds": 3600})["now_usec"] >= before + 3600 * SEC
    assert _clock(api, {"system": True})["now_usec"] <= time.time_ns() // 1000


@pytest.mark.parametrize(
    ("body", "mention"),
    [
        ({"now_usec": NOW, "advance_seconds": 1}, "exactly one"),
        ({"advance_seconds": 1, "system": True}, "exactly one"),
        ({}, "exactly one"),
        ({"now_usec": None}, "exactly one"),
        ({"advance_seconds": -1}, "advance_seconds"),
        ({"advance_seconds": -0.000001}, "advance_seconds"),
        ({"advance_seconds": 10**12}, "advance_seconds"),
        ({"advance_seconds": "1"}, "advance_seconds"),
        ({"advance_seconds": True}, "advance_seconds"),
        ({"now_usec": -1}, "now_usec"),
        ({"now_usec": 1.5}, "now_usec"),
        ({"now_usec": "1"}, "now_usec"),
        ({"now_usec": 2**63}, "now_usec"),
        ({"system": "yes"}, "system"),
        ({"speed": 2}, "speed"),
        ([], "JSON object"),
    ],
)
def test_invalid_clock_bodies_are_400_and_leave_the_clock(
    api: Api, body: object, mention: str
) -> None:
    response = api.request("POST", "/_emulator/clock", body)

    assert_error(response, 400, "INVALID_REQUEST", mention)
    assert api.get("/_emulator/clock").get_json() == {
        "now_usec": NOW,
        "now": "2026-01-01T00:00:00.000000Z",
        "frozen": True,
    }


@pytest.mark.parametrize(
    ("raw", "mention"),
    [
        ('{"advance_seconds": NaN}', "advance_seconds"),
        ('{"advance_seconds": Infinity}', "advance_seconds"),
        ("{", "JSON"),
        ("", "exactly one"),
    ],
)
def test_invalid_raw_clock_bodies_are_400(api: Api, raw: str, mention: str) -> None:
    assert_error(api.request("POST", "/_emulator/clock", raw=raw), 400, "INVALID_REQUEST", mention)
    assert api.get("/v1/time").get_json()["now_usec"] == NOW


# -- flush and forget -------------------------------------------------------------------------


def test_flush_drops_tasks_and_tombstones_of_one_queue(api: Api) -> None:
    api.add_ok(PULL, {"name": "a"}, {"name": "b"})
    api.add_ok(OTHER, {"name": "a"})
    api.delete(PULL, "a")
    api.delete(OTHER, "a")

    assert api.post(f"/_emulator/queues/{PULL}/flush") == {"queue": PULL, "flushed": True}

    assert api.peek(PULL) == []
    assert api.add_ok(PULL, {"name": "a"}, {"name": "b"}) == ["a", "b"]
    assert api.add(OTHER, {"name": "a"})[0]["code"] == "TOMBSTONED_TASK"


def test_flush_unknown_queue_is_404(api: Api) -> None:
    assert_error(api.request("POST", "/_emulator/queues/nope/flush"), 404, "UNKNOWN_QUEUE")


def test_forget_deletes_without_a_tombstone(api: Api) -> None:
    api.add_ok(PULL, {"name": "t"}, {"name": "other"})

    assert api.post(f"/_emulator/queues/{PULL}/tasks/t/forget") == {
        "queue": PULL,
        "name": "t",
        "deleted": True,
    }

    assert_error(api.get(f"/v1/queues/{PULL}/tasks/t"), 404, "UNKNOWN_TASK")
    assert api.peek_names(PULL) == ["other"]
    assert api.add_ok(PULL, {"name": "t"}) == ["t"]


def test_forget_clears_an_existing_tombstone(api: Api) -> None:
    api.add_ok(PULL, {"name": "t"})
    api.delete(PULL, "t")

    assert api.post(f"/_emulator/queues/{PULL}/tasks/t/forget")["deleted"] is False

    assert api.add_ok(PULL, {"name": "t"}) == ["t"]


def test_forget_unknown_task_or_queue(api: Api) -> None:
    assert api.post(f"/_emulator/queues/{PULL}/tasks/ghost/forget")["deleted"] is False
    assert_error(api.request("POST", "/_emulator/queues/nope/tasks/t/forget"), 404, "UNKNOWN_QUEUE")


def test_the_clock_cannot_be_set_or_moved_past_what_timestamps_can_name(api: Api) -> None:
    from emulator.domain.limits import MAX_CLOCK_USEC

    too_late = api.request("POST", "/_emulator/clock", {"now_usec": MAX_CLOCK_USEC + 1})
    assert too_late.status_code == 400
    assert "now_usec" in too_late.get_json()["error"]["message"]
    latest = api.post("/_emulator/clock", {"now_usec": MAX_CLOCK_USEC})
    assert latest["now"].startswith("9999-12-01")
    beyond = api.request("POST", "/_emulator/clock", {"advance_seconds": 1})
    assert beyond.status_code == 400
    assert "advance_seconds" in beyond.get_json()["error"]["message"]
    assert api.post("/_emulator/clock", {"advance_seconds": 0})["now_usec"] == MAX_CLOCK_USEC
