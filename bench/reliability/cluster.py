"""What every reliability run shares: the queue.yaml, emulator servers as subprocesses
(:class:`bench.targets.Server`), and worker processes (:mod:`bench.reliability.workers`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from bench import targets

QUEUE = "rely"
QUEUE_YAML = f"queue:\n- name: {QUEUE}\n  mode: pull\n"


def write_queue_yaml(root: str) -> str:
    """Write the runs' queue.yaml (one pull queue, ``rely``) into ``root``; return its path."""
    path = os.path.join(root, "queue.yaml")
    with open(path, "w") as f:
        f.write(QUEUE_YAML)
    return path


def start_servers(
    count: int, storage: str, queue_yaml: str, extra: Sequence[str] = ()
) -> list[targets.Server]:
    """``count`` emulators on one SQLite file ``storage`` (each ready when returned)."""
    servers: list[targets.Server] = []
    try:
        for _ in range(count):
            servers.append(targets.Server(storage, queue_yaml, extra))
    except BaseException:
        stop_servers(servers)
        raise
    return servers


def stop_servers(servers: Sequence[targets.Server]) -> None:
    for server in servers:
        server.stop()


def spawn(role: str, config: dict[str, Any]) -> subprocess.Popen[str]:
    """Start ``python -m bench.reliability.workers ROLE CONFIG`` (stdout piped)."""
    env = targets.python_env()
    env["HTTP_HOST"] = "localhost"  # Task.target's default, as on App Engine (no warning)
    return subprocess.Popen(
        [sys.executable, "-m", "bench.reliability.workers", role, json.dumps(config)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def collect(procs: Sequence[subprocess.Popen[str]], timeout_s: float) -> list[dict[str, Any]]:
    """Wait for every worker; return their counters. Raises RuntimeError naming the worker
    that failed or did not finish within ``timeout_s`` (all are killed then)."""
    results: list[dict[str, Any]] = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=timeout_s)
            if proc.returncode != 0:
                raise RuntimeError(f"worker {proc.args!r} exited {proc.returncode}")
            results.append(json.loads(out.strip().splitlines()[-1]))
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"a worker did not finish within {timeout_s} s") from exc
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return results
