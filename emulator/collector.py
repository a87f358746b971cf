"""The garbage collector's policy while the emulator's own process serves (``python -m
emulator``): what start-up built is frozen, and the youngest generation is collected less
often.

With CPython's defaults (a young collection after 700 net allocations of container objects,
an older one every 10 of those) a lease of 1000 tasks, which holds some 5,000 containers at
once (rows, :class:`~emulator.domain.model.ReadyTask`, :class:`~emulator.domain.model.LeasedTask`,
JSON dicts), runs several collections inside the request, and every tenth or hundredth of
them walks what survived, start-up's modules, Flask and the config included. Timed with
``gc.callbacks`` in the server, that was 2.5-3.4 ms of each lease(1000)+delete cycle at 100k
queued (docs/PERFORMANCE.md, part 8). The emulator's objects are short-lived and rarely
cyclic, so raising the threshold above what one request keeps alive loses nothing.

Only the process the CLI owns is tuned: the embedded shim and ``ServerThread`` run in the
user's process, whose collector is the user's.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from typing import Final

#: Net container allocations before a young collection while serving (CPython's default:
#: 700). Above the ~5,000 a lease of 1000 tasks (the largest request) holds at once.
SERVING_YOUNG_THRESHOLD: Final = 10_000


@contextlib.contextmanager
def serving() -> Iterator[None]:
    """Within the block: the objects alive at entry are moved to the collector's permanent
    generation (``gc.freeze``), so no collection walks them again, unless something else
    had already frozen objects (then its freeze is left as it is); and the young
    generation's threshold is :data:`SERVING_YOUNG_THRESHOLD` (the older generations' are
    kept). On exit, however the block ends, the thresholds are the ones found at entry and
    what this call froze is unfrozen, so ``main()`` run inside a test leaves the test
    process's collector as it found it. A collector that is disabled stays disabled.
    """
    before = gc.get_threshold()
    froze = gc.get_freeze_count() == 0
    if froze:
        gc.freeze()
    gc.set_threshold(SERVING_YOUNG_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if froze:
            gc.unfreeze()
