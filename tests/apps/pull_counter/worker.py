"""Worker of the pull-counter app: leases tasks by tag, counts them, deletes them.

Legacy App Engine code (the shape of python-docs-samples' pull-counter ``CounterWorker``:
``lease_tasks_by_tag(3600, 1000, deadline=60)``, retrying on ``TransientError`` and
``apiproxy_errors.DeadlineExceededError``, deleting the tasks after the work). It stops when
the producer's marker file exists and the queue is empty, and writes what it counted to a
JSON file. Run it unmodified with ``python -m shims worker.py OUT_JSON DONE_MARKER``.
"""

import json
import logging
import os
import sys
import time

from google.appengine.api import taskqueue
from google.appengine.runtime import apiproxy_errors


def update_counter(counts: dict[str, int], key: str, tasks: list[taskqueue.Task]) -> None:
    counts[key] = counts.get(key, 0) + len(tasks)


def main(argv: list[str]) -> None:
    out_path, done_marker = argv[1], argv[2]
    queue = taskqueue.Queue("pullq")
    counts: dict[str, int] = {}
    names: list[str] = []
    while True:
        try:
            tasks = queue.lease_tasks_by_tag(3600, 1000, deadline=60)
        except (taskqueue.TransientError, apiproxy_errors.DeadlineExceededError) as e:
            logging.exception(e)
            time.sleep(1)
            continue
        if tasks:
            key = tasks[0].tag
            try:
                update_counter(counts, key, tasks)
                names.extend(task.name for task in tasks)
            finally:
                queue.delete_tasks(tasks)
            continue
        if os.path.exists(done_marker) and queue.fetch_statistics().tasks == 0:
            break
        time.sleep(0.05)
    with open(out_path, "w") as out:
        json.dump({"counts": counts, "names": names}, out)


if __name__ == "__main__":
    main(sys.argv)
