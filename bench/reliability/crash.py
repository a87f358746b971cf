"""Crash safety: ``kill -9`` the server (a subprocess on a SQLite file) while clients stream
adds, restart it on the same file and check that every acknowledged add is there; then the
same while clients stream deletes: no acknowledged delete comes back, and re-adding a deleted
name is refused with ``TOMBSTONED_TASK`` (the shim's ``TombstonedTaskError``).

The clients speak the JSON API (``/v1``) with the shim's own HTTP client, one task per
request, from ``streams`` threads; the server is killed once ``kill_after`` requests have
been acknowledged, with the others in flight. A request in flight at the kill may or may not
have taken effect; only acknowledged ones are checked (and every name never sent for deletion
must still be there).
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import emulator_api, targets
from bench.reliability import cluster

Call = Callable[[str, str, Any], tuple[int, Any]]
PAYLOAD = base64.b64encode(b"crash-safe").decode()


@dataclass
class Stream:
    """What a batch of streaming threads had acknowledged when the server died."""

    acked: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)
    kill_after: int = 0

    def ack(self, name: str) -> None:
        with self.lock:
            self.acked.append(name)
            if len(self.acked) >= self.kill_after:
                self.enough.set()


@dataclass
class RoundResult:
    """One round: how many adds and deletes were acknowledged, and the problems found."""

    adds_acked: int = 0
    deletes_acked: int = 0
    problems: list[str] = field(default_factory=list)


def _client(address: str) -> Call:
    return emulator_api.json_client(address)


def _add(call: Call, name: str) -> bool:
    status, _ = call("POST", f"/v1/queues/{cluster.QUEUE}/tasks", _new_task(name))
    return status == 200


def _new_task(name: str) -> dict[str, Any]:
    return {"tasks": [{"name": name, "payload": PAYLOAD, "mode": "pull"}]}


def _delete(call: Call, name: str) -> bool:
    status, _ = call("DELETE", f"/v1/queues/{cluster.QUEUE}/tasks/{name}", None)
    return status == 200


def _stream(address: str, names: list[str], op: Callable[[Call, str], bool], out: Stream) -> None:
    """Run ``op`` on each name in turn until the server goes away; record the acks."""
    try:
        call = _client(address)
        for name in names:
            if op(call, name):
                out.ack(name)
    except Exception:  # the server was killed: ConnectionFailed, a broken reply, ...
        return


def _kill_during(
    server: targets.Server,
    names: list[str],
    op: Callable[[Call, str], bool],
    streams: int,
    kill_after: int,
) -> list[str]:
    """Stream ``op`` over ``names`` from ``streams`` threads; ``kill -9`` the server once
    ``kill_after`` calls were acknowledged; return the acknowledged names."""
    out = Stream(kill_after=kill_after)
    threads = [
        threading.Thread(target=_stream, args=(server.address, names[i::streams], op, out))
        for i in range(streams)
    ]
    for thread in threads:
        thread.start()
    out.enough.wait(timeout=120)
    server.kill()
    for thread in threads:
        thread.join(timeout=60)
    return list(out.acked)


def run_round(root: str, index: int, tasks: int, kill_after: int, streams: int = 3) -> RoundResult:
    """One round on a fresh file under ``root``: kill during adds, restart, check; kill
    during deletes, restart, check."""
    queue_yaml = cluster.write_queue_yaml(root)
    db = os.path.join(root, f"crash-{index}.db")
    result = RoundResult()
    names = [f"r{index}-{i:06d}" for i in range(tasks)]
    added = _kill_during(targets.Server(db, queue_yaml), names, _add, streams, kill_after)
    result.adds_acked = len(added)
    server = targets.Server(db, queue_yaml)
    try:
        call = _client(server.address)
        result.problems += [f"acknowledged add {n} lost" for n in added if not _exists(call, n)]
    finally:
        server.stop()
    doomed = added[: len(added) * 3 // 4]
    deleted = _kill_during(
        targets.Server(db, queue_yaml), doomed, _delete, streams, kill_after // 2
    )
    result.deletes_acked = len(deleted)
    server = targets.Server(db, queue_yaml)
    try:
        result.problems += _check_deletes(_client(server.address), added, doomed, deleted)
    finally:
        server.stop()
    return result


def _exists(call: Call, name: str) -> bool:
    status, _ = call("GET", f"/v1/queues/{cluster.QUEUE}/tasks/{name}", None)
    return status == 200


def _check_deletes(
    call: Call, added: list[str], doomed: list[str], deleted: list[str]
) -> list[str]:
    problems: list[str] = []
    for name in deleted:
        if _exists(call, name):
            problems.append(f"acknowledged delete {name} came back")
        status, body = call("POST", f"/v1/queues/{cluster.QUEUE}/tasks", _new_task(name))
        if status == 200:
            codes = [t.get("code") for t in body.get("tasks", [])]
        else:
            codes = [body.get("error", {}).get("code")]
        if codes != ["TOMBSTONED_TASK"]:
            problems.append(f"re-adding deleted {name} gave {status} {codes}, not TOMBSTONED_TASK")
    untouched = set(added) - set(doomed)
    problems += [
        f"task {n}, never deleted, is gone" for n in sorted(untouched) if not _exists(call, n)
    ]
    return problems
