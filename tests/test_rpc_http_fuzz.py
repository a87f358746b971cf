"""Structure-aware fuzzing of ``POST /rpc_http`` (tests/test_rpc_http.py fuzzes raw, truncated
and mutated bytes): well-typed requests of Google's own ``*_pb2`` classes whose every field
is drawn at random (unknown and invalid queue and task names, ETAs across the whole int64
range, NaN, infinite and negative lease lengths, huge counts), several calls per example on
one emulator. Every answer is a ``remote_api.Response`` (HTTP 200) carrying a response or an
application error that is never INTERNAL_ERROR, and the queue still answers afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from google.appengine.api.taskqueue import taskqueue_service_bytes_pb2 as sdk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.app import runtime_app
from emulator.wiring import Runtime, build_runtime
from tests.rpc_support import LIMITED, PULL, T0_USEC, envelope, post_rpc, write_queue_yaml

ERR = sdk.TaskQueueServiceError
INT64 = st.integers(-(2**63), 2**63 - 1)
ETAS = st.one_of(st.integers(T0_USEC - 10**8, T0_USEC + 10**8), INT64)
SECONDS = st.one_of(st.floats(-10, 10**6), st.floats(allow_nan=True, allow_infinity=True))
COUNTS = st.one_of(st.integers(-5, 1100), INT64)
QUEUES = st.sampled_from([PULL, LIMITED, "nope", "", "bad name", "x" * 600]).map(str.encode)
NAMES = st.one_of(
    st.sampled_from(["a", "b", "c", "", "bad name", "n" * 501]).map(str.encode),
    st.binary(max_size=8),
)
TAGS = st.one_of(st.sampled_from([b"t1", b"t2", b""]), st.binary(max_size=600))


@st.composite
def _add(draw: st.DrawFn) -> Any:
    request = sdk.TaskQueueAddRequest(
        queue_name=draw(QUEUES), task_name=draw(NAMES), eta_usec=draw(ETAS), body=b"x"
    )
    request.mode = draw(st.sampled_from([sdk.TaskQueueMode.PULL, sdk.TaskQueueMode.PUSH]))
    if draw(st.booleans()):
        request.tag = draw(TAGS)
    return request


def _bulk(adds: list[Any]) -> Any:
    bulk = sdk.TaskQueueBulkAddRequest()
    for add in adds:
        bulk.add_request.add().CopyFrom(add)
    return bulk


def _call(method: str, message: Any, **fields: st.SearchStrategy[Any]) -> Any:
    """``(method, request)`` with ``message``'s fields drawn from ``fields``."""
    return st.tuples(st.just(method), st.builds(message, **fields))


CALLS = st.one_of(
    st.tuples(st.just("BulkAdd"), st.lists(_add(), max_size=4).map(_bulk)),
    _call(
        "QueryAndOwnTasks",
        sdk.TaskQueueQueryAndOwnTasksRequest,
        queue_name=QUEUES,
        lease_seconds=SECONDS,
        max_tasks=COUNTS,
        group_by_tag=st.booleans(),
    ),
    _call(
        "ModifyTaskLease",
        sdk.TaskQueueModifyTaskLeaseRequest,
        queue_name=QUEUES,
        task_name=NAMES,
        eta_usec=ETAS,
        lease_seconds=SECONDS,
    ),
    _call("Delete", sdk.TaskQueueDeleteRequest, queue_name=QUEUES, task_name=st.lists(NAMES)),
    _call(
        "FetchQueueStats",
        sdk.TaskQueueFetchQueueStatsRequest,
        queue_name=st.lists(QUEUES, max_size=3),
        max_num_tasks=COUNTS.filter(lambda n: -(2**31) <= n < 2**31),
    ),
    _call("PurgeQueue", sdk.TaskQueuePurgeQueueRequest, queue_name=QUEUES),
)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[FlaskClient]:
    runtime: Runtime = build_runtime(str(write_queue_yaml(tmp_path)), ":memory:")
    runtime.clock.freeze(T0_USEC)
    yield runtime_app(runtime).test_client()
    runtime.close()


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(calls=st.lists(CALLS, min_size=1, max_size=6))
def test_well_typed_requests_with_random_fields_never_break_the_face(
    client: FlaskClient, calls: list[tuple[str, Any]]
) -> None:
    for method, request in calls:
        answer = post_rpc(client, envelope(method, request))
        assert not answer.HasField("rpc_error"), (method, request, answer)
        if answer.HasField("application_error"):
            assert answer.application_error.code != ERR.INTERNAL_ERROR, (method, answer)
            assert answer.application_error.detail, (method, answer)
        else:
            assert answer.HasField("response"), (method, answer)
    stats = sdk.TaskQueueFetchQueueStatsRequest(queue_name=[PULL.encode()])
    answer = post_rpc(client, envelope("FetchQueueStats", stats))
    assert not answer.HasField("application_error"), answer


@pytest.mark.parametrize("eta_usec", [-(2**63), 2**63 - 1])
def test_an_eta_at_the_int64_limit_moved_onto_a_frozen_clock_is_no_internal_error(
    client: FlaskClient, eta_usec: int
) -> None:
    # Given the emulator's clock frozen (client ETAs are moved onto it) and an extreme ETA
    add = sdk.TaskQueueAddRequest(queue_name=PULL.encode(), task_name=b"edge", eta_usec=eta_usec)
    add.mode = sdk.TaskQueueMode.PULL
    add.body = b"x"
    # When it is added / Then the answer is an ordinary one, not "internal error: ValueError"
    answer = post_rpc(client, envelope("BulkAdd", _bulk([add])))
    if answer.HasField("application_error"):
        assert answer.application_error.code != ERR.INTERNAL_ERROR, answer
    else:
        result = sdk.TaskQueueBulkAddResponse.FromString(answer.response)
        assert result.taskresult[0].result != ERR.INTERNAL_ERROR
