"""Flask's ``jsonify`` through orjson: the same JSON as Flask's own provider, written faster.

Every face answers with ``jsonify``; Flask's provider spends most of a large answer (a lease
of 1000 tasks) in :mod:`json`'s encoder. :class:`OrjsonProvider` writes the same document
with orjson: keys in the same order (sorted when ``sort_keys`` is on), compact separators,
Flask's ``default`` for the types Flask converts itself (dates, dataclasses, UUIDs,
``__html__``), the same trailing newline and mimetype. UTF-8 replaces ``\\u`` escapes of
non-ASCII text (the same JSON to every reader), and a float that is not finite is written
``null`` (Flask writes ``NaN``, which is not JSON; no answer holds one). Anything orjson
cannot write (integers past 64 bits, lone surrogates), and the indented debug output, go
through Flask's own provider.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider
from werkzeug.sansio.response import Response

_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class OrjsonProvider(DefaultJSONProvider):
    """``app.json`` for the emulator's app (:func:`emulator.app.create_app`)."""

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """As :meth:`DefaultJSONProvider.response`, encoded by orjson when it can."""
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        option = _PASSTHROUGH | (orjson.OPT_SORT_KEYS if self.sort_keys else 0)
        try:
            body = orjson.dumps(obj, default=self.default, option=option)
        except TypeError:  # orjson.JSONEncodeError: let json write it, or raise its error
            return super().response(*args, **kwargs)
        response_class: Any = self._app.response_class  # Flask's, typed as werkzeug's base
        return response_class(body + b"\n", mimetype=self.mimetype)  # type: ignore[no-any-return]
