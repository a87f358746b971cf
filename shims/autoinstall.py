"""Start-up hook: install the shim in every Python program when
``TASKQUEUE_EMULATOR_AUTO_INSTALL`` asks for it, so unmodified programs run with no wrapper.

``pip install`` puts ``taskqueue_emulator_autoinstall.pth`` into site-packages; Python runs
its one line at start-up, which costs nothing unless the variable is set. Values:

* ``1`` (or ``true``, ``yes``, ``on``): ``shims.install()``, i.e. the drop-in module, talking
  to ``TASKQUEUE_EMULATOR_HOST`` if set, else to an in-process emulator
  (``TASKQUEUE_EMULATOR_QUEUE_YAML``);
* ``sdk``: ``shims.install(use_sdk=True)``, i.e. Google's own SDK routed to the emulator at
  ``TASKQUEUE_EMULATOR_HOST``;
* ``0`` (or ``false``, ``no``, ``off``, empty): nothing.

Start-up must never fail because of this hook: a bad value or a failed installation prints
one line naming the variable on stderr, and the program runs without the shim.
"""

from __future__ import annotations

import os
import sys

ENV = "TASKQUEUE_EMULATOR_AUTO_INSTALL"
_SHIM = ("1", "true", "yes", "on")
_SDK = ("sdk",)
_OFF = ("0", "false", "no", "off", "")


def run(environ: dict[str, str] | None = None) -> str | None:
    """Act on the variable; return what was installed (``"shim"``, ``"sdk"``) or None."""
    value = (os.environ if environ is None else environ).get(ENV, "").strip().lower()
    if value in _OFF:
        return None
    if value not in _SHIM + _SDK:
        _warn(f"must be one of 1, sdk or 0, not {value!r}; the shim is not installed")
        return None
    try:
        import shims

        shims.install(use_sdk=value in _SDK)
    except Exception as exc:  # start-up must go on; say why in one line
        _warn(f"cannot install the shim: {exc}")
        return None
    return "sdk" if value in _SDK else "shim"


def _warn(message: str) -> None:
    print(f"taskqueue-emulator: {ENV}: {message}", file=sys.stderr)
