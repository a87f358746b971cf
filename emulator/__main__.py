"""``python -m emulator``: the same as the ``taskqueue-emulator`` command."""

from emulator.cli import main

raise SystemExit(main())
