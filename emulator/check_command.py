"""``taskqueue-emulator check-cloud-tasks``: compare a queue.yaml with Cloud Tasks.

``--queue-yaml F --cloud-tasks-project P --cloud-tasks-location L [--cloud-tasks-endpoint E]``
(each also from its environment variable, as for the server). Prints the table of
:mod:`emulator.cloudtasks.check` and a summary line; exit status 0 when everything matches,
1 on a mismatch, 2 on bad usage (a missing or unusable setting, a bad queue.yaml, no
credentials), with one readable line on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Final

from emulator.config import ConfigError, load_queue_yaml
from emulator.domain.errors import TaskQueueError
from emulator.settings import (
    CLOUD_TASKS_TARGET,
    build_parser,
    cloud_tasks_target,
    resolve,
    rows,
)

CHECK_COMMAND: Final = "check-cloud-tasks"
_ROWS = rows("queue_yaml", *CLOUD_TASKS_TARGET)


def check_main(argv: Sequence[str]) -> int:
    """Run the check; return the exit status (0 match, 1 mismatch, 2 bad usage)."""
    parser = build_parser(
        _ROWS,
        prog=f"taskqueue-emulator {CHECK_COMMAND}",
        description="Compare a queue.yaml with the queues of a Cloud Tasks location (missing "
        "queues, push vs pull, retry and rate settings) and probe that the pull methods are "
        "allowed. Exit status 0: everything matches; 1: a mismatch; 2: bad usage.",
    )
    args = resolve(parser.parse_args(list(argv)), parser, _ROWS)
    if args.queue_yaml is None:
        parser.error("the queue.yaml to check is required: --queue-yaml PATH")
    target = cloud_tasks_target(args, parser)
    from emulator.cloudtasks.check import Checker, summary, table
    from emulator.cloudtasks.clients import connect

    try:
        config = load_queue_yaml(args.queue_yaml)
        clients = connect(target)
    except (ConfigError, TaskQueueError) as exc:
        print(f"taskqueue-emulator {CHECK_COMMAND}: error: {exc}", file=sys.stderr)
        return 2
    try:
        findings = Checker(clients, target).check(config)
    finally:
        clients.close()
    print(table(findings))
    print(summary(findings, target))
    return 0 if all(f.ok for f in findings) else 1
