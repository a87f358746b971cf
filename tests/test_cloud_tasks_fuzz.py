"""Bad input never becomes an internal error, on either transport of the Cloud Tasks faces.

* REST: Hypothesis sends random requests to every route of the table: a path built from the
  route's pattern (sometimes with a broken segment), a method, query parameters and a JSON
  body that is plausible for the route's request message (its fields, with values of
  roughly the right kind, and random JSON mixed in). Every answer is a JSON 2xx or Google's
  error shape with a 4xx; a refused request changes no stored task.
* gRPC: random bytes, and valid requests with bytes flipped or cut, for every method of every
  version, straight through the handlers (many examples) and over a real channel (a few):
  an answer is the method's response message, or an abort with a status that is not
  INTERNAL or UNKNOWN.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.faces.cloud_tasks.grpc_server import CloudTasksGrpcServer, _served
from emulator.faces.cloud_tasks.methods import Method, methods_of
from emulator.faces.cloud_tasks.rest import ROUTES
from emulator.faces.cloud_tasks.versions import DIALECTS, Dialect
from tests.http_support import NOW, PULL, PUSH, Api, make_api
from tests.shim_support import LiveServer

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_QUEUES = [PULL, PUSH, "limited", "nope", "bad_id", ""]
_TASKS = ["t1", "t2", "task1", "bad name", ""]
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(
        ["", "aGk=", "***", "60s", "-1s", "FULL", "2", "tag=a", "2026-01-01T00:00:00Z"]
    ),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _rfc3339(usec: int) -> str:
    moment = datetime.datetime.fromtimestamp(usec / 1e6, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _plausible_scalar(field: FieldDescriptor, queue: str) -> st.SearchStrategy[Any]:
    if field.message_type is not None:
        kind = field.message_type.full_name
        if kind == "google.protobuf.Timestamp":
            return st.integers(NOW - 10**8, NOW + 31 * 86400 * 10**6).map(_rfc3339)
        if kind == "google.protobuf.Duration":
            return st.sampled_from(["0s", "1s", "60s", "60.5s", "604801s", "-3s", "1e3s"])
        if kind == "google.protobuf.FieldMask":
            return st.sampled_from(["stats", "name,stats", "pullTarget", "type", "nope", ""])
        return _message(field.message_type, queue, depth=1)
    if field.enum_type is not None:
        names = [v.name for v in field.enum_type.values]
        return st.sampled_from(names) | st.integers(-1, len(names) + 1)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=12).map(lambda b: __import__("base64").b64encode(b).decode())
    if field.type == FieldDescriptor.TYPE_STRING:
        names = [f"projects/p/locations/l/queues/{queue}/tasks/{t}" for t in _TASKS]
        return st.sampled_from(
            [*names, "tag=a", 'tag="a"', "tag_function=oldest_tag()", "/x", "http://h/"]
        ) | st.text(max_size=6)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(-10, 10)
    return st.integers(-2, 1100)


def _message(descriptor: Descriptor, queue: str, depth: int = 0) -> st.SearchStrategy[Any]:
    """A JSON object for ``descriptor``: some of its fields (camelCase or snake_case), values
    mostly of the right kind, sometimes random JSON."""
    if depth > 2:
        return _JSON
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value: st.SearchStrategy[Any] = st.dictionaries(
                st.text(max_size=4), st.text(max_size=4), max_size=2
            )
        elif field.message_type is not None and field.message_type.full_name.startswith(
            "google.cloud.tasks"
        ):
            value = _message(field.message_type, queue, depth + 1)
        else:
            value = _plausible_scalar(field, queue)
        if field.is_repeated and not (
            field.message_type is not None and field.message_type.GetOptions().map_entry
        ):
            value = st.lists(value, max_size=2)
        key = field.json_name if len(optional) % 2 else field.name
        optional[key] = _mostly(value)
    return st.fixed_dictionaries({}, optional=optional)


def _mostly(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``value`` seven times in eight, else random JSON."""
    return st.integers(0, 7).flatmap(lambda i: value if i else _JSON)


def _path(route_index: int, queue: str, task: str, version: str) -> str:
    pattern = ROUTES[route_index].pattern.pattern
    sample = {
        "queue": f"projects/p/locations/l/queues/{queue}",
        "task": f"projects/p/locations/l/queues/{queue}/tasks/{task}",
        "location": "projects/p/locations/l",
    }
    if "/tasks/[^/:]+" in pattern:
        resource = sample["task"]
    elif "/queues/[^/:]+" in pattern:
        resource = sample["queue"]
    elif "locations" in pattern:
        resource = sample["location"]
    else:
        resource = "projects/p"
    suffix = pattern.split(")", 1)[1].removesuffix(r"\Z")
    return f"/{version}/{resource}{suffix}"


_SERVED_ROUTES = [i for i, r in enumerate(ROUTES) if r.rpc in methods_of(DIALECTS["v2beta2"])]


@st.composite
def rest_requests(draw: st.DrawFn) -> tuple[str, str, Any]:
    """Mostly served routes, their own method and a configured queue, to get past routing."""
    any_route = st.integers(0, len(ROUTES) - 1)
    index = draw(
        st.sampled_from(_SERVED_ROUTES) | any_route
        if draw(st.booleans())
        else st.sampled_from(_SERVED_ROUTES)
    )
    route = ROUTES[index]
    version = draw(st.sampled_from([*DIALECTS, "v2beta2", "v2beta2"]))
    queue = draw(st.sampled_from([PULL, PULL, PUSH, *_QUEUES]))
    path = _path(index, queue, draw(st.sampled_from(_TASKS)), version)
    method = draw(st.sampled_from([route.http_method] * 12 + ["GET", "POST", "DELETE", "PATCH"]))
    d = DIALECTS[version]
    served = methods_of(d).get(route.rpc)
    if served is not None:
        body = draw(_mostly(_message(d.message(served.request).DESCRIPTOR, queue)))
    else:
        body = draw(_JSON)
    if method in ("GET", "DELETE") and isinstance(body, dict):
        flat = {k: v for k, v in body.items() if isinstance(v, str | int)}
        query = "&".join(f"{k}={v}" for k, v in flat.items())
        return method, f"{path}?{query}" if query else path, None
    return method, path, body


@pytest.fixture(scope="module")
def api() -> Api:
    return make_api()


def _task_count(api: Api) -> int:
    return sum(s.tasks for s in api.service.stats(list(api.service.config().queues)))


@FUZZ
@given(request=rest_requests())
def test_rest_answers_every_request_with_json_and_never_an_internal_error(
    api: Api, request: tuple[str, str, Any]
) -> None:
    method, path, body = request
    before = _task_count(api)
    data = None if body is None else json.dumps(body)
    response = api.client.open(path, method=method, data=data, content_type="application/json")

    assert response.status_code < 500 or response.status_code == 501, response.get_data(
        as_text=True
    )
    document = response.get_json()
    assert isinstance(document, dict), response.get_data(as_text=True)
    if response.status_code >= 400:
        assert set(document) == {"error"}, document
        error = document["error"]
        assert error["code"] == response.status_code and error["message"], document
        assert error["status"] in (
            "INVALID_ARGUMENT",
            "NOT_FOUND",
            "ALREADY_EXISTS",
            "FAILED_PRECONDITION",
            "UNIMPLEMENTED",
        ), document
        assert _task_count(api) == before, (path, body)  # a refusal stores and deletes nothing


# -- gRPC -----------------------------------------------------------------------------------------


class _Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, details)
        self.code = code
        self.details = details


class _Context:
    """What a handler uses of ``grpc.ServicerContext``."""

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", "Bearer anything"),)

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise _Aborted(code, details)


_EVERY_METHOD = [(d, m) for d in DIALECTS.values() for m in methods_of(d).values()]


def _valid_request(d: Dialect, method: Method) -> bytes:
    fields: dict[str, Any] = {}
    descriptor = d.message(method.request).DESCRIPTOR
    if "parent" in descriptor.fields_by_name:
        fields["parent"] = f"projects/p/locations/l/queues/{PULL}"
    if "name" in descriptor.fields_by_name:
        fields["name"] = f"projects/p/locations/l/queues/{PULL}/tasks/t1"
    return bytes(d.new(method.request, **fields).SerializeToString())


@st.composite
def grpc_requests(draw: st.DrawFn) -> tuple[Dialect, Method, bytes]:
    d, method = draw(st.sampled_from(_EVERY_METHOD))
    if draw(st.booleans()):
        return d, method, draw(st.binary(max_size=64))
    data = bytearray(_valid_request(d, method))
    for _ in range(draw(st.integers(0, 3))):
        if data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return d, method, bytes(data[:cut]) + draw(st.binary(max_size=8))


@FUZZ
@given(call=grpc_requests())
def test_grpc_handlers_answer_random_bytes_without_an_internal_error(
    api: Api, call: tuple[Dialect, Method, bytes]
) -> None:
    d, method, data = call
    handler = _served(d, method, api.service, None)
    try:
        answer = handler(data, _Context())  # type: ignore[arg-type]
    except _Aborted as aborted:
        assert aborted.code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), aborted
        assert aborted.details
        return
    method.response_type(d).FromString(answer)


@pytest.fixture(scope="module")
def channel(server: LiveServer, cloud_tasks_grpc: CloudTasksGrpcServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(cloud_tasks_grpc.address) as opened:
        yield opened


@pytest.mark.e2e
@settings(max_examples=40, deadline=None)
@given(call=grpc_requests())
def test_a_real_channel_gets_statuses_for_random_bytes(
    channel: grpc.Channel, call: tuple[Dialect, Method, bytes]
) -> None:
    d, method, data = call
    stub: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
        f"/{d.service_name}/{method.name}"
    )
    try:
        stub(data, timeout=10)
    except grpc.RpcError as error:
        assert error.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), error


@pytest.mark.e2e
def test_unknown_and_unserved_methods_are_unimplemented(channel: grpc.Channel) -> None:
    for path, mention in [
        ("/google.cloud.tasks.v2beta2.CloudTasks/Frobnicate", ""),
        ("/google.cloud.tasks.v2.CloudTasks/LeaseTasks", ""),
        ("/google.cloud.tasks.v2beta3.CloudTasks/CreateQueue", "queue.yaml"),
        ("/google.cloud.tasks.v1.CloudTasks/GetQueue", ""),
    ]:
        stub: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(path)
        with pytest.raises(grpc.RpcError) as caught:
            stub(b"", timeout=10)
        assert caught.value.code() is grpc.StatusCode.UNIMPLEMENTED, path
        assert mention in (caught.value.details() or ""), path
