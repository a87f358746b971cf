"""Who is calling: the identity a face read from the request, for queue.yaml ``acl``.

The faces set it for the duration of one request with :func:`acting_as` (a
:class:`contextvars.ContextVar`, so each request, thread or task sees its own); the core's
:class:`emulator.core.acl.AclService` reads it with :func:`current_identity`. Nothing is set
outside a request: :func:`current_identity` is then None (no identity).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

#: The prefix Google's front ends (IAP) put before the e-mail address in
#: ``X-Goog-Authenticated-User-Email``; stripped by :func:`identity_from_header`.
GOOGLE_ACCOUNTS_PREFIX: Final = "accounts.google.com:"
#: The identity header the shim sends when the variable below does not name another one.
DEFAULT_IDENTITY_HEADER: Final = "X-Goog-Authenticated-User-Email"

_IDENTITY: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "taskqueue_emulator_identity", default=None
)


def identity_from_header(value: str | None) -> str | None:
    """The e-mail address in an identity header's ``value`` (``accounts.google.com:`` and
    surrounding spaces stripped), or None for a missing or empty header."""
    if value is None:
        return None
    text = value.strip()
    if text.lower().startswith(GOOGLE_ACCOUNTS_PREFIX):
        text = text[len(GOOGLE_ACCOUNTS_PREFIX) :].strip()
    return text or None


def current_identity() -> str | None:
    """The identity of the request being served, or None."""
    return _IDENTITY.get()


def set_identity(identity: str | None) -> contextvars.Token[str | None]:
    """Make ``identity`` the current one; undo with :func:`reset_identity` and the token."""
    return _IDENTITY.set(identity)


def reset_identity(token: contextvars.Token[str | None]) -> None:
    """Restore the identity from before :func:`set_identity` returned ``token``."""
    _IDENTITY.reset(token)


@contextmanager
def acting_as(identity: str | None) -> Iterator[None]:
    """``identity`` is the current one inside the block (a request, a test)."""
    token = set_identity(identity)
    try:
        yield
    finally:
        reset_identity(token)
