"""``python -m bench.reliability``: see :mod:`bench.reliability.cli`."""

import sys

from bench.reliability.cli import main

sys.exit(main())
