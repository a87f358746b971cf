"""The visibility delay (``--add-visibility-delay SECONDS``): new tasks become leasable late.

Production: "there may be a short delay before tasks recently added using add() become
available via lease_tasks()". :class:`VisibilityDelayService` gives every pull task it adds
an ETA no earlier than ``delay`` after the add, whatever the request asked for:

* no ETA and no countdown, a countdown shorter than the delay, or an ETA earlier than
  now + delay: ready exactly ``delay`` after the add (the service's own clock reading decides
  "now", so under a frozen clock it is exact);
* a countdown or an ETA further ahead: unchanged.

This is also what makes the delay apply to Google's SDK and Go, which send every task with
an explicit ETA (their "now"). Push tasks are unchanged (they are never leased), and so are
requests the service will refuse (a negative ETA, a countdown that is not a finite number):
they keep their error.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from emulator.core.forwarding import ForwardingService
from emulator.core.service import QueueService
from emulator.domain.clock import Clock
from emulator.domain.errors import TaskQueueError
from emulator.domain.limits import usec_from_seconds
from emulator.domain.model import AddRequest, AddResult
from emulator.domain.queue_config import QueueMode


class VisibilityDelayService(ForwardingService):
    """``inner`` whose new pull tasks are leasable no earlier than ``delay_seconds`` after
    they were added (see the module docstring)."""

    def __init__(self, inner: QueueService, clock: Clock, delay_seconds: float) -> None:
        if not (math.isfinite(delay_seconds) and delay_seconds > 0):
            raise ValueError(f"the visibility delay must be positive, not {delay_seconds!r}")
        super().__init__(inner)
        self._clock = clock
        self._delay = delay_seconds
        self._delay_usec = usec_from_seconds(delay_seconds)

    def add(self, queue_name: str, requests: Sequence[AddRequest]) -> list[AddResult]:
        try:
            queue_mode = self.queue(queue_name).mode
        except TaskQueueError:  # the service reports it
            return super().add(queue_name, requests)
        now = self._clock.now_usec()
        return super().add(queue_name, [self._delayed(r, queue_mode, now) for r in requests])

    def _delayed(self, request: AddRequest, queue_mode: QueueMode, now_usec: int) -> AddRequest:
        """``request`` with its ETA moved to ``delay`` after the add when it is earlier."""
        mode = request.mode if request.mode is not None else queue_mode
        if mode is QueueMode.PUSH:
            return request
        eta, countdown = request.eta_usec, request.countdown_seconds
        if eta is not None:
            early = 0 <= eta < now_usec + self._delay_usec
        elif countdown is not None:
            early = math.isfinite(countdown) and countdown < self._delay
        else:
            early = True
        if not early:
            return request
        return replace(request, eta_usec=None, countdown_seconds=self._delay)
