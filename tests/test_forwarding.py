"""Forwarding to Cloud Tasks: the service's own behaviour, the shim's ``backend="cloudtasks"``,
the errors of a refused or unreachable Cloud Tasks, and the CLI (``--backend cloudtasks``,
``check-cloud-tasks``). A second emulator plays Cloud Tasks (tests/forwarding_support.py)."""

from __future__ import annotations

import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import shims
from emulator.cloudtasks.service import CloudTasksQueueService
from emulator.cloudtasks.target import CloudTasksTarget
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.model import AddRequest, PeekFilter, TaskState
from emulator.domain.queue_config import QueueMode
from emulator.faces.cloud_tasks.grpc_server import token_check
from emulator.wiring import build_forwarding_runtime
from shims import backends, testing
from shims.backends.protocol import ControlUnavailableError
from tests.forwarding_support import (
    LOCATION,
    PROJECT,
    CloudTasks,
    cloud_tasks,
    forwarding_backend,
)
from tests.shim_support import PULL, PUSH, SEC, T0, free_port
from tests.test_cli import _env, _one_line_failure, _write_yaml, run_cli, running

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def backing(root: Path) -> Iterator[CloudTasks]:
    with cloud_tasks(root / "queue.yaml") as running_backing:
        yield running_backing


@pytest.fixture
def service(root: Path, backing: CloudTasks) -> Iterator[CloudTasksQueueService]:
    """The forwarding service over an emptied backing emulator frozen at T0."""
    backing.emptied()
    runtime = build_forwarding_runtime(
        str(root / "queue.yaml"), backing.target(), clock=backing.runtime.clock
    )
    forwarding = runtime.service
    try:
        yield forwarding  # type: ignore[misc]
    finally:
        runtime.close()


# -- the service -------------------------------------------------------------------------------


def test_tasks_added_by_forwarding_are_cloud_tasks_tasks(
    service: CloudTasksQueueService, backing: CloudTasks
) -> None:
    [added] = service.add(PULL, [AddRequest(payload=b"x", name="n1", tag="t", countdown_seconds=5)])
    assert (added.code, added.name, added.eta_usec) == (ErrorCode.OK, "n1", T0 + 5 * SEC)
    stored = backing.runtime.service.get_task(PULL, "n1")
    assert (stored.payload, stored.tag, stored.eta_usec) == (b"x", "t", T0 + 5 * SEC)
    assert service.get_task(PULL, "n1").payload == b"x"


def test_a_lease_renewed_then_acknowledged_with_its_token(service: CloudTasksQueueService) -> None:
    service.add(PULL, [AddRequest(payload=b"x", name="a")])
    [leased] = service.lease(PULL, 30, 10)
    assert (leased.name, leased.eta_usec, leased.retry_count) == ("a", T0 + 30 * SEC, 1)
    renewed = service.change_lease(PULL, "a", leased.eta_usec, 60)
    assert renewed.eta_usec == T0 + 60 * SEC
    with pytest.raises(TaskQueueError) as stale:
        service.acknowledge(PULL, "a", leased.eta_usec)
    assert stale.value.code is ErrorCode.TASK_LEASE_EXPIRED
    service.acknowledge(PULL, "a", renewed.eta_usec)
    assert service.delete(PULL, ["a"]) == [ErrorCode.TOMBSTONED_TASK]


def test_a_lease_change_of_zero_cancels_the_lease(service: CloudTasksQueueService) -> None:
    service.add(PULL, [AddRequest(payload=b"x", name="a")])
    [leased] = service.lease(PULL, 30, 10)
    assert service.modify_lease(PULL, "a", leased.eta_usec, 0) == T0
    assert [t.name for t in service.lease(PULL, 30, 10)] == ["a"]


def test_pause_resume_and_purge(service: CloudTasksQueueService) -> None:
    service.add(PULL, [AddRequest(payload=b"x", name=n) for n in ("a", "b")])
    service.pause(PULL)
    assert service.stats([PULL])[0].paused is True
    with pytest.raises(TaskQueueError) as paused:
        service.lease(PULL, 30, 10)
    assert paused.value.code is ErrorCode.QUEUE_PAUSED
    service.resume(PULL)
    assert service.purge(PULL) == 2
    assert service.stats([PULL])[0].tasks == 0
    [again] = service.add(PULL, [AddRequest(payload=b"x", name="a")])
    assert again.code is ErrorCode.TOMBSTONED_TASK


def test_push_tasks_go_through_v2_with_their_request(service: CloudTasksQueueService) -> None:
    request = AddRequest(
        payload=b"b", name="p", mode=QueueMode.PUSH, method="PUT", url="/w", headers=(("X-A", "1"),)
    )
    assert service.add(PUSH, [request])[0].code is ErrorCode.OK
    task = service.get_task(PUSH, "p")
    assert (task.method, task.url, task.headers, task.payload) == (
        "PUT",
        "/w",
        (("X-A", "1"),),
        b"b",
    )
    assert service.stats([PUSH])[0].tasks == 1
    with pytest.raises(TaskQueueError) as wrong:
        service.lease(PUSH, 30, 1)
    assert wrong.value.code is ErrorCode.INVALID_QUEUE_MODE


def test_peek_filters_a_page_of_list_tasks(
    service: CloudTasksQueueService, backing: CloudTasks
) -> None:
    service.add(PULL, [AddRequest(payload=b"", name="later", countdown_seconds=60)])
    service.add(PULL, [AddRequest(payload=b"", name="now", tag="t")])
    page = service.peek(PULL, PeekFilter(states=frozenset({TaskState.READY})))
    assert [t.name for t in page.tasks] == ["now"]
    assert [t.name for t in service.peek(PULL, PeekFilter(tag="t")).tasks] == ["now"]
    first = service.peek(PULL, PeekFilter(limit=1))
    assert len(first.tasks) == 1 and first.next_page_token is not None


def test_queues_come_from_the_queue_yaml(service: CloudTasksQueueService) -> None:
    assert service.queue(PULL).mode is QueueMode.PULL
    with pytest.raises(TaskQueueError) as unknown:
        service.add("nope", [AddRequest()])
    assert unknown.value.code is ErrorCode.UNKNOWN_QUEUE
    assert "queue.yaml" in unknown.value.message
    assert service.stats(["nope"])[0].exists is False


@pytest.mark.parametrize("call", ["flush_queue", "forget_task", "reset"])
def test_what_cloud_tasks_cannot_do_is_refused_with_why(
    service: CloudTasksQueueService, call: str
) -> None:
    with pytest.raises(TaskQueueError) as refused:
        if call == "flush_queue":
            service.flush_queue(PULL)
        elif call == "forget_task":
            service.forget_task(PULL, "a")
        else:
            service.reset()
    assert refused.value.code is ErrorCode.INVALID_REQUEST
    assert "not available when forwarding" in refused.value.message


# -- refused and unreachable -------------------------------------------------------------------


def test_a_refused_call_names_project_queue_and_permission(root: Path) -> None:
    with cloud_tasks(root / "queue.yaml", authorize=token_check("secret")) as guarded:
        backend = forwarding_backend(root / "queue.yaml", guarded)
        try:
            with pytest.raises(TaskQueueError) as refused:
                backend.lease(PULL, 30, 1, group_by_tag=False, tag=None, deadline=5)
        finally:
            backend.close()
    assert refused.value.code is ErrorCode.PERMISSION_DENIED
    for text in (PROJECT, PULL, "cloudtasks.tasks.lease", "UNAUTHENTICATED"):
        assert text in refused.value.message


def test_an_unreachable_endpoint_is_a_transient_error_naming_it(root: Path) -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    target = CloudTasksTarget(PROJECT, LOCATION, endpoint, timeout_seconds=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        shims.install(
            queue_yaml=str(root / "queue.yaml"),
            backend="cloudtasks",
            project=target.project,
            location=target.location,
            endpoint=endpoint,
        )
    try:
        from google.appengine.api import taskqueue

        with pytest.raises(taskqueue.TransientError) as unreachable:
            taskqueue.Queue(PULL).add(taskqueue.Task(payload=b"x", method="PULL"))
    finally:
        shims.uninstall()
    assert endpoint in str(unreachable.value)


# -- the shim ----------------------------------------------------------------------------------


def test_legacy_code_runs_against_cloud_tasks_with_no_emulator_server(
    root: Path, backing: CloudTasks
) -> None:
    backing.runtime.service.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        shims.install(
            queue_yaml=str(root / "queue.yaml"),
            backend="cloudtasks",
            project=PROJECT,
            location=LOCATION,
            endpoint=backing.endpoint,
        )
    try:
        from google.appengine.api import taskqueue

        q = taskqueue.Queue(PULL)
        q.add([taskqueue.Task(payload=b"x", method="PULL", name="s1", tag="t")])
        [task] = q.lease_tasks_by_tag(30, 10)
        assert (task.name, task.payload, task.tag, task.retry_count) == ("s1", b"x", "t", 1)
        assert q.fetch_statistics().tasks == 1
        q.delete_tasks(task)
        with pytest.raises(taskqueue.TombstonedTaskError):
            q.add(taskqueue.Task(payload=b"x", method="PULL", name="s1"))
        assert "Cloud Tasks" in backends.current().description
        with pytest.raises(ControlUnavailableError, match="cannot be controlled"):
            testing.reset()
    finally:
        shims.uninstall()
    assert backing.runtime.service.stats([PULL])[0].tasks == 0


@pytest.mark.parametrize(
    ("kwargs", "mention"),
    [
        ({"backend": "cloud"}, "backend must be one of local, cloudtasks"),
        ({"backend": "cloudtasks", "location": "l"}, "needs project="),
        ({"backend": "cloudtasks", "project": "p"}, "needs location="),
        ({"backend": "cloudtasks", "project": "p", "location": "l", "endpoint": "x"}, "endpoint"),
        (
            {"backend": "cloudtasks", "project": "p", "location": "l", "lease_rate_limit": 5},
            "lease_rate_limit: the production behaviours are the embedded emulator's",
        ),
        (
            {"backend": "cloudtasks", "project": "p", "location": "l", "like_production": True},
            "like_production",
        ),
    ],
)
def test_install_refuses_an_unusable_cloud_tasks_backend(
    kwargs: dict[str, object], mention: str
) -> None:
    with pytest.raises(ValueError, match=mention):
        shims.install(**kwargs)  # type: ignore[arg-type]
    assert not shims.is_installed()


# -- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "mentions"),
    [
        (
            ["--cloud-tasks-location", "l"],
            {},
            ["--cloud-tasks-project", "TASKQUEUE_EMULATOR_CLOUD_TASKS_PROJECT"],
        ),
        (
            ["--cloud-tasks-project", "p"],
            {},
            ["--cloud-tasks-location", "TASKQUEUE_EMULATOR_CLOUD_TASKS_LOCATION"],
        ),
        (
            ["--cloud-tasks-project", "p", "--cloud-tasks-location", "l"],
            {"TASKQUEUE_EMULATOR_CLOUD_TASKS_ENDPOINT": "http://x:1"},
            ["TASKQUEUE_EMULATOR_CLOUD_TASKS_ENDPOINT", "host:port"],
        ),
        (
            ["--cloud-tasks-project", "p", "--cloud-tasks-location", "l", "--enable-test-control"],
            {},
            ["--enable-test-control", "cannot be controlled"],
        ),
    ],
)
def test_bad_forwarding_settings_exit_2_naming_them(
    tmp_path: Path, args: list[str], env: dict[str, str], mentions: list[str]
) -> None:
    result = run_cli(["--backend", "cloudtasks", *args], tmp_path, _env(**env))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    for text in mentions:
        assert text in last, (text, last)


def test_a_bad_backend_variable_exits_2_naming_it(tmp_path: Path) -> None:
    result = run_cli([], tmp_path, _env(TASKQUEUE_EMULATOR_BACKEND="cloud"))
    assert result.returncode == 2
    assert "TASKQUEUE_EMULATOR_BACKEND: must be one of local, cloudtasks" in result.stderr


def test_the_server_forwards_every_face_to_cloud_tasks(
    tmp_path: Path, root: Path, backing: CloudTasks
) -> None:
    backing.runtime.service.reset()
    args = [
        "--port",
        "0",
        "--queue-yaml",
        str(root / "queue.yaml"),
        "--backend",
        "cloudtasks",
        "--cloud-tasks-endpoint",
        backing.endpoint,
    ]
    env = _env(
        TASKQUEUE_EMULATOR_CLOUD_TASKS_PROJECT=PROJECT,
        TASKQUEUE_EMULATOR_CLOUD_TASKS_LOCATION=LOCATION,
    )
    with running(args, tmp_path, env) as server:
        storage = server.line("storage:")
        assert f"projects/{PROJECT}/locations/{LOCATION} at {backing.endpoint}" in storage
        server.ok("POST", f"/v1/queues/{PULL}/tasks", {"tasks": [{"name": "j1"}]})
        assert backing.runtime.service.get_task(PULL, "j1").name == "j1"
        assert server.ok("GET", f"/v1/queues/{PULL}/stats")["tasks"] == 1
        with urllib.request.urlopen(f"http://{server.address}/", timeout=10) as console:
            assert PULL in console.read().decode()
        assert server.stop() == 0


# -- check-cloud-tasks -------------------------------------------------------------------------


def _check(tmp_path: Path, queue_yaml: Path, endpoint: str) -> tuple[int, list[str]]:
    result = run_cli(
        [
            "check-cloud-tasks",
            "--queue-yaml",
            str(queue_yaml),
            "--cloud-tasks-project",
            PROJECT,
            "--cloud-tasks-location",
            LOCATION,
            "--cloud-tasks-endpoint",
            endpoint,
        ],
        tmp_path,
    )
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout.splitlines()


def _row(lines: list[str], queue: str, check: str) -> list[str]:
    found = [line.split() for line in lines if line.startswith(f"{queue} ") and check in line]
    assert len(found) == 1, (queue, check, lines)
    return found[0]


def test_check_cloud_tasks_passes_for_the_same_queue_yaml(
    tmp_path: Path, root: Path, backing: CloudTasks
) -> None:
    code, lines = _check(tmp_path, root / "queue.yaml", backing.endpoint)
    assert code == 0, lines
    assert _row(lines, PULL, "pull methods")[-1] == "ok"
    assert _row(lines, "limited", "max_attempts")[-3:] == ["3", "3", "ok"]
    assert _row(lines, PUSH, "max_tasks_dispatched_per_second")[-3:] == ["5", "5", "ok"]
    assert "all match" in lines[-1]


def test_check_cloud_tasks_reports_each_mismatch(
    tmp_path: Path, root: Path, backing: CloudTasks
) -> None:
    other = _write_yaml(
        tmp_path,
        "queue:\n"
        f"- name: {PULL}\n  rate: 1/s\n"  # push here, pull in Cloud Tasks
        "- name: limited\n  mode: pull\n  retry_parameters:\n    task_retry_limit: 5\n"
        f"- name: {PUSH}\n  rate: 2/s\n"
        "- name: missing-q\n  mode: pull\n",
    )
    code, lines = _check(tmp_path, other, backing.endpoint)
    assert code == 1, lines
    assert _row(lines, PULL, "mode")[-3:] == ["push", "pull", "MISMATCH"]
    assert _row(lines, "limited", "max_attempts")[-3:] == ["6", "3", "MISMATCH"]
    assert _row(lines, PUSH, "max_tasks_dispatched_per_second")[-3:] == ["2", "5", "MISMATCH"]
    assert _row(lines, "missing-q", "exists")[-3:] == ["yes", "missing", "MISMATCH"]
    assert "mismatches" in lines[-1]


def test_check_cloud_tasks_reports_refused_pull_methods(tmp_path: Path, root: Path) -> None:
    with cloud_tasks(root / "queue.yaml", authorize=token_check("secret")) as guarded:
        code, lines = _check(tmp_path, root / "queue.yaml", guarded.endpoint)
    assert code == 1
    row = " ".join(_row(lines, PULL, "exists"))
    assert "PERMISSION_DENIED" in row and "MISMATCH" in row


def test_check_cloud_tasks_without_a_project_is_bad_usage(tmp_path: Path, root: Path) -> None:
    result = run_cli(
        ["check-cloud-tasks", "--queue-yaml", str(root / "queue.yaml")],
        tmp_path,
        _env(TASKQUEUE_EMULATOR_CLOUD_TASKS_LOCATION=LOCATION),
    )
    assert result.returncode == 2
    assert "--cloud-tasks-project or TASKQUEUE_EMULATOR_CLOUD_TASKS_PROJECT" in result.stderr


def test_check_cloud_tasks_with_a_bad_queue_yaml_is_bad_usage(tmp_path: Path) -> None:
    bad = _write_yaml(tmp_path, "queue:\n- name: q\n  mode: sideways\n")
    result = run_cli(
        [
            "check-cloud-tasks",
            "--queue-yaml",
            str(bad),
            "--cloud-tasks-project",
            PROJECT,
            "--cloud-tasks-location",
            LOCATION,
            "--cloud-tasks-endpoint",
            f"127.0.0.1:{free_port()}",
        ],
        tmp_path,
    )
    _one_line_failure(result, str(bad), "mode")
