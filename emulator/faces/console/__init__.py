"""The web console: server-rendered pages over :class:`~emulator.core.service.QueueService`.

``GET /`` lists the queues, ``/queues/<queue>`` a queue's tasks, ``/queues/<queue>/tasks/<name>``
one task; forms purge, pause, resume, add, delete and release. Build it with
:func:`emulator.faces.console.views.create_console`. This package module imports nothing, so
that :mod:`emulator.faces.auth` can read :mod:`emulator.faces.console.paths` without a cycle.
"""
