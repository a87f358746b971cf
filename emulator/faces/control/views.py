"""Test-only control endpoints (``/_emulator``), registered only with ``--enable-test-control``.

* ``POST /_emulator/reset``: drop every task, tombstone, lease record and pause; keep config.
* ``GET /_emulator/clock``: the emulator's time and whether it is frozen.
* ``POST /_emulator/clock``: ``{"now_usec": N}`` freezes the clock at N;
  ``{"advance_seconds": S}`` moves it forward by S; ``{"system": true}`` returns to real time.
* ``POST /_emulator/queues/<queue>/flush``: testbed ``FlushQueue`` (tasks *and* tombstones).
* ``POST /_emulator/queues/<queue>/tasks/<name>/forget``: testbed ``DeleteTask`` (no tombstone).
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from emulator.core.service import QueueService
from emulator.domain.clock import ControllableClock
from emulator.domain.limits import MAX_CLOCK_USEC, MAX_ETA_SECONDS, USEC_PER_SECOND
from emulator.faces.json import codec

_CLOCK_FIELDS = frozenset({"now_usec", "advance_seconds", "system"})
#: Largest single clock advance accepted (ten years): keeps ETAs within 64-bit microseconds.
_MAX_ADVANCE_SECONDS = 10 * 365 * 24 * 3600 + MAX_ETA_SECONDS


def create_control_blueprint(service: QueueService, clock: ControllableClock) -> Blueprint:
    """The ``/_emulator`` routes acting on ``service`` and ``clock``."""
    control = Blueprint("test_control", __name__, url_prefix="/_emulator")

    @control.post("/reset")
    def reset() -> Response:
        service.reset()
        return jsonify({"reset": True})

    @control.get("/clock")
    def get_clock() -> Response:
        return _clock_state(clock)

    @control.post("/clock")
    def set_clock() -> Response:
        f = codec.Fields(codec.parse_body(request.get_data(cache=False)), "", _CLOCK_FIELDS)
        given = [k for k in sorted(_CLOCK_FIELDS) if f.has(k)]
        if len(given) != 1:
            raise codec.bad("body", "give exactly one of now_usec, advance_seconds, system")
        if f.has("now_usec"):
            clock.freeze(f.integer("now_usec", low=0, high=MAX_CLOCK_USEC))
        elif f.has("advance_seconds"):
            room = max(0, MAX_CLOCK_USEC - clock.now_usec()) / USEC_PER_SECOND
            clock.advance(f.number("advance_seconds", low=0, high=min(room, _MAX_ADVANCE_SECONDS)))
        elif f.boolean("system"):
            clock.unfreeze()
        return _clock_state(clock)

    @control.post("/queues/<queue>/flush")
    def flush(queue: str) -> Response:
        service.flush_queue(queue)
        return jsonify({"queue": queue, "flushed": True})

    @control.post("/queues/<queue>/tasks/<name>/forget")
    def forget(queue: str, name: str) -> Response:
        deleted = service.forget_task(queue, name)
        return jsonify(codec.forgotten_to_json(queue, name, deleted))

    return control


def _clock_state(clock: ControllableClock) -> Response:
    state = codec.ClockState(now_usec=clock.now_usec(), frozen=clock.frozen)
    return jsonify(codec.clock_state_to_json(state))
