"""The native JSON face (``/v1``): routes, the wire codec, the error table, the OpenAPI document.

:mod:`emulator.faces.json.codec` imports no Flask: the shim's remote backend uses it too.
"""
