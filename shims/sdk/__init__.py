"""Google's own SDK against the emulator: :mod:`shims.sdk.stub` is an apiproxy stub that sends
the SDK's ``taskqueue`` calls to ``/rpc_http``. Importing it imports Google's SDK."""
