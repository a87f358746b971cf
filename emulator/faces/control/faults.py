"""Fault injection for back-off tests (``/_emulator/faults``), with ``--enable-test-control``.

* ``POST /_emulator/faults`` ``{"call": "lease", "error": "TRANSIENT_ERROR", "count": 2,
  "queue": null}``: the next ``count`` (default 1) calls ``call`` (add, lease, modify_lease,
  delete, purge, stats) on ``queue`` (default: any) fail with ``error`` (DEADLINE_EXCEEDED,
  any error code name, or TransientError / DeadlineExceededError), before anything changes;
* ``GET /_emulator/faults``: the faults still pending, the faults injected so far, and the
  random mode of ``--inject-faults`` (its rates and seed);
* ``DELETE /_emulator/faults``: drop the pending faults and the injected counts.

Each answers with that state (``shims.testing.fail_next`` & co. read it). ``POST
/_emulator/reset`` clears the faults too.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from emulator.core.faults import FaultPlan, arm_fault
from emulator.core.service import QueueService
from emulator.faces.json import codec


def create_faults_blueprint(service: QueueService, plan: FaultPlan) -> Blueprint:
    """The ``/_emulator/faults`` routes arming ``plan``, which ``service`` follows."""
    faults = Blueprint("test_faults", __name__, url_prefix="/_emulator")

    @faults.post("/faults")
    def arm() -> Response:
        rule = codec.fault_rule_from_json(codec.parse_body(request.get_data(cache=False)))
        arm_fault(service, plan, rule)
        return _state(plan)

    @faults.get("/faults")
    def report() -> Response:
        return _state(plan)

    @faults.delete("/faults")
    def clear() -> Response:
        plan.clear()
        return _state(plan)

    return faults


def _state(plan: FaultPlan) -> Response:
    return jsonify(codec.fault_report_to_json(plan.report()))
