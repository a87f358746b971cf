"""The App Engine API-server face (``POST /rpc_http``): remote_api envelopes around the
``taskqueue`` and ``logservice`` RPCs, with our own generated messages in ``protos/``.

The constants of the protocol live here, importable without Flask or protobuf: the SDK
stub (:mod:`shims.sdk.stub`) sends what the view reads.
"""

from typing import Final

RPC_PATH: Final = "/rpc_http"
#: The client's clock when it sent the call, in integer microseconds since the epoch.
CLIENT_NOW_HEADER: Final = "X-TaskQueue-Emulator-Client-Now-Usec"
#: ``remote_api.Request.service_name`` of the task queue RPCs.
TASKQUEUE_SERVICE: Final = "taskqueue"
