"""docs/CLOUD_TASKS.md's Python snippets run as written against a live emulator (only the
addresses are replaced), and its tables name every served method and every flag."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from google.appengine.api.taskqueue import cloudtask

from emulator.faces.cloud_tasks.grpc_server import CloudTasksGrpcServer
from emulator.faces.cloud_tasks.methods import methods_of
from emulator.faces.cloud_tasks.versions import DIALECTS
from tests.shim_support import PULL, T0, LiveServer

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "CLOUD_TASKS.md").read_text()


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC, re.S)


@pytest.mark.e2e
def test_the_client_set_up_and_the_pull_worker_run_as_written(
    server: LiveServer, cloud_tasks_grpc: CloudTasksGrpcServer
) -> None:
    server.runtime.service.reset()
    server.runtime.clock.freeze(T0)
    clients, worker, sdk = python_blocks()
    clients = clients.replace('"127.0.0.1:8123"', repr(cloud_tasks_grpc.address))
    clients = clients.replace('"127.0.0.1:8089"', repr(server.address))
    worker = worker.replace('"pull-q"', repr(PULL)).replace("    ...  # work\n", "")
    names: dict[str, Any] = {}
    try:
        exec(clients + worker, names)  # the documentation's own code
        assert server.runtime.service.stats([PULL])[0].tasks == 0  # created, leased, acked
        assert len(names["leased"].tasks) == 1
        exec(sdk, names)
        assert cloudtask._CLIENTS[("v2", os.getpid())] is names["push"]
    finally:
        cloudtask._reset_clients()
        server.runtime.clock.unfreeze()


def test_the_tables_name_every_served_method_and_the_flag() -> None:
    table = DOC.split("## Starting it")[0]
    for d in DIALECTS.values():
        row = next(line for line in table.splitlines() if line.startswith(f"| **{d.version}**"))
        for name in methods_of(d):
            assert name in row, (d.version, name)
    assert "`--cloud-tasks-grpc-port PORT` | `TASKQUEUE_EMULATOR_CLOUD_TASKS_GRPC_PORT`" in DOC
