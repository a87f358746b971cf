"""``python -m bench.reliability {exclusivity,crash,soak} [options]``: the full runs of
docs/RELIABILITY.md. Each prints one summary line per run and exits 1 if any check failed.
Files go to a fresh temporary directory (``--root`` to keep them)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence

from bench.reliability import crash, exclusivity, soak


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability", description=__doc__)
    parser.add_argument("--root", help="directory for databases and event logs")
    sub = parser.add_subparsers(dest="run", required=True)
    ex = sub.add_parser("exclusivity", help="lease exclusivity under load")
    ex.add_argument("--mode", choices=[*exclusivity.MODES, "all"], default="all")
    ex.add_argument("--tasks", type=int, default=10_000)
    ex.add_argument("--workers", type=int, default=4, help="consumer processes")
    ex.add_argument("--lease-seconds", type=float, default=2.0)
    cr = sub.add_parser("crash", help="kill -9 during adds and deletes")
    cr.add_argument("--rounds", type=int, default=3)
    cr.add_argument("--tasks", type=int, default=5_000, help="names offered per round")
    cr.add_argument("--kill-after", type=int, default=1_000, help="acknowledged adds")
    so = sub.add_parser("soak", help="mixed load, then drain; RSS and DB size slopes")
    so.add_argument("--minutes", type=float, default=10.0)
    so.add_argument("--idle-minutes", type=float, default=None, help="default: a third")
    so.add_argument("--workers", type=int, default=3)
    so.add_argument("--inject-faults", default=None, metavar="SPEC")
    so.add_argument("--sample-seconds", type=float, default=2.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    root = args.root or tempfile.mkdtemp(prefix="reliability-")
    os.makedirs(root, exist_ok=True)
    print(f"files under {root}", flush=True)
    if args.run == "exclusivity":
        return _exclusivity(args, root)
    if args.run == "crash":
        return _crash(args, root)
    return _soak(args, root)


def _exclusivity(args: argparse.Namespace, root: str) -> int:
    failed = 0
    modes = exclusivity.MODES if args.mode == "all" else (args.mode,)
    for mode in modes:
        plan = exclusivity.Plan(
            mode=mode, tasks=args.tasks, consumers=args.workers, lease_seconds=args.lease_seconds
        )
        outcome = exclusivity.run(plan, tempfile.mkdtemp(prefix=f"{mode}-", dir=root))
        print(outcome.summary(), flush=True)
        for violation in outcome.report.violations[:20]:
            print(f"  {violation.task}: {violation.rule}: {violation.detail}")
        failed += not outcome.report.ok
    return 1 if failed else 0


def _crash(args: argparse.Namespace, root: str) -> int:
    failed = 0
    for index in range(args.rounds):
        result = crash.run_round(root, index, args.tasks, args.kill_after)
        print(
            f"round {index}: {result.adds_acked} adds and {result.deletes_acked} deletes "
            f"acknowledged before kill -9; problems: {len(result.problems)}",
            flush=True,
        )
        for problem in result.problems[:20]:
            print(f"  {problem}")
        failed += bool(result.problems)
    return 1 if failed else 0


def _soak(args: argparse.Namespace, root: str) -> int:
    result = soak.run(
        root,
        seconds=args.minutes * 60,
        workers_count=args.workers,
        faults=args.inject_faults,
        idle_seconds=None if args.idle_minutes is None else args.idle_minutes * 60,
        sample_seconds=args.sample_seconds,
    )
    print(result.summary(), flush=True)
    return 0 if result.final_tasks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
