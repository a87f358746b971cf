"""The ``logservice`` method served at ``/rpc_http``: ``Flush``, the app's log lines.

Google's Go package (``google.golang.org/appengine``) ends every ``appengine.Main()`` request
with ``logservice.Flush`` (and flushes a background context once a second); without it the
app prints ``internal.flushLog: Flush RPC: Call error 1`` and its lines are lost. Each line
is written to the logger :data:`APP_LOGGER` at the Python level of its App Engine level
(:data:`LEVELS`), as ``<app's timestamp, RFC 3339 UTC> <message>``; the record also carries
``app_timestamp_usec`` and ``app_level``. The answer is an empty ``VoidProto``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from emulator.core.service import QueueService
from emulator.faces.json.codec import rfc3339
from emulator.faces.rpc_http import codec
from emulator.faces.rpc_http.protos import logservice_wire_pb2 as log_wire

SERVICE_NAME: Final = "logservice"
APP_LOGGER: Final = "emulator.app_log"
#: ``UserAppLogLine.level`` (0 debug … 4 critical) → Python logging level. Levels below 0
#: are logged as debug, above 4 as critical.
LEVELS: Final[Mapping[int, int]] = MappingProxyType(
    {
        0: logging.DEBUG,
        1: logging.INFO,
        2: logging.WARNING,
        3: logging.ERROR,
        4: logging.CRITICAL,
    }
)
_app_log = logging.getLogger(APP_LOGGER)


def python_level(app_level: int) -> int:
    """The Python logging level of an App Engine log level (clamped to 0..4)."""
    return LEVELS[min(max(app_level, 0), 4)]


def app_time(usec: int) -> str:
    """``usec`` as RFC 3339 UTC text, or ``<usec> usec`` if no date can show it."""
    try:
        return str(rfc3339(usec))
    except (OverflowError, ValueError):
        return f"{usec} usec"


def flush(_service: QueueService, request: log_wire.FlushRequest) -> log_wire.VoidProto:
    """Log every line of ``request.logs`` (a serialized ``UserAppLogGroup``; absent or empty
    means no lines) in order.

    Raises:
        RpcFailure: PARSE_ERROR if ``logs`` is not a complete ``UserAppLogGroup``.
    """
    group = codec.parse(log_wire.UserAppLogGroup, request.logs)
    for line in group.log_line:
        _app_log.log(
            python_level(line.level),
            "%s %s",
            app_time(line.timestamp_usec),
            line.message.decode("utf-8", "replace"),
            extra={"app_timestamp_usec": line.timestamp_usec, "app_level": line.level},
        )
    return log_wire.VoidProto()
