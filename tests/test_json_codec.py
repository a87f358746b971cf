"""The JSON wire codec that the JSON face and the shim's remote backend share: every value
survives ``to_json`` → JSON text → ``from_json`` unchanged, in both directions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import PUSH_METHODS
from emulator.domain.model import (
    AddRequest,
    AddResult,
    LeasedTask,
    QueueStats,
    StoredTask,
    TaskPage,
)
from emulator.domain.queue_config import AclEntry, QueueConfig, QueueMode, RetryParameters
from emulator.faces.json import codec

T = TypeVar("T")
#: Round trips are cheap: many examples whatever the profile.
ROUND_TRIPS = settings(max_examples=100, deadline=None)

TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)
OPTIONAL_TEXT = st.none() | TEXT
INT64 = st.integers(-(2**63), 2**63 - 1)
USEC = st.integers(0, 2**62)
#: Instants the JSON shows as RFC 3339 text too: years 1970 to 9999.
INSTANT = st.integers(0, 253_402_300_799_999_999)
COUNT = st.integers(0, 2**31 - 1)
FINITE = st.floats(allow_nan=False, allow_infinity=False)
MODES = st.sampled_from(QueueMode)
HEADERS = st.lists(st.tuples(TEXT, TEXT), max_size=3).map(tuple)

#: What a client may send (the ranges the face accepts).
REQUESTED_RETRY = st.builds(
    RetryParameters,
    task_retry_limit=st.none() | COUNT,
    task_age_limit_sec=st.none() | st.integers(1, 2**62),
    min_backoff_seconds=st.none() | st.floats(0, 1e12) | st.integers(0, 10**6),
    max_backoff_seconds=st.none() | st.floats(0, 1e12),
    max_doublings=st.none() | COUNT,
)
#: What a server may answer (a queue.yaml can say more than a client may send).
ANY_RETRY = st.builds(
    RetryParameters,
    task_retry_limit=st.none() | INT64,
    task_age_limit_sec=st.none() | INT64,
    min_backoff_seconds=st.none() | FINITE,
    max_backoff_seconds=st.none() | FINITE,
    max_doublings=st.none() | INT64,
)


@st.composite
def add_requests(draw: st.DrawFn) -> AddRequest:
    when = draw(st.sampled_from(["now", "eta", "countdown"]))
    return AddRequest(
        payload=draw(st.binary(max_size=40)),
        name=draw(OPTIONAL_TEXT),
        eta_usec=draw(USEC) if when == "eta" else None,
        countdown_seconds=draw(st.floats(-1e12, 1e12)) if when == "countdown" else None,
        tag=draw(OPTIONAL_TEXT),
        mode=draw(st.none() | MODES),
        method=draw(st.none() | st.sampled_from(PUSH_METHODS)),
        url=draw(OPTIONAL_TEXT),
        headers=draw(HEADERS),
        retry_parameters=draw(st.none() | REQUESTED_RETRY),
        dispatch_deadline_usec=draw(st.none() | st.integers(0, 2**63 - 1)),
    )


STORED_TASKS = st.builds(
    StoredTask,
    queue=TEXT,
    name=TEXT,
    eta_usec=INSTANT,
    payload=st.binary(max_size=40),
    tag=OPTIONAL_TEXT,
    retry_count=COUNT,
    created_usec=INT64,
    mode=MODES,
    method=OPTIONAL_TEXT,
    url=OPTIONAL_TEXT,
    headers=HEADERS,
    retry_parameters=st.none() | ANY_RETRY,
    dispatch_deadline_usec=st.none() | INT64,
    leased_at_usec=st.none() | INT64,
    http_url=OPTIONAL_TEXT,
)
QUEUE_STATS = st.builds(
    QueueStats,
    queue=TEXT,
    tasks=COUNT,
    oldest_eta_usec=st.none() | INSTANT,
    leased_last_minute=st.none() | COUNT,
    leased_last_hour=st.none() | COUNT,
    in_flight=st.none() | COUNT,
    enforced_rate=st.none() | FINITE,
    paused=st.booleans(),
    exists=st.booleans(),
)
ACL = st.lists(
    st.builds(AclEntry, user_email=TEXT.filter(bool))
    | st.builds(AclEntry, writer_email=TEXT.filter(bool)),
    max_size=3,
).map(tuple)
QUEUE_CONFIGS = st.builds(
    QueueConfig,
    name=TEXT,
    mode=MODES,
    rate=OPTIONAL_TEXT,
    rate_per_second=st.none() | FINITE,
    bucket_size=st.none() | COUNT,
    max_concurrent_requests=st.none() | COUNT,
    retry_parameters=st.none() | ANY_RETRY,
    acl=ACL,
    target=OPTIONAL_TEXT,
    line=st.none(),  # the line of the queue in its file stays on the server
)


def over_the_wire(document: Any) -> Any:
    """``document`` as the other side reads it: JSON text and back."""
    return json.loads(json.dumps(document))


def wire(encode: Callable[[T], Any], decode: Callable[[Any], T], value: T) -> T:
    return decode(over_the_wire(encode(value)))


# -- requests: the shim writes, the face reads ---------------------------------------------------


@ROUND_TRIPS
@given(st.lists(add_requests(), min_size=1, max_size=4))
def test_add_requests_round_trip(requests: list[AddRequest]) -> None:
    assert wire(codec.add_body_to_json, codec.add_body_from_json, requests) == requests


@ROUND_TRIPS
@given(
    st.builds(
        codec.LeaseRequest,
        lease_seconds=st.floats(0, 7 * 24 * 3600) | st.integers(0, 7 * 24 * 3600),
        max_tasks=st.integers(1, 1000),
        group_by_tag=st.booleans(),
        tag=OPTIONAL_TEXT,
    )
)
def test_lease_requests_round_trip(request: codec.LeaseRequest) -> None:
    encode, decode = codec.lease_request_to_json, codec.lease_request_from_json
    assert wire(encode, decode, request) == request


@ROUND_TRIPS
@given(st.builds(codec.ModifyLeaseRequest, eta_usec=INT64, lease_seconds=st.floats(0, 3600)))
def test_lease_changes_round_trip(request: codec.ModifyLeaseRequest) -> None:
    encode, decode = codec.modify_lease_request_to_json, codec.modify_lease_request_from_json
    assert wire(encode, decode, request) == request


@ROUND_TRIPS
@given(st.lists(TEXT, max_size=5))
def test_delete_requests_round_trip(names: list[str]) -> None:
    assert wire(codec.delete_request_to_json, codec.delete_request_from_json, names) == names


def test_a_request_with_an_unknown_field_is_refused_naming_it() -> None:
    with pytest.raises(TaskQueueError, match=r"tasks\[0\]\.colour: unknown field"):
        codec.add_body_from_json({"tasks": [{"colour": "red"}]})


# -- responses: the face writes, the shim reads --------------------------------------------------


@ROUND_TRIPS
@given(
    st.lists(
        st.builds(
            AddResult,
            code=st.sampled_from(ErrorCode),
            name=OPTIONAL_TEXT,
            message=TEXT,
            eta_usec=st.none() | INT64,
        ),
        max_size=4,
    )
)
def test_add_results_round_trip(results: list[AddResult]) -> None:
    assert wire(codec.add_results_to_json, codec.add_results_from_json, results) == results


@ROUND_TRIPS
@given(
    st.lists(
        st.builds(
            LeasedTask,
            name=TEXT,
            eta_usec=INSTANT,
            retry_count=COUNT,
            payload=st.binary(max_size=40),
            tag=OPTIONAL_TEXT,
        ),
        max_size=4,
    )
)
def test_leased_tasks_round_trip(tasks: list[LeasedTask]) -> None:
    assert wire(codec.leased_tasks_to_json, codec.leased_tasks_from_json, tasks) == tasks


@ROUND_TRIPS
@given(st.builds(TaskPage, st.lists(STORED_TASKS, max_size=3), OPTIONAL_TEXT.filter(bool), INT64))
def test_task_pages_round_trip(page: TaskPage) -> None:
    assert wire(codec.task_page_to_json, codec.task_page_from_json, page) == page


@ROUND_TRIPS
@given(st.lists(QUEUE_STATS, max_size=3))
def test_statistics_round_trip(stats: list[QueueStats]) -> None:
    assert wire(codec.stats_to_json, codec.stats_from_json, stats) == stats


@ROUND_TRIPS
@given(st.lists(st.tuples(QUEUE_CONFIGS, QUEUE_STATS), max_size=3))
def test_queues_round_trip(queues: list[tuple[QueueConfig, QueueStats]]) -> None:
    assert wire(codec.queues_to_json, codec.queues_from_json, queues) == queues


@ROUND_TRIPS
@given(st.lists(st.sampled_from(ErrorCode), max_size=4), st.data())
def test_delete_results_round_trip(codes: list[ErrorCode], data: st.DataObject) -> None:
    names = data.draw(st.lists(TEXT, min_size=len(codes), max_size=len(codes)))
    body = over_the_wire(codec.delete_results_to_json(names, codes))
    assert codec.delete_results_from_json(body) == codes


@ROUND_TRIPS
@given(INSTANT, st.booleans())
def test_clock_time_and_lease_tokens_round_trip(now_usec: int, frozen: bool) -> None:
    state = codec.ClockState(now_usec, frozen)
    assert wire(codec.clock_state_to_json, codec.clock_state_from_json, state) == state
    assert wire(codec.time_to_json, codec.time_from_json, now_usec) == now_usec
    token = codec.modified_lease_to_json("t", now_usec)
    assert codec.modified_lease_from_json(over_the_wire(token)) == now_usec


@ROUND_TRIPS
@given(st.sampled_from(ErrorCode), TEXT.filter(bool))
def test_errors_round_trip(code: ErrorCode, message: str) -> None:
    error = codec.error_from_json(400, over_the_wire(codec.error_to_json(code, message)))
    assert (error.code, error.message) == (code, message)


def test_a_response_may_carry_fields_this_version_does_not_know() -> None:
    body = {"stats": [{"queue": "q", "tasks": 2, "colour": "red"}], "next": 1}
    assert codec.stats_from_json(body) == [QueueStats(queue="q", tasks=2)]


def test_an_error_code_this_version_does_not_know_is_internal_error() -> None:
    error = codec.error_from_json(500, {"error": {"code": "SOMETHING_NEW", "message": "m"}})
    assert (error.code, error.message) == (ErrorCode.INTERNAL_ERROR, "m")
    assert codec.error_from_json(502, "<html>").code is ErrorCode.INTERNAL_ERROR


def test_a_response_of_the_wrong_shape_names_the_field() -> None:
    with pytest.raises(TaskQueueError, match=r"tasks\[0\]\.eta_usec: must be an integer"):
        codec.leased_tasks_from_json({"tasks": [{"name": "t", "eta_usec": "x", "retry_count": 1}]})
