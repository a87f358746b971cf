"""The event log of an exclusivity run: one JSON object a line, one file per process.

Every event names a task and the worker that saw it. Times are integer microseconds of the
server's clock where the server told us (lease ETAs are the lease tokens, set by the server):

| kind       | ``eta_usec``                         | ``at_usec`` (when it took effect)       |
|------------|--------------------------------------|-----------------------------------------|
| ``ADDED``    | the task's ETA as stored               | the ETA (a task is leasable from then)   |
| ``LEASED``   | the lease token (its expiry)           | token - lease length (the server's now)  |
| ``EXTENDED`` | the new token; ``prev_eta_usec`` the old | new token - lease length               |
| ``RELEASED`` | the new token (= the server's now)     | the new token                            |
| ``DELETED``  | none                                 | the worker's clock after the reply     |

A DELETED time is an upper bound of the server's instant (one machine, one clock).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import IO

ADDED = "ADDED"
LEASED = "LEASED"
EXTENDED = "EXTENDED"
RELEASED = "RELEASED"
DELETED = "DELETED"
KINDS = (ADDED, LEASED, EXTENDED, RELEASED, DELETED)


@dataclass(frozen=True)
class Event:
    """One observed, acknowledged operation on one task (see the module's table)."""

    kind: str
    task: str
    worker: str
    at_usec: int
    eta_usec: int | None = None
    prev_eta_usec: int | None = None

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})

    @classmethod
    def from_json(cls, line: str) -> Event:
        """Parse one line; raises ValueError (naming the problem) on a malformed one."""
        data = json.loads(line)
        if not isinstance(data, dict) or data.get("kind") not in KINDS:
            raise ValueError(f"not an event: {line.strip()!r}")
        return cls(**data)


class EventLog:
    """Appends events to ``path`` (line-buffered: a killed worker loses at most one line)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: IO[str] = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115

    def write(self, event: Event) -> None:
        self._file.write(event.to_json() + "\n")

    def close(self) -> None:
        self._file.close()


def read_events(paths: Iterable[str]) -> Iterator[Event]:
    """Every event of the files ``paths``, file by file, in file order."""
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield Event.from_json(line)


def log_files(directory: str) -> list[str]:
    """The ``*.jsonl`` files of ``directory``, sorted by name."""
    return sorted(
        os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".jsonl")
    )
