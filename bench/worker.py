"""Worker processes of the benchmark: ``python -m bench.worker ROLE CONFIG_JSON``.

Roles:

* ``suite``: open one target at every depth, run the workloads, print one JSON line;
* ``loop``: one concurrent pull worker (waits for ``go`` on stdin, prints one JSON line);
* ``floor-server``: serve the floor app, print its address, run until stdin closes;
* ``install``: time ``shims.install()`` (or testbed set-up) plus the first add.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench import emulator_api, targets
from bench.targets import QUEUE, Session
from bench.workloads import (
    PAYLOAD,
    LegacyQueue,
    Sizes,
    aggregate,
    run_suite,
    summary,
    timed,
    worker_loop,
)


def spawn(role: str, config: dict[str, Any], **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``python -m bench.worker role config``."""
    return subprocess.Popen(
        [sys.executable, "-m", "bench.worker", role, json.dumps(config)],
        env=targets.python_env(),
        text=True,
        **kwargs,
    )


def run_target(config: dict[str, Any]) -> dict[str, Any]:
    """The ``suite`` role: every workload at every depth for ``config["target"]``."""
    target: str = config["target"]
    sizes = Sizes.from_json(config["sizes"])
    if target == targets.FLOOR:
        return {"target": target, "floor": run_floor(sizes)}
    out: dict[str, Any] = {"target": target, "depths": {}}
    for depth in sizes.depths:
        if target == targets.STUB and depth > sizes.stub_max_depth:
            out["depths"][str(depth)] = {"skipped": f"stub seeded up to {sizes.stub_max_depth}"}
            continue
        template = config["templates"].get(str(depth))
        session = targets.open_session(
            target, depth, config["root"], config["queue_yaml"], template
        )
        try:
            entry: dict[str, Any] = {"seed_s": session.seed_s}
            if session.server is not None:
                entry["startup_s"] = session.server.startup_s
            with contextlib.ExitStack() as stack:
                floor = None
                if target in targets.HTTP_TARGETS and depth == sizes.ref_depth:
                    floor = stack.enter_context(floor_process())[0]
                entry.update(run_suite(session.queue, sizes, floor))
            entry["memory"] = session.memory()
            if session.server is not None:
                entry["healthz"] = _healthz(session.server.address, sizes.single_calls)
            if depth == sizes.ref_depth:
                entry["workers"] = run_workers(session, sizes, config["queue_yaml"])
            out["depths"][str(depth)] = entry
        finally:
            session.close()
    return out


def _healthz(address: str, calls: int) -> dict[str, float]:
    call = emulator_api.json_client(address)
    call("GET", "/healthz", None)
    return summary([timed(lambda: call("GET", "/healthz", None))[0] for _ in range(calls)])


def run_workers(session: Session, sizes: Sizes, queue_yaml: str) -> dict[str, Any]:
    """Aggregate lease+delete throughput of 1 worker, then of ``sizes.workers`` at once."""
    out: dict[str, Any] = {
        "mode": "processes" if session.target in targets.PROCESS_WORKER_TARGETS else "threads"
    }
    for n in (1, sizes.workers):
        if session.target in targets.PROCESS_WORKER_TARGETS:
            runs = _worker_processes(session, sizes, queue_yaml, n)
        else:
            runs = _worker_threads(session, sizes, n)
        out[str(n)] = aggregate(runs)
    single = out["1"]["tasks_per_s"]
    out["scaling"] = out[str(sizes.workers)]["tasks_per_s"] / single if single else 0.0
    return out


def _worker_threads(session: Session, sizes: Sizes, n: int) -> list[dict[str, float]]:
    tq = session.queue._tq
    barrier = threading.Barrier(n)
    results: list[dict[str, float]] = []

    def work() -> None:
        q = LegacyQueue(tq, QUEUE)
        barrier.wait()
        results.append(worker_loop(q, sizes.worker_cycles, sizes.worker_batch))

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _worker_processes(
    session: Session, sizes: Sizes, queue_yaml: str, n: int
) -> list[dict[str, float]]:
    config = {
        **session.worker_spec(queue_yaml),
        "cycles": sizes.worker_cycles,
        "batch": sizes.worker_batch,
    }
    procs = [spawn("loop", config, stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(n)]
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("a worker process failed to start")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def run_loop(config: dict[str, Any]) -> dict[str, float]:
    """The ``loop`` role: connect, warm up, say ready, wait for go, work."""
    tq = targets.connect(
        config["target"],
        address=config["address"],
        storage=config["storage"],
        queue_yaml=config["queue_yaml"],
    )
    q = LegacyQueue(tq, QUEUE)
    q.delete(q.lease(1))
    print("ready", flush=True)
    sys.stdin.readline()
    return worker_loop(q, config["cycles"], config["batch"])


def run_floor(sizes: Sizes) -> dict[str, Any]:
    """Single calls to the floor app in its own process, through the shim's client."""
    with floor_process() as (post_call, call):
        post = [timed(post_call)[0] for _ in range(sizes.single_calls)]
        get = [timed(lambda: call("GET", "/", None))[0] for _ in range(sizes.single_calls)]
        return {"post": summary(post), "get": summary(get)}


@contextlib.contextmanager
def floor_process() -> Iterator[tuple[Callable[[], Any], Callable[[str, str, Any], Any]]]:
    """The floor app in its own process: ``(post, call)``, ``post()`` its single-add-sized
    ``POST /`` (already made once) and ``call`` the shim's client bound to it."""
    proc = spawn("floor-server", {}, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        call = emulator_api.json_client(proc.stdout.readline().strip())
        body = {"tasks": [{"payload": base64.b64encode(PAYLOAD).decode(), "tag": "t1"}]}
        call("POST", "/", body)
        yield (lambda: call("POST", "/", body)), call
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)


def serve_floor() -> None:
    with emulator_api.floor_server() as address:
        print(address, flush=True)
        sys.stdin.read()


def run_install(config: dict[str, Any]) -> dict[str, float]:
    """The ``install`` role: import + install (or testbed set-up) + the first add."""
    start = time.perf_counter()
    if config["kind"] == "stub":
        from google.appengine.api import taskqueue  # type: ignore[import-untyped, unused-ignore]
        from google.appengine.ext import testbed  # type: ignore[import-untyped, unused-ignore]

        bed = testbed.Testbed()
        bed.activate()
        bed.init_taskqueue_stub(root_path=os.path.dirname(config["queue_yaml"]))
        tq: Any = taskqueue
    else:
        tq = emulator_api.install_embedded(config["queue_yaml"], ":memory:")
    ready = time.perf_counter()
    tq.Queue(QUEUE).add(tq.Task(payload=PAYLOAD, method="PULL"))
    done = time.perf_counter()
    return {"install_s": ready - start, "first_add_s": done - ready, "total_s": done - start}


def main(argv: list[str]) -> None:
    role = argv[0]
    config: dict[str, Any] = json.loads(argv[1]) if len(argv) > 1 else {}
    if role == "floor-server":
        serve_floor()
        return
    handlers = {"suite": run_target, "loop": run_loop, "install": run_install}
    print(json.dumps(handlers[role](config)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
