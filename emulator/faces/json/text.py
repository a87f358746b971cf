"""JSON text to Python values and back: orjson where it gives what :mod:`json` gives, json
where it would not.

Both sides of the native API use these two functions (the server's JSON face and the
remote shim), so every body is read and written the same way. orjson decodes a lease of
1000 tasks about 2x and encodes it about 7x faster than :mod:`json`, but it differs from it
in a few corners, and there :mod:`json` decides, so results and error messages stay what
they were:

* integers of 19 digits or more (orjson turns those past 64 bits into floats): decoded by
  :mod:`json` whenever the text holds such a run of digits;
* text orjson refuses (``NaN``, ``Infinity``, lone surrogates such as ``"\\ud800"``,
  nesting past 1024 levels, invalid UTF-8): decoded by :mod:`json`, which accepts some of
  it and raises its own error for the rest;
* values orjson cannot encode (integers past 64 bits, strings holding lone surrogates,
  non-string keys): encoded by :mod:`json`.

orjson writes UTF-8 and no spaces; :mod:`json` (the fallback) writes ASCII escapes. Both
are the same JSON to every reader. A float that is not finite is written ``null`` (json
writes ``NaN``, which is not JSON; the API never sends one).
"""

from __future__ import annotations

import json
from typing import Any, Final

import orjson

#: ``bytes.translate`` table: digits to ``0``, every other byte to a space.
_DIGITS_ONLY: Final = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
#: A run of digits orjson might turn into a float (2**63 has 19 digits).
_LONG_RUN: Final = b"0" * 19


def loads(data: bytes) -> Any:
    """The value of the JSON text ``data``, exactly as ``json.loads(data)`` gives it.

    Raises:
        ValueError: (``json.JSONDecodeError``) or UnicodeDecodeError: ``data`` is not JSON,
            with :mod:`json`'s message.
        RecursionError: nested too deeply for :mod:`json`.
    """
    if _LONG_RUN in data.translate(_DIGITS_ONLY):  # two C passes; a regex took 4x longer
        return json.loads(data)
    return loads_answer(data)


def loads_answer(data: bytes) -> Any:
    """:func:`loads` for an answer of the emulator, without the scan for long integers: its
    integers all fit in 64 bits (an integer past them would come back as a float).

    Raises:
        ValueError, UnicodeDecodeError, RecursionError: as :func:`loads`.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # json accepts what it accepts (NaN, lone surrogates)
        return json.loads(data)  # or says why not, in its own words


def dumps(value: Any) -> bytes:
    """``value`` as UTF-8 JSON text (keys in their order).

    Raises:
        TypeError, ValueError: ``value`` holds something JSON cannot say (:mod:`json`'s
            error).
    """
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value).encode()
