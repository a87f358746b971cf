"""The native JSON API (``/v1``): thin views over :class:`QueueService`.

Each view parses its input with :mod:`emulator.faces.json.codec`, calls one service method and
serialises the result. Errors are raised as :class:`TaskQueueError` and rendered by
:mod:`emulator.faces.json.errors`. The routes are described in ``GET /openapi.json``.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from emulator.core.service import QueueService
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.domain.limits import (
    DEFAULT_PEEK_PAGE_SIZE,
    MAX_LEASE_SECONDS,
    MAX_PEEK_PAGE_SIZE,
    MAX_TASKS_PER_LEASE,
)
from emulator.domain.model import AddResult, PeekFilter, QueueStats, TaskState
from emulator.domain.queue_config import QueueConfig
from emulator.faces.json import codec

_LEASE_FIELDS = frozenset({"lease_seconds", "max_tasks", "group_by_tag", "tag"})
_MODIFY_FIELDS = frozenset({"eta_usec", "lease_seconds"})


def _body() -> codec.JsonObject:
    return codec.parse_body(request.get_data(cache=False))


def create_api_blueprint(service: QueueService) -> Blueprint:
    """The ``/v1`` routes bound to ``service``."""
    api = Blueprint("api", __name__, url_prefix="/v1")

    @api.get("/queues")
    def list_queues() -> Response:
        queues = list(service.config().queues.values())
        stats = service.stats([q.name for q in queues])
        return jsonify({"queues": [_queue(q, s) for q, s in zip(queues, stats, strict=True)]})

    @api.get("/queues/<queue>")
    def get_queue(queue: str) -> Response:
        config = service.queue(queue)
        [stats] = service.stats([config.name])
        return jsonify(_queue(config, stats))

    @api.post("/queues/<queue>/tasks")
    def add_tasks(queue: str) -> Response:
        f = codec.Fields(_body(), "", frozenset({"tasks"}))
        items = f.array("tasks")
        requests = [codec.add_request(item, f"tasks[{i}]") for i, item in enumerate(items)]
        results = service.add(queue, requests)
        return jsonify(
            {
                "tasks": [_add_result(r) for r in results],
                "added": sum(r.code is ErrorCode.OK for r in results),
            }
        )

    @api.get("/queues/<queue>/tasks")
    def peek_tasks(queue: str) -> Response:
        page = service.peek(queue, _peek_filter())
        return jsonify(
            {
                "tasks": [codec.stored_task(t, page.now_usec) for t in page.tasks],
                "next_page_token": page.next_page_token,
                "now_usec": page.now_usec,
            }
        )

    @api.get("/queues/<queue>/tasks/<name>")
    def get_task(queue: str, name: str) -> Response:
        task = service.get_task(queue, name)
        return jsonify(codec.stored_task(task, service.now_usec()))

    @api.delete("/queues/<queue>/tasks/<name>")
    def delete_task(queue: str, name: str) -> Response:
        [code] = service.delete(queue, [name])
        if code is not ErrorCode.OK:
            raise TaskQueueError(code, f"task {name!r} could not be deleted: {code.name}")
        return jsonify({"name": name, "code": code.name})

    @api.post("/queues/<queue>/delete")
    def delete_tasks(queue: str) -> Response:
        f = codec.Fields(_body(), "", frozenset({"names"}))
        names = f.array("names")
        for i, name in enumerate(names):
            if not isinstance(name, str):
                raise codec.bad(f"names[{i}]", "must be a string")
        codes = service.delete(queue, names)
        return jsonify(
            {"results": [{"name": n, "code": c.name} for n, c in zip(names, codes, strict=True)]}
        )

    @api.post("/queues/<queue>/lease")
    def lease(queue: str) -> Response:
        f = codec.Fields(_body(), "", _LEASE_FIELDS)
        tasks = service.lease(
            queue,
            f.number("lease_seconds", low=0, high=MAX_LEASE_SECONDS),
            f.integer("max_tasks", low=1, high=MAX_TASKS_PER_LEASE),
            group_by_tag=f.boolean("group_by_tag", default=False),
            tag=f.string("tag", default=None),
        )
        return jsonify({"tasks": [codec.leased_task(t) for t in tasks]})

    @api.post("/queues/<queue>/tasks/<name>/lease")
    def modify_lease(queue: str, name: str) -> Response:
        f = codec.Fields(_body(), "", _MODIFY_FIELDS)
        eta = service.modify_lease(
            queue,
            name,
            f.integer("eta_usec"),
            f.number("lease_seconds", low=0, high=MAX_LEASE_SECONDS),
        )
        return jsonify({"name": name, "eta_usec": eta, "eta": codec.rfc3339(eta)})

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
        return jsonify(codec.queue_stats(stats))

    @api.get("/time")
    def now() -> Response:
        now_usec = service.now_usec()
        return jsonify({"now_usec": now_usec, "now": codec.rfc3339(now_usec)})

    @api.get("/stats")
    def many_stats() -> Response:
        names = request.args.getlist("queue") or list(service.config().queues)
        return jsonify({"stats": [codec.queue_stats(s) for s in service.stats(names)]})

    return api


def _add_result(result: AddResult) -> codec.JsonObject:
    body: codec.JsonObject = {"code": result.code.name, "name": result.name}
    if result.eta_usec is not None:
        body["eta_usec"] = result.eta_usec
    if result.message:
        body["message"] = result.message
    return body


def _queue(queue: QueueConfig, stats: QueueStats) -> codec.JsonObject:
    return {**codec.queue_config(queue), "paused": stats.paused, "stats": codec.queue_stats(stats)}


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
    """``limit`` as an int in [1, MAX_PEEK_PAGE_SIZE], from ASCII digits only.

    ``str.isdigit()`` alone is not enough: it accepts ``'²'``, which ``int()`` rejects, and
    ``int()`` refuses strings of more than 4,300 digits; both used to end in a 500.
    """
    digits = text.lstrip("0")
    if (
        not (text.isascii() and text.isdigit())
        or len(digits) > len(str(MAX_PEEK_PAGE_SIZE))
        or not 1 <= int(digits or "0") <= MAX_PEEK_PAGE_SIZE
    ):
        raise codec.bad(
            "limit", f"must be an integer from 1 to {MAX_PEEK_PAGE_SIZE}, not {text[:20]!r}"
        )
    return int(digits)
