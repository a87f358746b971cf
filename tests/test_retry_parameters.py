"""Retry parameters have one mapping (``RetryParameters.to_dict``/``from_dict``), and every
place that stores or sends them round-trips through it: the SQLite store, the JSON face,
``/rpc_http``'s messages and testbed's queue dicts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.domain.model import StoredTask
from emulator.domain.queue_config import SDK_RETRY_FIELD_NAMES, RetryParameters
from emulator.faces.json import codec as json_codec
from emulator.faces.rpc_http import codec as rpc_codec
from emulator.faces.rpc_http.protos import taskqueue_wire_pb2 as wire
from emulator.store.sqlite import SqliteTaskStore

_INT = st.none() | st.integers(0, 2**31 - 1)
_SECONDS = st.none() | st.floats(0, 1e9, allow_nan=False) | st.integers(0, 10**6)
#: Cheap properties: many examples whatever the Hypothesis profile.
CHEAP = settings(max_examples=100, deadline=None)
RETRY_PARAMETERS = st.builds(
    RetryParameters,
    task_retry_limit=_INT,
    task_age_limit_sec=st.none() | st.integers(1, 2**62),
    min_backoff_seconds=_SECONDS,
    max_backoff_seconds=_SECONDS,
    max_doublings=_INT,
)


@CHEAP
@given(RETRY_PARAMETERS)
def test_the_dict_holds_the_set_fields_and_maps_back(params: RetryParameters) -> None:
    values = params.to_dict()
    assert None not in values.values()
    assert RetryParameters.from_dict(values) == params
    assert RetryParameters.from_dict(json.loads(json.dumps(values))) == params


def test_none_values_are_unset_and_bad_keys_or_types_are_refused() -> None:
    assert RetryParameters.from_dict({"task_retry_limit": 2, "max_doublings": None}) == (
        RetryParameters(task_retry_limit=2)
    )
    for bad in ({"retry_limit": 2}, {"task_retry_limit": True}, {"min_backoff_seconds": "1"}):
        with pytest.raises(ValueError):
            RetryParameters.from_dict(bad)


@CHEAP
@given(RETRY_PARAMETERS)
def test_json_keeps_the_queue_yaml_key_names(params: RetryParameters) -> None:
    body = json_codec.retry_options(params)
    assert body is not None and "task_age_limit_sec" not in body
    decoded = json_codec.retry_options_from_json(json.loads(json.dumps(body)), "retry_options")
    assert decoded == params


@CHEAP
@given(RETRY_PARAMETERS)
def test_the_rpc_message_maps_both_ways(params: RetryParameters) -> None:
    message = wire.TaskQueueRetryParameters()
    rpc_codec.fill_retry_parameters(params, message)
    parsed = wire.TaskQueueRetryParameters.FromString(message.SerializeToString())
    assert rpc_codec.retry_parameters(parsed) == params
    assert {f.name for f, _ in parsed.ListFields()} == {
        SDK_RETRY_FIELD_NAMES[k] for k in params.to_dict()
    }


def test_the_store_reads_rows_with_unset_parameters_as_null(tmp_path: Path) -> None:
    """Rows written before the one mapping kept every field, unset ones as null."""
    path = tmp_path / "tasks.sqlite3"
    store = SqliteTaskStore(path)
    with store.transaction() as tx:
        tx.insert_task(StoredTask(queue="q", name="t", eta_usec=1))
    store.close()
    old = {
        "task_retry_limit": 3,
        "task_age_limit_sec": None,
        "min_backoff_seconds": 0.5,
        "max_backoff_seconds": None,
        "max_doublings": None,
    }
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE tasks SET retry_parameters = ?", (json.dumps(old),))
    store = SqliteTaskStore(path)
    with store.transaction() as tx:
        task = tx.get_task("q", "t")
    store.close()
    assert task is not None
    assert task.retry_parameters == RetryParameters(task_retry_limit=3, min_backoff_seconds=0.5)


@CHEAP
@given(RETRY_PARAMETERS)
def test_the_store_round_trips_them(params: RetryParameters) -> None:
    store = SqliteTaskStore(":memory:")
    with store.transaction() as tx:
        tx.insert_task(StoredTask(queue="q", name="t", eta_usec=1, retry_parameters=params))
        task = tx.get_task("q", "t")
    store.close()
    assert task is not None and task.retry_parameters == params
