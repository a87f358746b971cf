"""Client side of the task-queue emulator: a drop-in ``google.appengine.api.taskqueue``.

* :func:`install` / :func:`uninstall`: put the shim into ``sys.modules`` under Google's names;
* ``python -m shims script.py [args]``: run an unmodified program with the shim installed;
* :mod:`shims.taskqueue`: the module itself (usable without installing it);
* :mod:`shims.testing`: clock control, reset, faults (``fail_next``) and testbed-style helpers
  for tests;
* :mod:`shims.pytest_plugin`: the ``taskqueue``, ``taskqueue_emulator`` and
  ``taskqueue_clock`` fixtures.

The shim talks to the emulator at ``TASKQUEUE_EMULATOR_HOST`` (``host:port``) when that
variable is set, and to an emulator embedded in the process otherwise.
"""

from __future__ import annotations

from shims.install import install, is_installed, uninstall

__all__ = ["install", "is_installed", "uninstall"]
