"""Cloud Tasks' own APIs over the emulator's queues: v2beta2 (pull: leases), v2beta3 and v2.

* gRPC (:mod:`.grpc_server`): generic handlers per service name, over google-cloud-tasks'
  own message classes (no generated stubs to keep in sync), on ``--cloud-tasks-grpc-port``;
* REST (:mod:`.rest`): ``/v2beta2/``, ``/v2beta3/`` and ``/v2/`` on the main port, JSON as
  Google's REST clients send it (camelCase, int or string enums, base64 bytes).

Both transports parse into the same request messages and call the same functions
(:mod:`.methods`), which speak to :class:`~emulator.core.service.QueueService` only and
answer through one codec (:mod:`.codec`) and one error table (:mod:`.errors`). Any project
and location map onto the emulator's queues (:mod:`.names`). See docs/CLOUD_TASKS.md.
"""

from __future__ import annotations

from typing import Final

#: What firebase-admin (and Firebase tooling) read to find a Cloud Tasks emulator: host:port.
CLOUD_TASKS_EMULATOR_HOST_ENV: Final = "CLOUD_TASKS_EMULATOR_HOST"
#: What gcloud-aio's taskqueue reads (it then calls REST v2beta3): host:port.
CLOUDTASKS_EMULATOR_HOST_ENV: Final = "CLOUDTASKS_EMULATOR_HOST"
