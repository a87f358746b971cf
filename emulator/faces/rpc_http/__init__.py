"""The App Engine API-server face (``POST /rpc_http``): remote_api envelopes around the
``taskqueue`` and ``logservice`` RPCs, with our own generated messages in ``protos/``."""
