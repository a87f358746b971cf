"""``python -m shims script.py [args]``: run a program with the shim installed (shims.runner)."""

from __future__ import annotations

import sys

from shims.runner import main

if __name__ == "__main__":
    sys.exit(main())
