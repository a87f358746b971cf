"""Small versions of the reliability runs (bench/reliability; the full ones are in
docs/RELIABILITY.md): exclusivity in its three modes, one kill -9 round, a short soak."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.reliability import cli, crash, exclusivity, soak
from bench.reliability.events import ADDED, DELETED, LEASED


@pytest.mark.e2e
@pytest.mark.parametrize("mode", exclusivity.MODES)
def test_leases_stay_exclusive_under_concurrent_workers(mode: str, tmp_path: Path) -> None:
    # Given a producer and two consumer processes that extend, release, abandon and delete
    plan = exclusivity.Plan(mode=mode, tasks=300, consumers=2, lease_seconds=1.0, timeout_s=300)
    # When they work through every task
    outcome = exclusivity.run(plan, str(tmp_path))
    # Then every history is well formed, leases never overlap, nothing is lost or deleted twice
    assert outcome.report.ok, outcome.report.violations[:5]
    assert outcome.report.tasks == 300
    assert outcome.report.counts[ADDED] == outcome.report.counts[DELETED] == 300
    assert outcome.report.counts[LEASED] >= 300
    assert {w["worker"] for w in outcome.workers} == {"producer", "w0", "w1"}


@pytest.mark.e2e
def test_kill_9_loses_no_acknowledged_add_and_resurrects_no_delete(tmp_path: Path) -> None:
    # Given adds, then deletes, each streamed until the server is killed with SIGKILL
    result = crash.run_round(str(tmp_path), 0, tasks=600, kill_after=150)
    # Then after each restart the acknowledged adds are there, the deletes and tombstones hold
    assert result.adds_acked >= 150
    assert result.deletes_acked >= 75
    assert result.problems == []


@pytest.mark.e2e
def test_the_crash_command_reports_its_rounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--root", str(tmp_path), "crash", "--rounds", "1", "--tasks", "300"]
    assert cli.main([*argv, "--kill-after", "60"]) == 0
    assert "round 0: " in capsys.readouterr().out


@pytest.mark.e2e
def test_a_short_soak_with_faults_drains_and_samples(tmp_path: Path) -> None:
    # Given a few seconds of mixed load with injected faults
    faults = "lease=TRANSIENT_ERROR:0.05,delete=DEADLINE_EXCEEDED:0.02"
    result = soak.run(
        str(tmp_path), seconds=3, workers_count=2, faults=faults, idle_seconds=1, sample_seconds=0.2
    )
    # Then the load ran, faults were met and tolerated, the queue drained, and both were sampled
    totals: dict[str, int] = {}
    for counts in result.workers:
        for key, value in counts.items():
            if isinstance(value, int):
                totals[key] = totals.get(key, 0) + value
    assert totals["added"] > 0
    assert totals["deleted"] > 0
    assert any(key.startswith("error:") for key in totals)
    assert result.final_tasks == 0
    assert {s.phase for s in result.samples} >= {soak.LOAD, soak.IDLE}
    assert all(s.rss_mib > 0 and s.db_mib > 0 for s in result.samples)
    assert "slope" in result.summary()


def test_a_slope_is_mib_per_minute_of_the_phase() -> None:
    result = soak.SoakResult(
        samples=[
            soak.Sample(0.0, soak.IDLE, 10.0, 1.0),
            soak.Sample(30.0, soak.IDLE, 11.0, 1.0),
            soak.Sample(60.0, soak.IDLE, 12.0, 1.0),
            soak.Sample(0.0, soak.LOAD, 5.0, 1.0),
        ]
    )
    assert result.slope(soak.IDLE, "rss_mib") == pytest.approx(2.0)
    assert result.slope(soak.IDLE, "db_mib") == pytest.approx(0.0)
    assert result.slope(soak.LOAD, "rss_mib") == 0.0  # one sample: no slope
    assert result.slope(soak.IDLE, "rss_mib", second_half=True) == pytest.approx(2.0)
