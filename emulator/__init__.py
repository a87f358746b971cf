"""Local emulator for Google App Engine pull queues.

The server side: queue.yaml loading, the pull-queue core, SQLite storage, the HTTP faces
and the ``taskqueue-emulator`` command line.
"""

__version__ = "0.1.0"
