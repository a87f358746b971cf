"""A smoke run of the benchmark harness on tiny sizes: it runs every target and workload and
writes a well-formed JSON result and a PNG chart. Timing is never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
QUEUE_TARGETS = ("stub", "embedded-mem", "embedded-file", "http-file", "sdk-rpc-file")
WORKLOADS = (
    "add100",
    "lease_delete",
    "lease_by_tag",
    "single_add",
    "single_lease",
    "single_delete",
    "memory",
)


@pytest.mark.e2e
def test_quick_run_writes_every_target_and_workload(tmp_path: Path) -> None:
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": pythonpath}
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "targets (issue 10):" in run.stdout

    result = json.loads((tmp_path / "result.json").read_text())
    depths = [str(d) for d in result["sizes"]["depths"]]
    ref = str(result["sizes"]["ref_depth"])
    for target in QUEUE_TARGETS:
        per_depth = result["targets"][target]["depths"]
        assert sorted(per_depth) == sorted(depths), target
        for depth in depths:
            for workload in WORKLOADS:
                assert workload in per_depth[depth], (target, depth, workload)
            assert per_depth[depth]["lease_delete"]["tasks"] > 0, (target, depth)
        workers = per_depth[ref]["workers"]
        assert workers["1"]["tasks"] > 0 and "scaling" in workers, target
    floor = result["targets"]["floor"]["floor"]
    assert floor["post"]["calls"] > 0 and floor["get"]["calls"] > 0
    # Over HTTP, each single call at the reference depth is paired with a floor call, and
    # the single-call targets are judged against those pairs, not against the floor's phase
    for target in ("http-file", "sdk-rpc-file"):
        for op in ("add", "lease", "delete"):
            single = result["targets"][target]["depths"][ref][f"single_{op}"]
            assert single["paired_floor_calls_per_s"] > 0, (target, op)
            [goal] = [
                g for g in result["evaluation"] if g["goal"] == f"{target}: single {op} vs floor"
            ]
            assert goal["value"] == pytest.approx(
                single["calls_per_s"] / single["paired_floor_calls_per_s"]
            )
    assert (
        "paired_floor_calls_per_s"
        not in result["targets"]["embedded-mem"]["depths"][ref]["single_add"]
    )
    assert result["startup"]["median_s"] > 0
    assert {"stub", "shim"} <= set(result["install"])
    goals = result["evaluation"]
    assert goals and all(g["value"] is not None for g in goals), goals

    png = (tmp_path / "throughput.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
