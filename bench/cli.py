"""``python -m bench``: run every target side by side, print the table, write JSON and PNG.

    python -m bench                      # full sizes (depths 1k, 100k, 1M), ~10 minutes
    python -m bench --quick --out /tmp/b # tiny sizes, a few seconds (the smoke test)
    python -m bench --repeat 3           # each figure is the median of 3 interleaved runs

Benchmarks never fail a build: this prints and writes files, it asserts nothing on timing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from bench import report, targets
from bench.worker import spawn
from bench.workloads import Sizes

DEFAULT_OUT = os.path.join("bench", "results")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    doc = (__doc__ or "").splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m bench", description=doc)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="directory for result.json/.png")
    parser.add_argument("--repeat", type=int, default=1, help="runs per target (median)")
    parser.add_argument(
        "--targets",
        default=",".join(targets.ALL_TARGETS),
        help=f"comma-separated subset of {','.join(targets.ALL_TARGETS)}",
    )
    parser.add_argument("--depths", help="comma-separated queue depths (overrides the sizes)")
    parser.add_argument("--stub-max-depth", type=int, help="deepest queue seeded on the stub")
    parser.add_argument("--label", default="", help="a note stored in the JSON (e.g. a branch)")
    return parser.parse_args(argv)


def _sizes(args: argparse.Namespace) -> Sizes:
    sizes = Sizes.quick() if args.quick else Sizes()
    if args.depths:
        depths = tuple(int(d) for d in args.depths.split(","))
        ref = sizes.ref_depth if sizes.ref_depth in depths else depths[len(depths) // 2]
        sizes = dataclasses.replace(sizes, depths=depths, ref_depth=ref)
    if args.stub_max_depth is not None:
        sizes = dataclasses.replace(sizes, stub_max_depth=args.stub_max_depth)
    return sizes


def machine() -> dict[str, Any]:
    """Cores, CPU model, Python, library versions, load average (the run's context)."""
    from importlib import metadata

    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if "model name" in ln), "")
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for dist in ("flask", "werkzeug", "appengine-python-standard", "protobuf"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "loadavg_start": list(os.getloadavg()),
        "git": _git_head(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def _git_head() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=os.path.dirname(os.path.abspath(__file__)),
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def run_worker(role: str, config: dict[str, Any], log: str) -> dict[str, Any]:
    """Run one worker process to completion; its stderr goes to ``log``."""
    with open(log, "a") as err:
        proc = spawn(role, config, stdout=subprocess.PIPE, stderr=err)
        out, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker {role} {config.get('target', '')} failed; see {log}")
    return dict(json.loads(out.strip().splitlines()[-1]))


def median_merge(runs: Sequence[Any]) -> Any:
    """The element-wise median of equally shaped JSON values (numbers are medians)."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: median_merge([r[k] for r in runs if k in r]) for k in first}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return statistics.median(runs)
    return first


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    sizes = _sizes(args)
    chosen = [t for t in args.targets.split(",") if t]
    unknown = set(chosen) - set(targets.ALL_TARGETS)
    if unknown:
        print(f"unknown targets: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    log = os.path.join(os.path.abspath(args.out), "workers.log")
    open(log, "w").close()
    result: dict[str, Any] = {"label": args.label, "machine": machine(), "sizes": sizes.to_json()}
    with tempfile.TemporaryDirectory(prefix="taskqueue-bench-") as root:
        queue_yaml = os.path.join(root, "queue.yaml")
        with open(queue_yaml, "w") as f:
            f.write(targets.QUEUE_YAML)
        templates: dict[str, str] = {}
        seeding: dict[str, float] = {}
        if any(t in targets.FILE_TARGETS for t in chosen):
            for depth in sizes.depths:
                path = os.path.join(root, f"template-{depth}.sqlite3")
                seeding[str(depth)] = targets.seed_template(path, depth)
                templates[str(depth)] = path
        result["sqlite_seed_s"] = seeding
        config = {
            "sizes": sizes.to_json(),
            "root": root,
            "queue_yaml": queue_yaml,
            "templates": templates,
        }
        runs: dict[str, list[dict[str, Any]]] = {t: [] for t in chosen}
        for rep in range(args.repeat):
            for target in chosen:
                print(f"[{rep + 1}/{args.repeat}] {target} ...", file=sys.stderr, flush=True)
                runs[target].append(run_worker("suite", {**config, "target": target}, log))
        result["targets"] = {t: median_merge(r) for t, r in runs.items()}
        result["startup"] = _startup(root, queue_yaml, sizes.startup_runs)
        result["install"] = {
            kind: median_merge(
                [
                    run_worker("install", {"kind": kind, "queue_yaml": queue_yaml}, log)
                    for _ in range(sizes.install_runs)
                ]
            )
            for kind in ("stub", "shim")
        }
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    result["repeat"] = args.repeat
    result["evaluation"] = report.evaluate(result)
    print(report.render(result))
    paths = report.write(result, args.out)
    print("\nwrote " + ", ".join(paths))
    return 0


def _startup(root: str, queue_yaml: str, runs: int) -> dict[str, float]:
    """Seconds from spawning ``python -m emulator`` on a new file to ``/healthz`` → 200."""
    times = []
    for i in range(runs):
        db = os.path.join(root, f"startup-{i}.sqlite3")
        server = targets.Server(db, queue_yaml)
        times.append(server.startup_s)
        server.stop()
        targets.remove_db(db)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}
