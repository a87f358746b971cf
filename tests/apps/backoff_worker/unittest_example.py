# test_worker_unittest.py
import unittest

import shims

# Before worker.py imports google.appengine.api.taskqueue: the embedded emulator, with
# production's lease rate limit.
shims.install(queue_yaml="queue.yaml", lease_rate_limit=10)

import worker  # noqa: E402
from google.appengine.api import taskqueue  # noqa: E402

from shims import testing  # noqa: E402


class WorkerBackoffTest(unittest.TestCase):
    def setUp(self) -> None:
        testing.reset()  # no tasks, no faults, names from task1 again
        testing.set_clock(1_767_225_600_000_000)  # frozen: it moves when the worker sleeps

    def tearDown(self) -> None:
        testing.use_system_clock()

    def test_backs_off_and_handles_every_task_once(self) -> None:
        queue = taskqueue.Queue("pull-queue")
        queue.add([taskqueue.Task(payload=str(n), method="PULL") for n in range(15)])
        testing.fail_next("lease", "DeadlineExceededError")
        testing.fail_next("delete", "TransientError", count=2)
        handled: list[str] = []

        worker.work(
            "pull-queue",
            lambda task: handled.append(task.name),
            stop=lambda: len(handled) >= 15,
            sleep=testing.advance_clock,
            batch=1,
        )

        self.assertEqual(sorted(handled), sorted(f"task{n}" for n in range(1, 16)))
        self.assertEqual(testing.pending_faults(), [])
        self.assertEqual(testing.injected_faults()[("delete", "TRANSIENT_ERROR")], 2)
        self.assertGreater(testing.rate_limited_leases("pull-queue"), 0)
        self.assertEqual(taskqueue.QueueStatistics.fetch("pull-queue").tasks, 0)


if __name__ == "__main__":
    unittest.main()
