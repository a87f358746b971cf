"""``taskqueue-emulator``'s production flags as a real process: --lease-rate-limit,
--inject-faults (+ seed), --add-visibility-delay, --like-production, their
``TASKQUEUE_EMULATOR_*`` variables (checked like the flags, errors naming them), the banner,
and what a worker then sees over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import _env, _write_yaml, run_cli, running

pytestmark = pytest.mark.e2e

LEASE = {"lease_seconds": 60, "max_tasks": 1}


@pytest.mark.parametrize(
    ("args", "env", "mentions"),
    [
        (["--lease-rate-limit", "many"], {}, ["--lease-rate-limit", "not 'many'"]),
        (
            [],
            {"TASKQUEUE_EMULATOR_LEASE_RATE_LIMIT": "-3"},
            ["TASKQUEUE_EMULATOR_LEASE_RATE_LIMIT: must be a whole number", "not '-3'"],
        ),
        (["--add-visibility-delay", "-1"], {}, ["--add-visibility-delay", "from 0 to 2592000"]),
        (
            [],
            {"TASKQUEUE_EMULATOR_ADD_VISIBILITY_DELAY": "soon"},
            ["TASKQUEUE_EMULATOR_ADD_VISIBILITY_DELAY: must be a number of seconds"],
        ),
        (["--inject-faults", "lease=TRANSIENT_ERROR"], {}, ["--inject-faults", "call=ERROR:RATE"]),
        (
            [],
            {"TASKQUEUE_EMULATOR_INJECT_FAULTS": "lease=SLOW:0.1"},
            ["TASKQUEUE_EMULATOR_INJECT_FAULTS: 'lease=SLOW:0.1': error must be"],
        ),
        (["--inject-faults-seed", "x"], {}, ["--inject-faults-seed", "not 'x'"]),
        (
            [],
            {"TASKQUEUE_EMULATOR_LIKE_PRODUCTION": "maybe"},
            ["TASKQUEUE_EMULATOR_LIKE_PRODUCTION: must be one of"],
        ),
    ],
)
def test_bad_production_settings_exit_2_naming_the_flag_or_variable(
    tmp_path: Path, args: list[str], env: dict[str, str], mentions: list[str]
) -> None:
    result = run_cli(["--storage", ":memory:", *args], tmp_path, _env(**env))

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    for text in mentions:
        assert text in last, (text, last)


def test_like_production_is_in_the_banner_and_the_individual_flags_win(tmp_path: Path) -> None:
    args = ["--port", "0", "--storage", ":memory:", "--like-production"]
    with running([*args, "--inject-faults-seed", "5"], tmp_path) as server:
        assert server.line("lease rate limit:") == "lease rate limit: 10 per queue per second"
        assert server.line("add visibility delay:") == "add visibility delay: 1 s"
        assert server.line("injected faults:") == (
            "injected faults: lease=TRANSIENT_ERROR:0.02,lease=DEADLINE_EXCEEDED:0.01 (seed 5)"
        )
        assert server.stop() == 0

    overridden = [*args, "--lease-rate-limit", "0", "--add-visibility-delay", "3"]
    env = _env(TASKQUEUE_EMULATOR_INJECT_FAULTS="none")
    with running([*overridden, "--enable-test-control"], tmp_path, env) as server:
        assert server.line("add visibility delay:") == "add visibility delay: 3 s"
        assert not [line for line in server.banner if "lease rate limit" in line]
        assert server.ok("GET", "/_emulator/faults")["random"] == []
        assert server.stop() == 0


def test_a_chosen_seed_is_printed_so_a_run_can_be_replayed(tmp_path: Path) -> None:
    args = ["--port", "0", "--storage", ":memory:", "--inject-faults", "stats=INTERNAL_ERROR:0.5"]
    with running([*args, "--enable-test-control"], tmp_path) as server:
        line = server.line("injected faults:")
        seed = int(line.rpartition("(seed ")[2].rstrip(")"))
        assert server.ok("GET", "/_emulator/faults")["seed"] == seed
        assert server.stop() == 0


def test_the_variables_turn_the_behaviours_on_for_a_worker_over_http(tmp_path: Path) -> None:
    yaml_path = _write_yaml(tmp_path)
    env = _env(
        TASKQUEUE_EMULATOR_LEASE_RATE_LIMIT="2",
        TASKQUEUE_EMULATOR_ADD_VISIBILITY_DELAY="30",
        TASKQUEUE_EMULATOR_INJECT_FAULTS="purge=TRANSIENT_ERROR:1",
        TASKQUEUE_EMULATOR_INJECT_FAULTS_SEED="1",
    )
    args = ["--port", "0", "--storage", ":memory:", "--queue-yaml", str(yaml_path)]
    with running([*args, "--enable-test-control"], tmp_path, env) as server:
        server.ok("POST", "/_emulator/clock", {"now_usec": 1_000_000_000_000_000})
        added = server.ok("POST", "/v1/queues/pull-q/tasks", {"tasks": [{}, {}, {}]})
        assert {t["eta_usec"] for t in added["tasks"]} == {1_000_000_000_000_000 + 30_000_000}
        server.ok("POST", "/_emulator/clock", {"advance_seconds": 30})

        leases = [server.ok("POST", "/v1/queues/pull-q/lease", LEASE) for _ in range(3)]

        assert [len(lease["tasks"]) for lease in leases] == [1, 1, 0]
        stats = server.ok("GET", "/v1/queues/pull-q/stats")
        assert stats["rate_limited_leases_last_minute"] == 1
        status, body = server.call("POST", "/v1/queues/pull-q/purge")
        assert (status, body["error"]["code"]) == (503, "TRANSIENT_ERROR")
        assert server.stop() == 0
    log = server.stderr()
    assert "lease rate limit: 1 lease call(s) on queue 'pull-q' beyond 2 per second" in log
    assert "injected fault: purge on queue 'pull-q' fails with TRANSIENT_ERROR" in log
