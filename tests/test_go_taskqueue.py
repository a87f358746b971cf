"""Google's Go package (``google.golang.org/appengine/taskqueue`` 1.6.7, Debian's
``golang-google-appengine-dev``) against a real emulator over ``/rpc_http``, unmodified.

``tests/go/src/taskqueuecheck`` runs Google's pull-queue examples and the error cases, once in
``appengine.BackgroundContext()`` and once inside ``appengine.Main()`` requests
(``appengine.NewContext(r)``), and prints one JSON line of observations per scenario; the
tests below check every observation exactly, the tasks the emulator stored afterwards
(through the JSON API), the Go app's log lines arriving in the emulator's log
(``logservice.Flush``), and that the Go side reports no error of its own. The program of
``docs/GO.md`` is built and run too.

The program is built once per session in GOPATH mode (no module proxy); the tests are skipped
when Go or the Debian sources are missing. Time moves through the emulator's test clock
(the program advances it with ``POST /_emulator/clock``), never with sleeps.
"""

from __future__ import annotations

import datetime
import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from emulator.domain.errors import ErrorCode
from tests import go_support

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
QUEUE_YAML = go_support.GO_DIR / "queue.yaml"
QUEUES = [
    "default",
    "pull-queue",
    "tag-queue",
    "modify-queue",
    "expiry-queue",
    "name-queue",
    "retry-queue",
    "stats-queue",
    "purge-queue",
    "eta-queue",
    "limits-queue",
    "fault-queue",
]
CONTEXTS = ["background", "request"]
TIMEOUT = 60.0
SEC = 1_000_000
#: What a second-generation runtime sets and the Go package needs for its API ticket.
RUNTIME_ENV = {
    "GAE_ENV": "standard",
    "GOOGLE_CLOUD_PROJECT": "go-check",
    "GAE_SERVICE": "default",
    "GAE_VERSION": "v1",
    "GAE_DEPLOYMENT_ID": "1",
    "GAE_INSTANCE": "local-1",
}
BANNER_RE = re.compile(r"listening on http://(\S+):(\d+)$")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
Json = dict[str, Any]


# -- the emulator and the Go program as processes --------------------------------------------------


def _http(method: str, url: str, body: object = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@dataclass
class Emulator:
    """``python -m emulator`` on a free port, its log (stderr) in a file."""

    proc: subprocess.Popen[str]
    host: str
    port: int
    log_path: Path

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def json(self, method: str, path: str, body: object = None) -> Any:
        status, data = _http(method, self.url(path), body)
        assert status == 200, data
        return json.loads(data)

    def tasks(self, queue_name: str) -> list[Json]:
        tasks: list[Json] = self.json("GET", f"/v1/queues/{queue_name}/tasks?limit=1000")["tasks"]
        return tasks

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8")


def _lines(stream: Any) -> queue.Queue[str | None]:
    """The lines ``stream`` prints, read by a thread (None at the end)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    directory = tmp_path_factory.mktemp("emulator")
    log_path = directory / "emulator.log"
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    args = ["--port", "0", "--storage", ":memory:", "--queue-yaml", str(QUEUE_YAML)]
    args += ["--enable-test-control", "--log-level", "DEBUG"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", *args],
            cwd=directory,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        assert proc.stdout is not None
        first = _lines(proc.stdout).get(timeout=TIMEOUT)
        match = BANNER_RE.search(first or "")
        assert match, f"no banner: {first!r}\n{log_path.read_text()}"
        yield Emulator(proc, match.group(1), int(match.group(2)), log_path)
    finally:
        proc.terminate()
        proc.wait(timeout=TIMEOUT)


@pytest.fixture(scope="module")
def go_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = go_support.missing_toolchain()
    if reason is not None:
        pytest.skip(reason)
    return go_support.build(tmp_path_factory.mktemp("go-build"))


def app_env(emulator: Emulator, **extra: str) -> dict[str, str]:
    """The Go app's whole environment: the emulator's address and the runtime's variables."""
    base = {"PATH": os.environ.get("PATH", ""), "API_HOST": emulator.host}
    return {**base, "API_PORT": str(emulator.port), **RUNTIME_ENV, **extra}


def _results(output: str) -> dict[str, Json]:
    results: dict[str, Json] = {}
    for line in output.splitlines():
        result = json.loads(line)
        results[result["scenario"]] = result
    return results


@dataclass
class Run:
    """One run of every scenario in one context: the results, the Go program's stderr and
    the tasks the emulator stored afterwards, by queue."""

    results: dict[str, Json]
    stderr: str
    stored: dict[str, list[Json]]
    #: For the request context: wall-clock µs before and after GET /log, the emulator's log.
    log_request: tuple[int, int, str] | None = None


def _snapshot(emulator: Emulator) -> dict[str, list[Json]]:
    return {q: emulator.tasks(q) for q in QUEUES}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_background(binary: Path, emulator: Emulator) -> Run:
    done = subprocess.run(
        [str(binary), "-mode", "background"],
        env=app_env(emulator),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return Run(_results(done.stdout), done.stderr, _snapshot(emulator))


def _wait_for(url: str, proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Poll ``url`` until it answers 200 (the Go server is up); bounded."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the Go server exited"
        try:
            if _http("GET", url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    pytest.fail(f"{url} did not answer within {TIMEOUT}s")


def _run_requests(binary: Path, emulator: Emulator, work: Path) -> Run:
    port = _free_port()
    stderr_path = work / "go-server.stderr"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [str(binary), "-mode", "serve"],
            env=app_env(emulator, PORT=str(port)),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/_ah/health", proc)
        status, body = _http("GET", f"{base}/run")
        assert status == 200, body
        before = time.time_ns() // 1000
        log_status, log_body = _http("GET", f"{base}/log?marker=go-log-check")
        after = time.time_ns() // 1000
        assert (log_status, log_body) == (200, b"logged\n")
    finally:
        proc.terminate()
        proc.wait(timeout=TIMEOUT)
    run = Run(_results(body.decode()), stderr_path.read_text(), _snapshot(emulator))
    run.log_request = (before, after, emulator.log())
    return run


@pytest.fixture(scope="module")
def runs(
    go_binary: Path, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Run]:
    """Both contexts, one after the other, each on an emulator without tasks."""
    emulator.json("POST", "/_emulator/reset")
    background = _run_background(go_binary, emulator)
    emulator.json("POST", "/_emulator/reset")
    request = _run_requests(go_binary, emulator, tmp_path_factory.mktemp("go-run"))
    return {"background": background, "request": request}


# -- expected values -------------------------------------------------------------------------------


def api_error(code: ErrorCode, detail: str = "") -> Json:
    """A ``*internal.APIError`` of the taskqueue service, as the program describes it."""
    message = f"API error {code.value} (taskqueue: {code.name})"
    return {
        "type": "APIError",
        "service": "taskqueue",
        "code": code.value,
        "detail": detail,
        "message": f"{message}: {detail}" if detail else message,
    }


ALREADY_ADDED: Json = {"type": "ErrTaskAlreadyAdded"}


def multi(*errors: Json | None) -> Json:
    return {"type": "MultiError", "errors": list(errors)}


def stats(
    tasks: int = 0, oldest: int = 0, executed: int = 0, in_flight: int = 0, rate: float = 0
) -> Json:
    return {
        "tasks": tasks,
        "oldest_eta_usec": oldest,
        "executed_1minute": executed,
        "in_flight": in_flight,
        "enforced_rate": rate,
    }


def brief(tasks: list[Json]) -> list[tuple[str, str, str, int]]:
    """(name, payload, tag, retry_count) of each task, in order."""
    return [(t["name"], t["payload"], t["tag"], t["retry_count"]) for t in tasks]


def assert_leased(tasks: list[Json], window: list[int], lease_seconds: int) -> None:
    """Every task is a PULL task leased within ``window`` (emulator time) for the lease."""
    low, high = window
    for task in tasks:
        assert task["method"] == "PULL"
        assert low + lease_seconds * SEC <= task["eta_usec"] <= high + lease_seconds * SEC, task


UNKNOWN = f"queue 'no-such-queue' is not defined in {QUEUE_YAML}"
DEFAULT_IS_PUSH = "queue 'default' is a push queue, not a pull queue"


def check_example(d: Json) -> None:
    assert d["added"] == {
        "name": "task1",
        "payload": "hello world",
        "method": "PULL",
        "tag": "",
        "retry_count": 0,
        "eta_usec": 0,  # Add returns the task as given: Go leaves ETA unset
    }
    assert brief(d["added_multi"]) == [("named", "second", "", 0), ("task2", "third", "batch", 0)]
    assert brief(d["leased"]) == [
        ("task1", "hello world", "", 1),
        ("named", "second", "", 1),
        ("task2", "third", "batch", 1),
    ]
    assert_leased(d["leased"], d["lease_window"], 3600)
    assert len({t["eta_usec"] for t in d["leased"]}) == 1  # one lease, one expiry
    assert d["leased_again"] == []
    assert d["delete"] is None
    assert d["stats"] == [stats(tasks=0, executed=3)]


def check_lease_by_tag(d: Json) -> None:
    assert brief(d["oldest_untagged_window"]) == [("u1", "u1", "", 1)]
    assert brief(d["tag_A"]) == [("a1", "a1", "A", 1), ("a2", "a2", "A", 1)]
    assert brief(d["untagged_again"]) == [("u2", "u2", "", 1)]
    assert brief(d["oldest_tag"]) == [("b1", "b1", "B", 1)]
    assert d["nothing_left"] == d["unknown_tag"] == d["plain_lease"] == []


def check_modify_lease(d: Json) -> None:
    leased = d["leased"]
    assert brief([leased]) == [("job", "work", "", 1)]
    assert d["extend"] is None
    assert_leased([d["extended"]], d["extend_window"], 120)
    assert d["extend_again"] is None
    assert d["stale_token"] == api_error(
        ErrorCode.TASK_LEASE_EXPIRED,
        f"task 'job' is not leased with ETA {leased['eta_usec']} (its lease changed)",
    )
    assert d["negative_lease"] == api_error(
        ErrorCode.INVALID_REQUEST, "lease_seconds must not be negative"
    )
    assert d["unknown_task"] == api_error(
        ErrorCode.UNKNOWN_TASK, "task 'never-added' does not exist"
    )
    assert d["release"] is None
    assert brief(d["leased_again"]) == [("job", "work", "", 2)]


def check_lease_expiry(d: Json) -> None:
    [first] = d["leased"]
    assert d["modify_expired"] == api_error(
        ErrorCode.TASK_LEASE_EXPIRED, "the lease on task 'short' has expired"
    )
    assert brief(d["leased_again"]) == [("short", "work", "", 2)]
    assert d["old_holder"] == api_error(
        ErrorCode.TASK_LEASE_EXPIRED,
        f"task 'short' is not leased with ETA {first['eta_usec']} (its lease changed)",
    )
    assert d["new_holder"] is None


def check_unknown_queue(d: Json) -> None:
    whole_call = api_error(ErrorCode.UNKNOWN_QUEUE, UNKNOWN)
    per_task = api_error(ErrorCode.UNKNOWN_QUEUE)  # per-task results carry no detail
    for key in ("add", "lease", "lease_by_tag", "modify_lease", "purge"):
        assert d[key] == whole_call, key
    assert d["add_multi"] == d["delete_multi"] == multi(per_task, per_task)
    assert d["delete"] == per_task
    assert d["stats_error"] is None
    assert d["stats"] == [stats()]
    assert d["add_invalid_queue_name"] == api_error(
        ErrorCode.INVALID_QUEUE_NAME,
        "invalid queue name 'bad_queue_name': must match [A-Za-z0-9-]{1,499}",
    )


def check_push_queue(d: Json) -> None:
    mode = ErrorCode.INVALID_QUEUE_MODE
    assert d["lease_default"] == d["lease_by_tag_default"] == api_error(mode, DEFAULT_IS_PUSH)
    assert d["modify_lease_default"] == api_error(mode, DEFAULT_IS_PUSH)
    assert d["add_pull_to_default"] == api_error(
        mode, "queue 'default' is a push queue; pull tasks cannot be added to it"
    )
    assert d["add_push_to_pull_queue"] == api_error(
        mode, "queue 'pull-queue' is a pull queue; push tasks cannot be added to it"
    )
    added = d["push_added"]
    assert re.fullmatch(r"task\d+", added["name"]), added
    assert (added["method"], added["payload"]) == ("POST", "key=value")
    [default] = d["stats_default"]
    assert default["oldest_eta_usec"] > 0
    assert default == stats(tasks=1, oldest=default["oldest_eta_usec"], rate=5.0)


def check_names(d: Json) -> None:
    assert d["add_duplicate"] == ALREADY_ADDED
    assert d["add_multi_duplicate"] == multi(None, ALREADY_ADDED)
    assert d["add_multi_twins"] == multi(None, ALREADY_ADDED)
    assert d["delete"] is None
    assert d["add_tombstoned"] == ALREADY_ADDED
    assert d["add_multi_tombstoned"] == multi(ALREADY_ADDED)
    tombstoned = api_error(ErrorCode.TOMBSTONED_TASK)
    assert d["delete_again"] == tombstoned  # Python's SDK ignores this code; Go reports it
    assert d["delete_multi"] == multi(tombstoned, api_error(ErrorCode.UNKNOWN_TASK), None)
    assert d["modify_tombstoned"] == api_error(
        ErrorCode.TOMBSTONED_TASK, "task 'gone' has been deleted"
    )


def check_retry_limit(d: Json) -> None:
    rounds = [[(t["name"], t["retry_count"]) for t in tasks] for tasks in d["rounds"]]
    unlimited = ["age-limit", "empty-options"]
    assert rounds == [
        [("queue-limit", 1), ("task-limit-3", 1), ("age-limit", 1), ("empty-options", 1)],
        [("age-limit", 2), ("empty-options", 2), ("queue-limit", 2), ("task-limit-3", 2)],
        [("age-limit", 3), ("empty-options", 3), ("task-limit-3", 3)],  # queue-limit deleted
        [(name, 4) for name in unlimited],  # task-limit-3 deleted
        [(name, 5) for name in unlimited],
    ]
    assert d["add_deleted_name"] == ALREADY_ADDED  # the deleted task's name is tombstoned
    last_lease = d["rounds"][-1][0]["eta_usec"]
    assert d["stats"] == [stats(tasks=2, oldest=last_lease, executed=15)]


def moved_onto_the_emulators_clock(go_eta_usec: int, stored_eta_usec: int, d: Json) -> bool:
    """Go stamps ETAs on its own clock; the emulator's clock runs ``ahead_usec`` ahead (earlier
    scenarios advanced it), and the emulator moves Go's ETAs by exactly that much (``ahead``
    is Go's own measurement, good to a few milliseconds)."""
    return bool(abs(stored_eta_usec - (go_eta_usec + d["ahead_usec"])) < SEC // 10)


def check_stats(d: Json) -> None:
    s1, s2, s3 = d["added"]
    assert [s1["name"], s2["name"], s3["name"]] == ["s1", "s2", "s3"]
    assert s2["eta_usec"] - s1["eta_usec"] == 30 * SEC
    assert s3["eta_usec"] == 0  # a Delay leaves ETA unset
    assert brief(d["leased"]) == [("s1", "1", "", 1)]
    oldest = d["stats"][0]["oldest_eta_usec"]
    assert moved_onto_the_emulators_clock(s2["eta_usec"], oldest, d)
    assert d["stats"] == [
        stats(tasks=3, oldest=oldest, executed=1, in_flight=1),
        stats(),  # an unknown queue is no error
    ]
    assert d["stats_after_a_minute"] == [stats(tasks=3, oldest=oldest)]


def check_purge(d: Json) -> None:
    assert d["purge"] is None
    assert d["stats_after_purge"] == [stats(executed=1)]
    assert d["leased_after_purge"] == []
    assert d["add_purged_name"] == ALREADY_ADDED
    assert d["add_new_name"] is None


def check_eta_and_delay(d: Json) -> None:
    oldest = d["stats"][0]["oldest_eta_usec"]
    assert moved_onto_the_emulators_clock(d["eta_usec"], oldest, d)
    assert d["stats"] == [stats(tasks=2, oldest=oldest)]
    assert d["leased_now"] == []
    assert brief(d["leased_after_1h"]) == [("at-eta", "eta", "", 1)]
    assert d["delete"] is None
    assert brief(d["leased_after_2h"]) == [("delayed", "delay", "", 1)]


def check_limits(d: Json) -> None:
    bad = ErrorCode.INVALID_REQUEST
    assert d["lease_1001_tasks"] == api_error(bad, "max_tasks must not be greater than 1000")
    assert d["lease_0_tasks"] == api_error(bad, "max_tasks must be positive")
    assert d["lease_8_days"] == api_error(
        bad, "lease_seconds must not be greater than 604800 seconds"
    )
    assert d["lease_negative"] == api_error(bad, "lease_seconds must not be negative")
    assert d["bad_task_name"] == api_error(ErrorCode.INVALID_TASK_NAME, "invalid task name 'a.b'")
    assert d["tag_too_long"] == api_error(
        ErrorCode.INVALID_TAG, "tag must be at most 500 characters"
    )
    assert d["payload_too_large"] == api_error(
        ErrorCode.TASK_TOO_LARGE, "task size must be at most 1048576 bytes; found 1048608"
    )
    assert d["eta_too_far"] == api_error(
        ErrorCode.INVALID_ETA, "ETA must not be negative or more than 30 days ahead"
    )
    assert d["add_101_tasks"] == api_error(
        ErrorCode.TOO_MANY_TASKS, "at most 100 tasks can be added at once; got 101"
    )
    assert d["stats"] == [stats()]


def check_other_service(d: Json) -> None:
    detail = (
        "the emulator does not serve the 'memcache' service (call memcache.Get); "
        "it serves taskqueue and logservice"
    )
    assert d["memcache_get"] == {
        "type": "CallError",
        "code": 1,  # CALL_NOT_FOUND
        "detail": detail,
        "message": f"Call error 1: {detail}",
    }


def injected(call: str, error: str, more: str = "") -> str:
    """The detail of a fault armed with ``fail_next``, as the emulator words it."""
    return f"injected fault: {call} on queue 'fault-queue' fails with {error} (fail_next{more})"


def deadline(detail: str) -> Json:
    """A deadline the emulator answered (``rpc_error`` DEADLINE_EXCEEDED): a timeout."""
    return {
        "type": "CallError",
        "code": 12,  # remote_api RpcError DEADLINE_EXCEEDED
        "detail": detail,
        "message": f"Call error 12: {detail} (timeout)",
    }


def check_faults(d: Json) -> None:
    assert d["add"] == api_error(ErrorCode.TRANSIENT_ERROR, injected("add", "TRANSIENT_ERROR"))
    assert d["add_multi"] == deadline(injected("add", "DEADLINE_EXCEEDED"))
    assert d["lease"] == deadline(injected("lease", "DEADLINE_EXCEEDED", ", 1 more to come"))
    assert d["lease_by_tag"] == deadline(injected("lease", "DEADLINE_EXCEEDED"))
    assert [t["name"] for t in d["leased"]] == ["f1"]
    assert d["leased"][0]["retry_count"] == 1  # the failed leases did not count
    assert d["modify_lease"] == api_error(
        ErrorCode.TASK_LEASE_EXPIRED, injected("modify_lease", "TASK_LEASE_EXPIRED")
    )
    assert d["delete_multi"] == api_error(
        ErrorCode.TRANSIENT_ERROR, injected("delete", "TRANSIENT_ERROR")
    )
    assert d["purge"] == api_error(ErrorCode.INTERNAL_ERROR, injected("purge", "INTERNAL_ERROR"))
    assert d["stats_error"] == deadline(injected("stats", "DEADLINE_EXCEEDED"))
    timeouts = {k.removesuffix("_is_timeout"): v for k, v in d.items() if k.endswith("_timeout")}
    assert timeouts == {
        "add": False,
        "add_multi": True,
        "lease": True,
        "lease_by_tag": True,
        "modify_lease": False,
        "delete_multi": False,
        "purge": False,
        "stats_error": True,
    }
    [one] = d["stats"]
    assert (one["tasks"], one["executed_1minute"], one["in_flight"]) == (1, 1, 1)


CHECKS: dict[str, Callable[[Json], None]] = {
    "example": check_example,
    "lease_by_tag": check_lease_by_tag,
    "modify_lease": check_modify_lease,
    "lease_expiry": check_lease_expiry,
    "unknown_queue": check_unknown_queue,
    "push_queue": check_push_queue,
    "names": check_names,
    "retry_limit": check_retry_limit,
    "stats": check_stats,
    "purge": check_purge,
    "eta_and_delay": check_eta_and_delay,
    "limits": check_limits,
    "other_service": check_other_service,
    "faults": check_faults,
}


# -- the tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("context", CONTEXTS)
def test_every_scenario_ran_to_its_end(runs: dict[str, Run], context: str) -> None:
    results = runs[context].results
    assert list(results) == list(CHECKS)
    failed = {name: r["error"] for name, r in results.items() if not r["ok"]}
    assert failed == {}
    assert {r["context"] for r in results.values()} == {context}


@pytest.mark.parametrize("scenario", list(CHECKS))
@pytest.mark.parametrize("context", CONTEXTS)
def test_scenario(runs: dict[str, Run], context: str, scenario: str) -> None:
    result = runs[context].results[scenario]
    assert result["ok"], result["error"]
    CHECKS[scenario](result["details"])


@pytest.mark.parametrize("context", CONTEXTS)
def test_the_go_side_reports_no_error(runs: dict[str, Run], context: str) -> None:
    # Before logservice.Flush was served, every request printed
    # "internal.flushLog: Flush RPC: Call error 1: ..." here.
    assert runs[context].stderr == ""


def _stored(stored: dict[str, list[Json]], queue_name: str) -> list[tuple[str, str, int]]:
    return [(t["name"], t["state"], t["retry_count"]) for t in stored[queue_name]]


@pytest.mark.parametrize("context", CONTEXTS)
def test_what_the_emulator_stored(runs: dict[str, Run], context: str) -> None:
    stored = runs[context].stored
    assert stored["pull-queue"] == stored["limits-queue"] == []
    # Later scenarios moved the clock two hours on: those leases have expired.
    assert sorted(_stored(stored, "tag-queue")) == [
        (name, "ready", 1) for name in ["a1", "a2", "b1", "u1", "u2"]
    ]
    assert _stored(stored, "name-queue") == [("dup", "ready", 0), ("twin", "ready", 0)]
    assert [t["payload"] for t in stored["name-queue"]] == ["MQ==", "NQ=="]  # "1", "5": firsts
    assert _stored(stored, "purge-queue") == [("p4", "ready", 0)]
    assert _stored(stored, "eta-queue") == [("delayed", "leased", 1)]
    assert _stored(stored, "fault-queue") == [("f1", "leased", 1)]  # no failed call did a thing
    # Go sends RetryOptions with pull tasks; they are stored as sent.
    retry = {t["name"]: (t["retry_count"], t["retry_options"]) for t in stored["retry-queue"]}
    assert retry == {
        "age-limit": (5, {"task_retry_limit": 1, "task_age_limit": 3600}),
        "empty-options": (5, {}),
    }
    [push] = stored["default"]
    assert (push["mode"], push["method"], push["url"], push["payload"]) == (
        "push",
        "POST",
        "/work",
        "a2V5PXZhbHVl",  # key=value
    )
    assert sorted(push["headers"]) == [
        ["Content-Type", "application/x-www-form-urlencoded"],
        ["X-Appengine-Current-Namespace", ""],
    ]


LOG_LINE_RE = re.compile(
    r"^\S+ \S+ (?P<level>[A-Z]+) emulator\.app_log: (?P<at>\S+) go-log-check (?P<text>.*)$"
)


def test_app_log_lines_reach_the_emulators_log(runs: dict[str, Run]) -> None:
    assert runs["request"].log_request is not None
    before, after, log = runs["request"].log_request
    lines = [m.groupdict() for m in map(LOG_LINE_RE.match, log.splitlines()) if m]
    assert [(m["level"], m["text"]) for m in lines] == [
        ("DEBUG", "debug line"),
        ("INFO", "info line: 3 tasks"),
        ("WARNING", "warning line"),
        ("ERROR", "error line"),
        ("CRITICAL", "critical line"),
        ("INFO", "bytes \ufffdx"),
    ]
    for line in lines:  # the app's own timestamps, taken during the /log request
        assert before <= _usec(line["at"]) <= after, (line, before, after)


def _usec(rfc3339: str) -> int:
    """Microseconds since the epoch of ``2026-01-01T00:00:00.000001Z``."""
    assert rfc3339.endswith("Z"), rfc3339
    moment = datetime.datetime.fromisoformat(rfc3339[:-1] + "+00:00")
    return (moment - EPOCH) // datetime.timedelta(microseconds=1)


def test_without_the_runtime_variables_the_go_package_cannot_make_a_ticket(
    go_binary: Path, emulator: Emulator
) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "API_HOST": emulator.host}
    env["API_PORT"] = str(emulator.port)
    env["HTTP_PROXY"] = f"http://127.0.0.1:{_free_port()}"  # no metadata server, anywhere
    done = subprocess.run(
        [str(go_binary), "-mode", "background", "-only", "example"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 2  # a Go panic
    assert "Metadata fetch failed for 'instance/attributes/gae_project'" in done.stderr
    assert done.stdout == ""


# -- the program of docs/GO.md ---------------------------------------------------------------------


def _doc_program() -> str:
    """The first Go code block of docs/GO.md."""
    text = (REPO / "docs" / "GO.md").read_text(encoding="utf-8")
    match = re.search(r"^```go\n(.*?)^```$", text, re.S | re.M)
    assert match, "docs/GO.md has no Go program"
    return match.group(1)


def test_the_program_in_docs_go_md_works(
    go_binary: Path, emulator: Emulator, tmp_path: Path
) -> None:
    source = tmp_path / "gopath" / "src" / "app" / "main.go"
    source.parent.mkdir(parents=True)
    source.write_text(_doc_program(), encoding="utf-8")
    app = go_support.build(tmp_path, package="app", gopath_root=tmp_path / "gopath")
    emulator.json("POST", "/_emulator/reset")

    def worker() -> str:
        done = subprocess.run(
            [str(app), "worker"],
            env=app_env(emulator),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert (done.returncode, done.stderr) == (0, ""), done
        return done.stdout

    port = _free_port()
    with (tmp_path / "app.stderr").open("w") as stderr:
        proc = subprocess.Popen(
            [str(app)], env=app_env(emulator, PORT=str(port)), stdout=stderr, stderr=stderr
        )
    try:
        _wait_for(f"http://127.0.0.1:{port}/_ah/health", proc)
        answers = [_http("GET", f"http://127.0.0.1:{port}/add?msg={m}") for m in ("hi", "yo")]
    finally:
        proc.terminate()
        proc.wait(timeout=TIMEOUT)
    assert answers == [(200, b"added task1\n"), (200, b"added task2\n")]
    assert (tmp_path / "app.stderr").read_text() == ""
    assert worker() == (
        'handled task1 (tag "greetings"): hi\nhandled task2 (tag "greetings"): yo\n'
    )
    assert worker() == "no tasks\n"
    assert emulator.tasks("pull-queue") == []
    logged = re.findall(r" INFO emulator\.app_log: \S+ (added task\d)$", emulator.log(), re.M)
    assert logged[-2:] == ["added task1", "added task2"]


# -- an emulator with --auth-token ---------------------------------------------------------------

TOKEN = "go-token-7"


@pytest.fixture
def token_emulator(tmp_path: Path) -> Iterator[Emulator]:
    """An emulator that requires ``TOKEN`` (no test control)."""
    log_path = tmp_path / "emulator.log"
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    args = ["--port", "0", "--storage", ":memory:", "--queue-yaml", str(QUEUE_YAML)]
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "emulator", *args, "--auth-token", TOKEN],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        assert proc.stdout is not None
        match = BANNER_RE.search(_lines(proc.stdout).get(timeout=TIMEOUT) or "")
        assert match, log_path.read_text()
        yield Emulator(proc, match.group(1), int(match.group(2)), log_path)
    finally:
        proc.terminate()
        proc.wait(timeout=TIMEOUT)


@pytest.mark.e2e
def test_a_request_context_passes_the_token_as_its_api_ticket(
    go_binary: Path, token_emulator: Emulator, tmp_path: Path
) -> None:
    """Go cannot add headers to its API calls, but a request context sends the incoming
    request's ``X-AppEngine-API-Ticket`` as the security ticket: the token goes there."""
    port = _free_port()
    proc = subprocess.Popen(
        [str(go_binary), "-mode", "serve"],
        env=app_env(token_emulator, PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/_ah/health", proc)

        def purge_result(headers: dict[str, str]) -> Json:
            request = urllib.request.Request(f"{base}/run?only=purge", headers=headers)
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                result: Json = json.loads(response.read())
                return result

        refused = purge_result({})
        assert not refused["ok"] and "PERMISSION_DENIED" in refused["error"], refused
        allowed = purge_result({"X-AppEngine-API-Ticket": TOKEN})
        assert allowed["ok"], allowed["error"]
        check_purge(allowed["details"])
    finally:
        proc.terminate()
        proc.wait(timeout=TIMEOUT)
