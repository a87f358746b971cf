"""Where the time goes: ``python -m bench.profiling {embedded,server} WORKLOAD [options]``.

* ``embedded``: cProfile of the shim's embedded path in this process, plus the number of SQL
  statements per call (a trace callback on the store's connection);
* ``server``: ``py-spy record --gil`` of the ``python -m emulator`` subprocess while this
  process drives it through the shim (or Google's SDK with ``--sdk``); the samples of the
  thread holding the GIL are summed per function (self time) and per layer (inclusive:
  werkzeug, flask, json, store, core, faces). SQLite's C code counts as self time of the
  ``emulator/store`` frame that called it.

Workloads: ``add100``, ``lease_delete`` (lease 1000 + delete), ``lease_by_tag`` (100),
``single_add``, ``single_lease``, ``single_delete``. The queue holds ``--depth`` seeded tasks.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from bench import emulator_api, targets
from bench.workloads import LegacyQueue, past_eta

WORKLOADS = (
    "add100",
    "lease_delete",
    "lease_by_tag",
    "single_add",
    "single_lease",
    "single_delete",
)


def workload(q: LegacyQueue, name: str, calls: int) -> Callable[[], int]:
    """A function running ``calls`` calls of workload ``name``; returns the calls made."""
    if name == "add100":
        batches = [q.tasks(100) for _ in range(calls)]
        return lambda: sum(1 for b in batches if q.queue.add(b) is not None)
    if name == "lease_delete":
        q.add(1000 * calls, eta=past_eta(3))

        def lease_delete() -> int:
            for _ in range(calls):
                q.delete(q.lease(1000))
            return 2 * calls

        return lease_delete
    if name == "lease_by_tag":
        return lambda: sum(1 for _ in range(calls) if q.lease_by_tag(100) is not None)
    if name == "single_add":
        tasks = [q.tasks(1)[0] for _ in range(calls)]
        return lambda: sum(1 for t in tasks if q.queue.add(t) is not None)
    if name == "single_lease":
        return lambda: sum(1 for _ in range(calls) if q.lease(1) is not None)
    if name == "single_delete":
        leased = q.lease(calls)

        def delete_each() -> int:
            for task in leased:
                q.delete([task])
            return len(leased)

        return delete_each
    raise ValueError(name)


def profile_embedded(args: argparse.Namespace, root: str, queue_yaml: str) -> None:
    storage = ":memory:"
    if args.storage == "file":
        storage = os.path.join(root, "embedded.sqlite3")
        targets.seed_template(storage, args.depth)
    tq = emulator_api.install_embedded(queue_yaml, storage)
    if args.storage != "file":
        emulator_api.seed_embedded(
            targets.QUEUE, args.depth, int(past_eta(2).timestamp() * 1e6), 10
        )
    q = LegacyQueue(tq, targets.QUEUE)
    q.delete(q.lease(1))
    statements: collections.Counter[str] = collections.Counter()
    sql_calls = workload(q, args.workload, 3)
    emulator_api.trace_sql(lambda sql: statements.update([_sql_kind(sql)]))
    counted = sql_calls()
    emulator_api.trace_sql(None)
    run = workload(q, args.workload, args.calls)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    calls = run()
    profiler.disable()
    elapsed = time.perf_counter() - start
    print(
        f"embedded ({args.storage}) {args.workload} x{calls} calls at depth {args.depth}: "
        f"{1000 * elapsed / calls:.3f} ms/call under cProfile"
    )
    print(f"SQL statements per call ({sum(statements.values()) / counted:.1f} in all):")
    for kind, n in statements.most_common(12):
        print(f"  {n / counted:8.1f}  {kind}")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())
    if args.out:
        stats.dump_stats(args.out)


def _sql_kind(sql: str) -> str:
    """The statement with its literals replaced by ``?`` (one line, at most 100 characters)."""
    text = re.sub(r"'(?:[^']|'')*'|X'[0-9A-Fa-f]*'|\b\d+\b", "?", " ".join(sql.split()))
    return text if len(text) <= 100 else text[:97] + "..."


#: Each layer's files, as the start of a frame's path: py-spy writes a frame as
#: ``function (path:line)``, so ``(json/`` is the standard library's json and not
#: ``emulator/faces/json/`` or ``flask/json/``.
LAYERS = (
    ("emulator.store (includes SQLite's own time)", ("emulator/store/",)),
    ("emulator.core", ("emulator/core/",)),
    ("emulator.faces (codec, views)", ("emulator/faces/",)),
    ("json (stdlib)", ("json/",)),
    ("flask", ("flask/",)),
    ("werkzeug", ("werkzeug/",)),
    ("socketserver/http.server", ("socketserver.py", "http/server.py")),
    ("socket I/O", ("socket.py",)),
    ("threading", ("threading.py",)),
)


def profile_server(args: argparse.Namespace, root: str, queue_yaml: str) -> None:
    if shutil.which("py-spy") is None:
        sys.exit("py-spy is not installed (pip install py-spy)")
    db = os.path.join(root, "server.sqlite3")
    targets.seed_template(db, args.depth)
    server = targets.Server(db, queue_yaml)
    raw = os.path.join(root, "pyspy.txt")
    try:
        tq = (emulator_api.install_sdk if args.sdk else emulator_api.install_remote)(server.address)
        q = LegacyQueue(tq, targets.QUEUE)
        q.delete(q.lease(1))
        run = workload(q, args.workload, args.calls)
        spy = subprocess.Popen(
            [
                "py-spy",
                "record",
                "--pid",
                str(server.pid),
                "--rate",
                "1000",
                "--format",
                "raw",
                "--output",
                raw,
                "--threads",
                "--gil",
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # let py-spy attach
        start = time.perf_counter()
        calls = run()
        elapsed = time.perf_counter() - start
        spy.send_signal(2)
        spy.wait(timeout=60)
    finally:
        server.stop()
    via = "SDK -> /rpc_http" if args.sdk else "shim -> /v1"
    print(
        f"server ({via}) {args.workload} x{calls} calls at depth {args.depth}: "
        f"{1000 * elapsed / calls:.3f} ms/call (client wall time, py-spy attached)"
    )
    summarize_raw(raw, args.top)
    if args.out:
        shutil.copyfile(raw, args.out)


def summarize_raw(path: str, top: int) -> None:
    """Sum py-spy's collapsed stacks: busy samples per layer (inclusive) and per function."""
    self_time: collections.Counter[str] = collections.Counter()
    layers: collections.Counter[str] = collections.Counter()
    busy = 0
    with open(path) as f:
        for line in f:
            stack, _, count_text = line.rstrip().rpartition(" ")
            if not stack:
                continue
            count = int(count_text)
            frames = stack.split(";")
            leaf = frames[-1]
            if _idle(frames):
                continue
            busy += count
            self_time[leaf] += count
            for layer, needles in LAYERS:
                if any(any(f"({n}" in fr for n in needles) for fr in frames):
                    layers[layer] += count
    if not busy:
        print("no busy samples")
        return
    print(f"{busy} samples of the thread holding the GIL (py-spy --gil)")
    print("inclusive share per layer:")
    for layer, _ in LAYERS:
        print(f"  {100 * layers[layer] / busy:5.1f}%  {layer}")
    print("self time per function:")
    for leaf, n in self_time.most_common(top):
        print(f"  {100 * n / busy:5.1f}%  {leaf}")


def _idle(frames: list[str]) -> bool:
    leaf = frames[-1]
    idle = (
        "select (selectors.py",
        "poll (selectors.py",
        "wait (threading.py",
        "readinto (socket.py",
        "accept (socket.py",
        "_wait_for_tstate_lock",
        "readline",
    )
    if any(leaf.startswith(i) for i in idle):
        return True
    # a request thread blocked reading the next request line of a keep-alive connection
    return "handle_one_request" in leaf or ("readline" in leaf and "parse_request" not in leaf)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling")
    parser.add_argument("mode", choices=("embedded", "server"))
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--depth", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--storage", choices=("memory", "file"), default="memory")
    parser.add_argument("--sdk", action="store_true", help="server: Google's SDK via /rpc_http")
    parser.add_argument("--sort", default="tottime", help="embedded: pstats sort key")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", help="save the .prof (embedded) or raw py-spy stacks (server)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="taskqueue-profile-") as root:
        queue_yaml = os.path.join(root, "queue.yaml")
        with open(queue_yaml, "w") as f:
            f.write(targets.QUEUE_YAML)
        if args.mode == "embedded":
            profile_embedded(args, root, queue_yaml)
        else:
            profile_server(args, root, queue_yaml)


if __name__ == "__main__":
    main()
