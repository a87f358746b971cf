"""Wire messages of the ``/rpc_http`` face: TaskQueue service messages and the remote_api
envelope, in the proto package ``taskqueue_emulator.wire`` (never the SDK's package names).

The ``*_pb2`` modules are generated from the ``.proto`` files next to them by
``scripts/gen_protos.py`` and checked in; do not edit them by hand.
"""
