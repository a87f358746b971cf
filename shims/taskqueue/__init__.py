"""Drop-in ``google.appengine.api.taskqueue`` backed by the task-queue emulator.

Usable directly (``from shims import taskqueue``) or, after :func:`shims.install`, as
``from google.appengine.api import taskqueue``. Exposes every name of Google's package plus
``InvalidTaskRetryOptionsError`` and ``MAX_TAG_LENGTH`` (which Google's PY2 package omitted),
and the submodule :mod:`shims.taskqueue.taskqueue`.
"""

from __future__ import annotations

from shims.taskqueue import taskqueue as taskqueue
from shims.taskqueue.taskqueue import *  # noqa: F403
from shims.taskqueue.taskqueue import __all__ as _module_all

__all__ = list(_module_all)
