"""Turn a run's result into a table with ratios, the issue's targets (met or missed), a
JSON file and a PNG chart of throughput against queue depth."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import targets as t

Result = dict[str, Any]


def _get(data: Any, *path: str) -> float | None:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return float(data) if isinstance(data, (int, float)) and not isinstance(data, bool) else None


def metric(result: Result, target: str, depth: int, *path: str) -> float | None:
    """One figure of ``target`` at ``depth`` (None if not measured)."""
    return _get(result.get("targets", {}), target, "depths", str(depth), *path)


def _floor(result: Result, kind: str = "post") -> float | None:
    return _get(result.get("targets", {}), t.FLOOR, "floor", kind, "calls_per_s")


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


# -- targets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    """One target of issue 10: ``value`` compared with ``threshold`` (``>=`` or ``<=``)."""

    name: str
    op: str
    threshold: float
    value: Callable[[Result], float | None]
    unit: str = "×"


def _vs_stub(target: str, *path: str) -> Callable[[Result], float | None]:
    def value(r: Result) -> float | None:
        ref = r["sizes"]["ref_depth"]
        return _ratio(metric(r, target, ref, *path), metric(r, t.STUB, ref, *path))

    return value


def _vs_floor(target: str, workload: str) -> Callable[[Result], float | None]:
    """Against the floor calls paired with the workload's (measured in the same seconds)
    where the run has them, else against the floor's own phase."""

    def value(r: Result) -> float | None:
        ref = r["sizes"]["ref_depth"]
        paired = metric(r, target, ref, workload, "paired_floor_calls_per_s")
        floor = paired if paired is not None else _floor(r)
        return _ratio(metric(r, target, ref, workload, "calls_per_s"), floor)

    return value


def _scaling(target: str) -> Callable[[Result], float | None]:
    return lambda r: metric(r, target, r["sizes"]["ref_depth"], "workers", "scaling")


def _deep_vs_shallow(target: str) -> Callable[[Result], float | None]:
    def value(r: Result) -> float | None:
        depths = r["sizes"]["depths"]
        deep = metric(r, target, max(depths), "lease_delete", "lease_p50_ms")
        return _ratio(deep, metric(r, target, min(depths), "lease_delete", "lease_p50_ms"))

    return value


def _rss(target: str) -> Callable[[Result], float | None]:
    return lambda r: metric(r, target, max(r["sizes"]["depths"]), "memory", "vmrss_mib")


def goals() -> list[Goal]:
    """The issue's targets (the SDK → ``/rpc_http`` lines are extra, for information)."""
    out = []
    for emb in (t.EMBEDDED_MEM, t.EMBEDDED_FILE):
        out += [
            Goal(f"{emb}: add(100) vs stub", ">=", 4, _vs_stub(emb, "add100", "items_per_s")),
            Goal(
                f"{emb}: lease+delete vs stub",
                ">=",
                5,
                _vs_stub(emb, "lease_delete", "tasks_per_s"),
            ),
            Goal(f"{emb}: single add vs stub", ">=", 2, _vs_stub(emb, "single_add", "calls_per_s")),
        ]
    for http in t.HTTP_TARGETS:
        out += [
            Goal(f"{http}: add(100) vs stub", ">=", 2, _vs_stub(http, "add100", "items_per_s")),
            Goal(
                f"{http}: lease+delete vs stub",
                ">=",
                3,
                _vs_stub(http, "lease_delete", "tasks_per_s"),
            ),
            Goal(
                f"{http}: lease_by_tag latency vs stub",
                "<=",
                0.5,
                _vs_stub(http, "lease_by_tag", "p50_ms"),
            ),
            Goal(f"{http}: single add vs floor", ">=", 0.7, _vs_floor(http, "single_add")),
            Goal(f"{http}: single lease vs floor", ">=", 0.7, _vs_floor(http, "single_lease")),
            Goal(f"{http}: single delete vs floor", ">=", 0.7, _vs_floor(http, "single_delete")),
            Goal(f"{http}: 4 workers vs 1", ">=", 1.5, _scaling(http)),
            Goal(f"{http}: lease latency deepest vs shallowest", "<=", 1.5, _deep_vs_shallow(http)),
        ]
    out += [
        Goal(
            f"{t.EMBEDDED_MEM}: lease latency deepest vs shallowest",
            "<=",
            1.5,
            _deep_vs_shallow(t.EMBEDDED_MEM),
        ),
        Goal(f"{t.HTTP_FILE}: server RSS at deepest queue", "<=", 250, _rss(t.HTTP_FILE), " MiB"),
        Goal(
            "server start-up to /healthz", "<=", 0.5, lambda r: _get(r, "startup", "median_s"), " s"
        ),
    ]
    return out


def evaluate(result: Result) -> list[dict[str, Any]]:
    """Each goal with its measured value and whether it is met (None: not measured)."""
    rows = []
    for goal in goals():
        value = goal.value(result)
        met = None
        if value is not None:
            met = value >= goal.threshold if goal.op == ">=" else value <= goal.threshold
        rows.append(
            {
                "goal": goal.name,
                "op": goal.op,
                "threshold": goal.threshold,
                "unit": goal.unit,
                "value": value,
                "met": met,
            }
        )
    return rows


# -- table -------------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 10_000:
        return f"{value / 1000:.1f}k"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _depth_label(depth: int) -> str:
    if depth >= 1_000_000 and depth % 1_000_000 == 0:
        return f"{depth // 1_000_000}M"
    if depth >= 1000 and depth % 1000 == 0:
        return f"{depth // 1000}k"
    return str(depth)


def _rows(result: Result) -> list[tuple[str, tuple[str, ...], int]]:
    """(label, metric path, depth) of each table row."""
    sizes = result["sizes"]
    rows: list[tuple[str, tuple[str, ...], int]] = []
    for depth in sizes["depths"]:
        d = _depth_label(depth)
        rows += [
            (f"add(100) tasks/s @{d}", ("add100", "items_per_s"), depth),
            (
                f"lease({sizes['lease_size']})+delete tasks/s @{d}",
                ("lease_delete", "tasks_per_s"),
                depth,
            ),
            (
                f"  lease({sizes['lease_size']}) p50 ms @{d}",
                ("lease_delete", "lease_p50_ms"),
                depth,
            ),
            (f"lease_by_tag({sizes['tag_size']}) p50 ms @{d}", ("lease_by_tag", "p50_ms"), depth),
        ]
    ref = sizes["ref_depth"]
    r = _depth_label(ref)
    for op in ("add", "lease", "delete"):
        rows += [
            (f"single {op} calls/s @{r}", (f"single_{op}", "calls_per_s"), ref),
            (f"  single {op} p50 ms", (f"single_{op}", "p50_ms"), ref),
            (f"  single {op} p99 ms", (f"single_{op}", "p99_ms"), ref),
        ]
    n = sizes["workers"]
    rows += [
        (
            f"1 worker tasks/s (lease {sizes['worker_batch']}+delete) @{r}",
            ("workers", "1", "tasks_per_s"),
            ref,
        ),
        (f"{n} workers tasks/s @{r}", ("workers", str(n), "tasks_per_s"), ref),
        (f"  {n} workers / 1", ("workers", "scaling"), ref),
    ]
    deep = max(sizes["depths"])
    dl = _depth_label(deep)
    rows += [
        (f"RSS MiB of task holder @{dl}", ("memory", "vmrss_mib"), deep),
        (f"  peak RSS MiB @{dl}", ("memory", "vmhwm_mib"), deep),
        (f"DB file MiB @{dl}", ("memory", "db_mib"), deep),
        (f"seed s @{dl} (stub: adds; ours: copy)", ("seed_s",), deep),
        (f"server start-up s @{dl}", ("startup_s",), deep),
        (f"GET /healthz calls/s @{r}", ("healthz", "calls_per_s"), ref),
    ]
    return rows


def render(result: Result) -> str:
    """The table (value and ratio to the stub per cell), the floor, and the goals."""
    queue_targets = [x for x in t.QUEUE_TARGETS if x in result["targets"]]
    lines = [
        "Ratios are this / Google's stub in the same run (for throughput higher is better, "
        "for latency, memory and time lower is better).",
        "",
    ]
    width = 44
    header = f"{'workload':{width}}" + "".join(f"{x:>22}" for x in queue_targets)
    lines += [header, "-" * len(header)]
    for label, path, depth in _rows(result):
        cells = []
        for target in queue_targets:
            value = metric(result, target, depth, *path)
            stub = metric(result, t.STUB, depth, *path)
            ratio = _ratio(value, stub) if target != t.STUB else None
            cell = _fmt(value) + (f" ({ratio:.2f}×)" if ratio is not None else "")
            cells.append(f"{cell:>22}")
        lines.append(f"{label:{width}}" + "".join(cells))
    floor_post, floor_get = _floor(result, "post"), _floor(result, "get")
    if floor_post is not None:
        lines += [
            "",
            f"floor (trivial route, same server stack, shim's keep-alive client): "
            f"POST {_fmt(floor_post)} calls/s (p50 "
            f"{_fmt(_get(result['targets'], t.FLOOR, 'floor', 'post', 'p50_ms'))} ms), "
            f"GET {_fmt(floor_get)} calls/s",
        ]
        ref = result["sizes"]["ref_depth"]
        for target in t.HTTP_TARGETS:
            parts = []
            for op in ("add", "lease", "delete"):
                value = metric(result, target, ref, f"single_{op}", "calls_per_s")
                ratio = _ratio(value, floor_post)
                if ratio is None:
                    continue
                text = f"single {op} {ratio:.2f}×"
                paired = metric(result, target, ref, f"single_{op}", "paired_floor_calls_per_s")
                if paired is not None:
                    text += f" (paired {_ratio(value, paired):.2f}× of {_fmt(paired)}/s)"
                parts.append(text)
            if parts:
                lines.append(f"  {target} vs floor: " + ", ".join(parts))
    startup = result.get("startup", {})
    if startup:
        lines.append(
            f"\nstart-up to /healthz on a new file: median {startup['median_s']:.3f} s "
            f"(min {startup['min_s']:.3f}, max {startup['max_s']:.3f})"
        )
    install = result.get("install", {})
    if install:
        stub, shim = install.get("stub", {}), install.get("shim", {})
        lines.append(
            "import + set-up + first add: "
            f"stub (testbed) {stub.get('total_s', 0):.3f} s, "
            f"shims.install() embedded {shim.get('total_s', 0):.3f} s "
            f"(install {shim.get('install_s', 0):.3f} s + first add "
            f"{shim.get('first_add_s', 0):.3f} s)"
        )
    lines += ["", "targets (issue 10):"]
    for row in result.get("evaluation", []):
        shown = "n/a" if row["value"] is None else f"{row['value']:.2f}{row['unit']}"
        mark = {True: "met", False: "MISSED", None: "not measured"}[row["met"]]
        lines.append(
            f"  {row['goal']:52} {row['op']} {row['threshold']:g}{row['unit']:5} "
            f"{shown:>10}  {mark}"
        )
    m = result["machine"]
    lines += [
        "",
        f"machine: {m['cores']} cores, {m['cpu_model']}, Python {m['python']}; load average "
        f"{m['loadavg_start'][0]:.2f} at start, {m.get('loadavg_end', [0])[0]:.2f} at end; "
        f"runs per figure: {result.get('repeat', 1)} (median)",
    ]
    return "\n".join(lines)


# -- files -------------------------------------------------------------------------------------


def write(result: Result, out_dir: str) -> list[str]:
    """Write ``result.json``, ``result.txt`` and ``throughput.png`` into ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    json_path = os.path.join(out_dir, "result.json")
    with open(json_path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    text_path = os.path.join(out_dir, "result.txt")
    with open(text_path, "w") as f:
        f.write(render(result) + "\n")
    png_path = os.path.join(out_dir, "throughput.png")
    chart(result, png_path)
    return [json_path, text_path, png_path]


def chart(result: Result, path: str) -> None:
    """Throughput (add, lease+delete) and lease_by_tag latency against queue depth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    depths = result["sizes"]["depths"]
    panels = [
        ("add(100): tasks/s", ("add100", "items_per_s")),
        (
            f"lease({result['sizes']['lease_size']})+delete: tasks/s",
            ("lease_delete", "tasks_per_s"),
        ),
        (
            f"lease_by_tag({result['sizes']['tag_size']}): p50 ms (lower is better)",
            ("lease_by_tag", "p50_ms"),
        ),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(15, 4.5))
    for ax, (title, metric_path) in zip(axes, panels, strict=True):
        for target in t.QUEUE_TARGETS:
            if target not in result["targets"]:
                continue
            points = [(d, metric(result, target, d, *metric_path)) for d in depths]
            xs = [d for d, v in points if v is not None]
            ys = [v for _, v in points if v is not None]
            if xs:
                ax.plot(xs, ys, marker="o", label=target)
        ax.set_xscale("log")
        ax.set_xlabel("queue depth (ready tasks)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    m = result["machine"]
    fig.suptitle(
        f"taskqueue emulator vs Google's testbed stub — {m['cores']} cores, "
        f"Python {m['python']}, {m['date']}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
