"""Debian's Chromium, headless, through Playwright: how the browser tests and the docs'
screenshot script launch it (never ``playwright install``: the machine may be offline)."""

from __future__ import annotations

import shutil
from typing import Any, Final

#: Debian's ``chromium`` package puts its executable here.
CHROMIUM: Final = "/usr/bin/chromium"
#: Headless, no sandbox (root in CI), and nothing that reaches for the network on start.
CHROMIUM_ARGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None if they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if shutil.which(CHROMIUM) is None:
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


def launch_chromium(playwright: Any) -> Any:
    """A headless Debian Chromium browser from a ``sync_playwright()`` handle."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
