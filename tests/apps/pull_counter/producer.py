"""Producer of the pull-counter app: adds tagged pull tasks, one per counter increment.

Legacy App Engine code (the shape of python-docs-samples' pull-counter ``CounterHandler``);
run it unmodified with ``python -m shims producer.py COUNT DONE_MARKER [KEY ...]``.
"""

import sys

from google.appengine.api import taskqueue


def main(argv: list[str]) -> None:
    count, done_marker, keys = int(argv[1]), argv[2], argv[3:] or ["a", "b", "c"]
    queue = taskqueue.Queue("pullq")
    for i in range(count):
        key = keys[i % len(keys)]
        queue.add(taskqueue.Task(payload=str(i), method="PULL", tag=key))
    with open(done_marker, "w") as marker:
        marker.write(str(count))


if __name__ == "__main__":
    main(sys.argv)
