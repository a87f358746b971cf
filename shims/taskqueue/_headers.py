"""Task headers: a case-insensitive dict and the SDK's parameter flattening.

Behaviour follows ``urlfetch._CaselessDict`` and ``taskqueue._flatten_params`` of Google's
``appengine-python-standard`` (Apache-2.0, Copyright 2007 Google LLC).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any


class CaselessDict(MutableMapping[str, Any]):
    """A dict whose keys compare case-insensitively but keep the case they were set with.

    Setting ``d['Key']`` replaces an entry set as ``d['key']``. :meth:`copy` returns a plain
    ``dict`` (which is what ``Task.headers`` returns).
    """

    def __init__(self, initial: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None):
        self._data: dict[str, Any] = {}
        self._keys: dict[str, str] = {}
        if initial:
            self.update(initial)

    def __setitem__(self, key: str, value: Any) -> None:
        lowered = key.lower()
        if lowered in self._keys:
            del self._data[self._keys[lowered]]
        self._keys[lowered] = key
        self._data[key] = value

    def __getitem__(self, key: str) -> Any:
        return self._data[self._keys[key.lower()]]

    def __delitem__(self, key: str) -> None:
        lowered = key.lower()
        del self._data[self._keys[lowered]]
        del self._keys[lowered]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def copy(self) -> dict[str, Any]:
        """A shallow, case-sensitive plain ``dict`` copy."""
        return dict(self._data)


def _to_bytes(value: object) -> bytes:
    if isinstance(value, str):
        return value.encode("utf8")
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf8")


def flatten_params(params: Mapping[Any, Any]) -> list[tuple[bytes, bytes]]:
    """``{key: value-or-iterable}`` → ``[(key, value), ...]`` as UTF-8 bytes.

    A str/bytes value gives one pair; another iterable gives one pair per element; anything
    else is converted with ``str()``.
    """
    pairs: list[tuple[bytes, bytes]] = []
    for key, value in params.items():
        name = _to_bytes(key)
        if isinstance(value, str | bytes):
            pairs.append((name, _to_bytes(value)))
            continue
        try:
            values = iter(value)
        except TypeError:
            pairs.append((name, _to_bytes(value)))
        else:
            pairs.extend((name, _to_bytes(v)) for v in values)
    return pairs
