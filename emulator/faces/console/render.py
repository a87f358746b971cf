"""How values look on the pages: instants, durations, sizes and payloads (Jinja filters).

Everything here returns plain text; the templates escape it (autoescape), so a payload or a
tag can never become markup.
"""

from __future__ import annotations

import base64
import datetime
import unicodedata
from dataclasses import dataclass
from typing import Final

from emulator.domain.limits import USEC_PER_SECOND

#: How many bytes of a payload the task list previews.
PREVIEW_BYTES: Final = 64
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_TEXT_CONTROLS = frozenset("\t\n\r")


def utc(usec: int | None) -> str:
    """``2026-01-01 00:00:05 UTC`` (whole seconds), or ``—`` for None."""
    if usec is None:
        return "—"
    moment = _EPOCH + datetime.timedelta(microseconds=usec)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def rfc3339(usec: int | None) -> str:
    """``2026-01-01T00:00:05.000001Z`` (to the microsecond), or ``''`` for None."""
    if usec is None:
        return ""
    moment = _EPOCH + datetime.timedelta(microseconds=usec)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def duration(usec: int) -> str:
    """A short human duration: ``0.25 s``, ``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``."""
    seconds = abs(usec) / USEC_PER_SECOND
    if seconds < 10 and seconds != int(seconds):
        return f"{seconds:.2f}".rstrip("0").rstrip(".") + " s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min"
    if whole < 86400:
        hours, minutes = divmod(whole // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(whole // 3600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def relative(usec: int | None, now_usec: int) -> str:
    """``in 5 s``, ``5 s ago`` or ``now``, from ``now_usec``; ``—`` for None."""
    if usec is None:
        return "—"
    if usec == now_usec:
        return "now"
    text = duration(usec - now_usec)
    return f"in {text}" if usec > now_usec else f"{text} ago"


def size(count: int) -> str:
    """``512 B``, ``1.5 KiB``, ``2.0 MiB``."""
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / (1024 * 1024):.1f} MiB"


def as_text(payload: bytes) -> str | None:
    """The payload as text if it is UTF-8 without control characters (tab, CR and LF
    allowed), else None."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(ch) == "Cc" and ch not in _TEXT_CONTROLS for ch in text):
        return None
    return text


@dataclass(frozen=True)
class PayloadView:
    """A payload (or its start) for display: ``kind`` is ``text``, ``hex`` or ``empty``."""

    kind: str
    text: str
    truncated: bool = False


def preview(payload: bytes, limit: int = PREVIEW_BYTES) -> PayloadView:
    """The first ``limit`` bytes of a payload: text when the whole payload is text, else hex
    (``48 65 6c``)."""
    if not payload:
        return PayloadView("empty", "")
    truncated = len(payload) > limit
    text = as_text(payload)
    if text is not None:
        head = payload[:limit].decode("utf-8", errors="ignore")  # never cut a character
        return PayloadView("text", head, truncated)
    return PayloadView("hex", payload[:limit].hex(" "), truncated)


def hexdump(payload: bytes) -> str:
    """Offset, 16 bytes in hex and their printable ASCII per line, like ``hexdump -C``."""
    lines = []
    for offset in range(0, len(payload), 16):
        chunk = payload[offset : offset + 16]
        hex_part = " ".join(f"{b:02x}" for b in chunk)
        ascii_part = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{offset:08x}  {hex_part:<47}  |{ascii_part}|")
    return "\n".join(lines)


def base64_text(payload: bytes) -> str:
    """The payload in standard base64, wrapped at 76 characters."""
    encoded = base64.b64encode(payload).decode("ascii")
    return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
