"""The native JSON API (``/v1``): thin views over :class:`QueueService`.

Each view parses its input with :mod:`emulator.faces.json.codec`, calls one service method and
serialises the result. Errors are raised as :class:`TaskQueueError` and rendered by
:mod:`emulator.faces.json.errors`. The routes are described in ``GET /openapi.json``.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from emulator.core import validation
from emulator.core.service import QueueService
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import DEFAULT_PEEK_PAGE_SIZE
from emulator.domain.model import PeekFilter, TaskState
from emulator.faces.json import codec

#: More digits than an int64 has: not a number the emulator can read.
_MAX_LIMIT_DIGITS = 18


def _body() -> codec.JsonObject:
    return codec.parse_body(request.get_data(cache=False))


def create_api_blueprint(service: QueueService) -> Blueprint:
    """The ``/v1`` routes bound to ``service``."""
    api = Blueprint("api", __name__, url_prefix="/v1")

    @api.get("/queues")
    def list_queues() -> Response:
        queues = list(service.config().queues.values())
        stats = service.stats([q.name for q in queues])
        return jsonify(codec.queues_to_json(list(zip(queues, stats, strict=True))))

    @api.get("/queues/<queue>")
    def get_queue(queue: str) -> Response:
        config = service.queue(queue)
        [stats] = service.stats([config.name])
        return jsonify(codec.queue_to_json(config, stats))

    @api.post("/queues/<queue>/tasks")
    def add_tasks(queue: str) -> Response:
        requests = codec.add_body_from_json(_body())
        return jsonify(codec.add_results_to_json(service.add(queue, requests)))

    @api.get("/queues/<queue>/tasks")
    def peek_tasks(queue: str) -> Response:
        return jsonify(codec.task_page_to_json(service.peek(queue, _peek_filter())))

    @api.get("/queues/<queue>/tasks/<name>")
    def get_task(queue: str, name: str) -> Response:
        task = service.get_task(queue, name)
        return jsonify(codec.stored_task_to_json(task, service.now_usec()))

    @api.delete("/queues/<queue>/tasks/<name>")
    def delete_task(queue: str, name: str) -> Response:
        [code] = service.delete(queue, [name])
        if code is not ErrorCode.OK:
            raise TaskQueueError(code, f"task {name!r} could not be deleted: {code.name}")
        return jsonify({"name": name, "code": code.name})

    @api.post("/queues/<queue>/delete")
    def delete_tasks(queue: str) -> Response:
        names = codec.delete_request_from_json(_body())
        return jsonify(codec.delete_results_to_json(names, service.delete(queue, names)))

    @api.post("/queues/<queue>/lease")
    def lease(queue: str) -> Response:
        asked = codec.lease_request_from_json(_body())
        validation.check_lease_seconds(asked.lease_seconds)  # before the queue's own errors
        validation.check_max_tasks(asked.max_tasks)
        tasks = service.lease(
            queue,
            asked.lease_seconds,
            asked.max_tasks,
            group_by_tag=asked.group_by_tag,
            tag=asked.tag,
        )
        return jsonify(codec.leased_tasks_to_json(tasks))

    @api.post("/queues/<queue>/tasks/<name>/lease")
    def modify_lease(queue: str, name: str) -> Response:
        change = codec.modify_lease_request_from_json(_body())
        validation.check_lease_seconds(change.lease_seconds)  # before the queue's own errors
        eta = service.modify_lease(queue, name, change.eta_usec, change.lease_seconds)
        return jsonify(codec.modified_lease_to_json(name, eta))

    @api.post("/queues/<queue>/purge")
    def purge(queue: str) -> Response:
        return jsonify({"queue": queue, "purged": service.purge(queue)})

    @api.post("/queues/<queue>/pause")
    def pause(queue: str) -> Response:
        service.pause(queue)
        return jsonify({"queue": queue, "paused": True})

    @api.post("/queues/<queue>/resume")
    def resume(queue: str) -> Response:
        service.resume(queue)
        return jsonify({"queue": queue, "paused": False})

    @api.get("/queues/<queue>/stats")
    def queue_stats(queue: str) -> Response:
        [stats] = service.stats([queue])
        return jsonify(codec.queue_stats_to_json(stats))

    @api.get("/time")
    def now() -> Response:
        return jsonify(codec.time_to_json(service.now_usec()))

    @api.get("/stats")
    def many_stats() -> Response:
        names = request.args.getlist("queue") or list(service.config().queues)
        return jsonify(codec.stats_to_json(service.stats(names)))

    return api


def _peek_filter() -> PeekFilter:
    args = request.args
    unknown = sorted(set(args) - {"state", "tag", "limit", "page_token"})
    if unknown:
        raise codec.bad(unknown[0], "unknown query parameter")
    states: set[TaskState] = set()
    for raw in args.getlist("state"):
        for value in raw.split(","):
            try:
                states.add(TaskState(value))
            except ValueError:
                raise codec.bad(
                    "state", f"must be ready, leased or delayed, not {value!r}"
                ) from None
    return PeekFilter(
        states=frozenset(states),
        tag=args.get("tag"),
        limit=_peek_limit(args.get("limit", str(DEFAULT_PEEK_PAGE_SIZE))),
        page_token=args.get("page_token") or None,
    )


def _peek_limit(text: str) -> int:
    """``limit`` from ASCII digits only, checked by the core's rule (before the queue's own
    errors).

    ``str.isdigit()`` alone is not enough: it accepts ``'²'``, which ``int()`` rejects, and
    ``int()`` refuses strings of more than 4,300 digits; both used to end in a 500.
    """
    digits = text.lstrip("0") or "0"
    if not (text.isascii() and text.isdigit()) or len(digits) > _MAX_LIMIT_DIGITS:
        raise codec.bad("limit", f"must be a whole number, not {text[:20]!r}")
    return validation.check_peek_limit(int(digits))
