"""Security headers on every console response.

No inline script or style is allowed (the console's script and stylesheet are static
files), nothing may frame the pages, and pages that show payloads are never cached.
"""

from __future__ import annotations

from typing import Final

from flask import Response

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def secure(response: Response) -> Response:
    """Add :data:`SECURITY_HEADERS` (and ``Cache-Control: no-store`` unless the response
    sets its own caching, as static files do)."""
    response.headers.update(SECURITY_HEADERS)
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
