"""Forwarding to real Cloud Tasks: a second :class:`~emulator.core.service.QueueService`.

Next to :mod:`emulator.core` (the local rules over a store), this room implements the same
interface with google-cloud-tasks (docs/MIGRATION.md): pull queues through ``tasks_v2beta2``,
push queues through ``tasks_v2`` (statistics of push queues through ``tasks_v2beta3``).

* :mod:`.target`: where to forward (project, location, endpoint); no Google import, so the
  settings and the wiring can name it without loading protobuf;
* :mod:`.clients`: the three clients over one channel (ADC, or plaintext gRPC to an endpoint);
* :mod:`.mapping`: domain values ↔ Cloud Tasks messages;
* :mod:`.errors`: the one table from Google's status codes to the domain's error codes;
* :mod:`.service`: :class:`~.service.CloudTasksQueueService`;
* :mod:`.check`: ``taskqueue-emulator check-cloud-tasks``.

It imports neither Flask nor the faces nor the store: it is a service, not a face.
"""
