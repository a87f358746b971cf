"""Limits, patterns and user-visible messages, named as in Google's SDK.

The single home of every number the emulator enforces (legacy-taskqueue-api.md §3).
"""

from __future__ import annotations

import re
from typing import Final

MAX_QUEUE_NAME_LENGTH: Final = 100
MAX_TASK_NAME_LENGTH: Final = 500
MAX_PULL_TASK_SIZE_BYTES: Final = 2**20
MAX_PUSH_TASK_SIZE_BYTES: Final = 100 * 2**10
MAX_TASK_SIZE_BYTES: Final = MAX_PUSH_TASK_SIZE_BYTES
MAX_TRANSACTIONAL_REQUEST_SIZE_BYTES: Final = 2**20
MAX_TASKS_PER_ADD: Final = 100
MAX_TASKS_PER_LEASE: Final = 1000
MAX_LEASE_SECONDS: Final = 7 * 24 * 3600
MAX_TAG_LENGTH: Final = 500
MAX_URL_LENGTH: Final = 2083
MAX_ETA_SECONDS: Final = 30 * 24 * 3600
MAX_ETA_USEC: Final = MAX_ETA_SECONDS * 1_000_000
MAX_DISPATCH_DEADLINE_USEC: Final = 24 * 3600 * 1_000_000
MIN_DISPATCH_DEADLINE_USEC: Final = 15 * 1_000_000
#: The stub's ``MAX_REQUEST_SIZE``; also the largest HTTP body the emulator reads.
MAX_REQUEST_SIZE_BYTES: Final = 32 * 2**20
#: The storage location that keeps tasks in memory only (lost when the process ends).
MEMORY_STORAGE: Final = ":memory:"
#: The SDK's deadline for an API call made without one (``default_api_stub.DEFAULT_TIMEOUT``).
DEFAULT_API_DEADLINE_SECONDS: Final = 60.0
#: Largest page of the peek listing.
MAX_PEEK_PAGE_SIZE: Final = 1000
DEFAULT_PEEK_PAGE_SIZE: Final = 100

USEC_PER_SECOND: Final = 1_000_000
#: 9999-12-31T23:59:59.999999Z: the last instant RFC 3339 and protobuf Timestamps can name.
LATEST_TIMESTAMP_USEC: Final = 253_402_300_799_999_999
#: The latest a test may set the clock to: every ETA (at most 30 days ahead) and every lease
#: expiry (at most 7 days ahead) taken then can still be written as a timestamp.
MAX_CLOCK_USEC: Final = LATEST_TIMESTAMP_USEC - MAX_ETA_SECONDS * 1_000_000
LEASE_WINDOW_MINUTE_USEC: Final = 60 * USEC_PER_SECOND
LEASE_WINDOW_HOUR_USEC: Final = 3600 * USEC_PER_SECOND

#: queue.yaml ``name`` rule (queueinfo ``_NAME_REGEX``, without the empty name).
CONFIG_QUEUE_NAME_RE: Final = re.compile(r"^[A-Za-z0-9-]{1,499}\Z")
TASK_NAME_RE: Final = re.compile(rf"^[a-zA-Z0-9_-]{{1,{MAX_TASK_NAME_LENGTH}}}\Z")
PUSH_METHODS: Final = ("GET", "POST", "HEAD", "PUT", "DELETE")
#: An HTTP-target task's URL (Cloud Tasks ``http_request.url``): absolute, with a host.
HTTP_URL_RE: Final = re.compile(r"^https?://[^/?#\s]+(?:[/?#]\S*)?\Z", re.IGNORECASE)
DEFAULT_QUEUE: Final = "default"
DEFAULT_QUEUE_RATE: Final = "5/s"
DEFAULT_BUCKET_SIZE: Final = 5
#: Auto-generated task names, as the dev stub makes them: task1, task2, ...
AUTO_TASK_NAME_PREFIX: Final = "task"


def usec_from_seconds(seconds: float) -> int:
    """Convert seconds to integer microseconds exactly as the stub does (``int(s * 1e6)``)."""
    return int(seconds * 1e6)


# -- opt-in production behaviours (--lease-rate-limit, --add-visibility-delay, --inject-faults)

#: Production's LeaseTasks limit per queue and second: "if you generate more than 10
#: LeaseTasks requests per queue per second, only the first 10 requests will return results;
#: beyond that, OK is returned with zero results" ("Leasing Pull Tasks"; Cloud Tasks: "10 QPS
#: of LeaseTasks per queue").
PRODUCTION_LEASE_RATE_LIMIT: Final = 10
#: ``--like-production``'s delay before a new task can be leased. Production documents "a
#: short delay before tasks recently added using add() become available" without a figure;
#: one second is the back-off of Google's own pull-counter worker (it sleeps 1 s after an
#: error or a batch), so a worker written like it meets the delay once per new task.
PRODUCTION_ADD_VISIBILITY_DELAY_SECONDS: Final = 1.0
#: ``--like-production``'s random faults on lease, ``--inject-faults`` syntax: at 10 leases a
#: second a worker meets about one TransientError every 5 s and one deadline every 10 s.
PRODUCTION_FAULT_SPEC: Final = "lease=TRANSIENT_ERROR:0.02,lease=DEADLINE_EXCEEDED:0.01"
#: Largest ``--add-visibility-delay`` (an ETA may be at most 30 days ahead).
MAX_ADD_VISIBILITY_DELAY_SECONDS: Final = MAX_ETA_SECONDS
#: Largest ``count`` of one ``fail_next``.
MAX_FAULT_COUNT: Final = 1_000_000
#: Emulator seconds between two warnings about one queue's rate-limited leases.
RATE_LIMIT_WARNING_INTERVAL_SECONDS: Final = 10
#: One-second windows a queue's rate-limited leases are counted over in its statistics.
RATE_LIMIT_STATS_WINDOWS: Final = 60
