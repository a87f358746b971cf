"""Compare two runs: ``python -m bench.compare BEFORE/result.json AFTER/result.json``.

For each headline figure of each target it prints both values and after/before; then the
goals of issue 10 with both values. Use it to measure a candidate fix against a baseline
run made on the same machine just before or after (runs on a shared machine drift).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bench import report, targets

#: (label, metric path, True if higher is better)
HEADLINES = (
    ("add(100) tasks/s", ("add100", "items_per_s"), True),
    ("lease+delete tasks/s", ("lease_delete", "tasks_per_s"), True),
    ("lease p50 ms", ("lease_delete", "lease_p50_ms"), False),
    ("lease_by_tag p50 ms", ("lease_by_tag", "p50_ms"), False),
    ("single add calls/s", ("single_add", "calls_per_s"), True),
    ("single lease calls/s", ("single_lease", "calls_per_s"), True),
    ("single delete calls/s", ("single_delete", "calls_per_s"), True),
    ("1 worker tasks/s", ("workers", "1", "tasks_per_s"), True),
    ("4 workers / 1", ("workers", "scaling"), True),
)


def _load(path: str) -> dict[str, Any]:
    with open(path) as f:
        return dict(json.load(f))


def render(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The comparison table (``after / before``; > 1 is faster for throughput rows)."""
    lines = [
        f"before: {before.get('label') or '?'}   after: {after.get('label') or '?'}",
        "",
        f"{'target':14} {'figure':26} {'depth':>8} {'before':>10} {'after':>10} "
        f"{'after/before':>13}",
    ]
    depths = [d for d in before["sizes"]["depths"] if d in after["sizes"]["depths"]]
    ref = before["sizes"]["ref_depth"]
    for target in (*targets.QUEUE_TARGETS,):
        for label, path, _higher in HEADLINES:
            shown = depths if path[0] in ("add100", "lease_delete", "lease_by_tag") else [ref]
            for depth in shown:
                a = report.metric(before, target, depth, *path)
                b = report.metric(after, target, depth, *path)
                if a is None and b is None:
                    continue
                ratio = f"{b / a:.2f}×" if a and b is not None else "-"
                lines.append(
                    f"{target:14} {label:26} {depth:>8} {report._fmt(a):>10} "
                    f"{report._fmt(b):>10} {ratio:>13}"
                )
    fb = report._get(before.get("targets", {}), targets.FLOOR, "floor", "post", "calls_per_s")
    fa = report._get(after.get("targets", {}), targets.FLOOR, "floor", "post", "calls_per_s")
    if fb and fa:
        lines.append(
            f"{'floor':14} {'POST calls/s':26} {'':>8} {report._fmt(fb):>10} "
            f"{report._fmt(fa):>10} {fa / fb:>12.2f}×"
        )
    lines += ["", f"{'goal':52} {'before':>10} {'after':>10}"]
    goals_before = {g["goal"]: g for g in report.evaluate(before)}
    for goal in report.evaluate(after):
        old = goals_before.get(goal["goal"], {})
        lines.append(f"{goal['goal']:52} {_goal_value(old):>10} {_goal_value(goal):>10}")
    lines.append("(! = target missed)")
    return "\n".join(lines)


def _goal_value(goal: dict[str, Any]) -> str:
    if goal.get("value") is None:
        return "n/a"
    return f"{goal['value']:.2f}" + ("" if goal["met"] else "!")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("before")
    parser.add_argument("after")
    args = parser.parse_args(argv)
    print(render(_load(args.before), _load(args.after)))


if __name__ == "__main__":
    main()
