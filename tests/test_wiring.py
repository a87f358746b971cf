"""The running service follows queue.yaml edits: new queues appear, a bad edit changes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.model import AddRequest
from emulator.wiring import build_runtime


def _write(path: Path, text: str, mtime_ns: int) -> None:
    path.write_text(text)
    os.utime(path, ns=(mtime_ns, mtime_ns))  # a distinct mtime without sleeping


def test_edits_to_queue_yaml_reach_the_running_service(tmp_path: Path) -> None:
    yaml_path = tmp_path / "queue.yaml"
    _write(yaml_path, "queue:\n- name: a\n  mode: pull\n", 1_000_000_000)
    runtime = build_runtime(str(yaml_path), ":memory:")
    service = runtime.service
    assert service.add("a", [AddRequest(b"x", name="kept")])[0].code is ErrorCode.OK
    with pytest.raises(TaskQueueError) as err:
        service.lease("b", 30, 1)
    assert err.value.code is ErrorCode.UNKNOWN_QUEUE

    # When queue b is added to the file, Then it exists at once
    _write(yaml_path, "queue:\n- name: a\n  mode: pull\n- name: b\n  mode: pull\n", 2_000_000_000)
    assert service.lease("b", 30, 1) == []

    # When a broken edit is saved, Then the last good configuration stays in force
    _write(yaml_path, "queue:\n- name: a\n  mode: pull\n  rate: 5/s\n", 3_000_000_000)
    assert service.lease("b", 30, 1) == []

    # When queue a is removed, Then it is unknown but its task is kept for when it returns
    _write(yaml_path, "queue:\n- name: b\n  mode: pull\n", 4_000_000_000)
    assert service.stats(["a"])[0].exists is False
    _write(yaml_path, "queue:\n- name: a\n  mode: pull\n", 5_000_000_000)
    assert service.get_task("a", "kept").payload == b"x"
    runtime.close()
