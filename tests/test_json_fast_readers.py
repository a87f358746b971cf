"""The JSON codec's fast readers and the orjson text layer agree with the full readers and
:mod:`json` on every input: the same value when both read it, and the full reader's error
when the fast one declines (they exist only for speed; see docs/PERFORMANCE.md)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from emulator.domain.errors import TaskQueueError
from emulator.faces.json import codec, text

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["", "QUFB", "QUFB=", "not base64!", "pull", "push", "OK", "NOPE"])
)
_VALUES = _SCALARS | st.lists(_SCALARS, max_size=2) | st.dictionaries(st.text(max_size=3), _SCALARS)


def _items(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with some of ``keys`` (and now and then another key), any values."""
    return st.dictionaries(st.sampled_from([*keys, "other"]), _VALUES, max_size=len(keys) + 1)


def _outcome(read: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "value", read(*args)
    except TaskQueueError as error:
        return "error", (error.code, error.message)


_TASK_KEYS = ["name", "payload", "tag", "eta_usec", "mode", "countdown_seconds"]


@given(st.lists(_items(_TASK_KEYS) | _VALUES, max_size=3))
@example([{"payload": "QUFB", "tag": "t", "eta_usec": 5, "mode": "pull", "name": "n"}])
@example([{"eta_usec": 2**62 + 1}])
@example([{"eta_usec": True}])
@example([{"mode": "push"}])
def test_add_body_reader_matches_the_full_reader(items: list[Any]) -> None:
    def full(body: dict[str, Any]) -> list[Any]:
        return [codec.add_request_from_json(item, f"tasks[{i}]") for i, item in enumerate(items)]

    assert _outcome(codec.add_body_from_json, {"tasks": items}) == _outcome(full, {})


@given(
    st.lists(_items(["name", "eta_usec", "retry_count", "payload", "tag"]) | _VALUES, max_size=3)
)
@example([{"name": "n", "eta_usec": 1, "retry_count": 2, "payload": "QUFB", "tag": None}])
@example([{"name": "n", "eta_usec": 1, "retry_count": 2, "payload": "QUFB="}])
def test_leased_tasks_reader_matches_the_full_reader(items: list[Any]) -> None:
    def full(body: dict[str, Any]) -> list[Any]:
        fields = codec.Fields(body, "", None).nested_list("tasks")
        return [codec.leased_task_from_json(f) for f in fields]

    body = {"tasks": items}
    assert _outcome(codec.leased_tasks_from_json, body) == _outcome(full, body)


@given(st.lists(_items(["code", "name", "eta_usec", "message"]) | _VALUES, max_size=3))
@example([{"code": "OK", "name": "n", "eta_usec": 3}, {"code": "NOPE"}])
def test_add_results_reader_matches_the_full_reader(items: list[Any]) -> None:
    def full(body: dict[str, Any]) -> list[Any]:
        return [
            codec.add_result_from_json(f) for f in codec.Fields(body, "", None).nested_list("tasks")
        ]

    body = {"tasks": items}
    assert _outcome(codec.add_results_from_json, body) == _outcome(full, body)


@given(st.lists(_items(["code", "name"]) | _VALUES, max_size=3))
def test_delete_results_reader_matches_the_full_reader(items: list[Any]) -> None:
    def full(body: dict[str, Any]) -> list[Any]:
        fields = codec.Fields(body, "", None).nested_list("results")
        return [codec.error_code_from_json(f.string("code")) for f in fields]

    body = {"results": items}
    assert _outcome(codec.delete_results_from_json, body) == _outcome(full, body)


_JSON_TEXTS = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
).map(lambda value: json.dumps(value).encode())


@given(_JSON_TEXTS)
@example(b'{"a": 123456789012345678901234567890}')
@example(b'{"a": -9223372036854775809}')
@example(b'{"a": NaN, "b": Infinity}')
@example(b'["\\ud800"]')
def test_loads_gives_what_json_gives(data: bytes) -> None:
    expected = json.loads(data)

    assert repr(text.loads(data)) == repr(expected)  # repr: NaN != NaN, 1 == 1.0


@pytest.mark.parametrize(
    "data", [b"{'a': 1}", b'{"a": 1}{', b"\xff\xfe\x00", b"[" * 5000 + b"]" * 5000]
)
def test_loads_raises_what_json_raises(data: bytes) -> None:
    with pytest.raises((ValueError, RecursionError)) as expected:
        json.loads(data)

    with pytest.raises(type(expected.value)) as got:
        text.loads(data)
    assert str(got.value) == str(expected.value)


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(_JSON_VALUES)
def test_dumps_round_trips_to_the_same_value(value: Any) -> None:
    assert repr(json.loads(text.dumps(value))) == repr(value)


def test_dumps_writes_a_float_that_is_not_finite_as_null() -> None:
    # json would write NaN and Infinity, which are not JSON; no answer of the API holds one
    assert json.loads(text.dumps([math.nan, math.inf, -math.inf])) == [None, None, None]
