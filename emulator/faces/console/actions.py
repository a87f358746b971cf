"""The console's actions: the forms that change something (all POST, all CSRF-checked).

Each action calls one service method, then goes back (303) to the page named by the form's
``next`` field with a flash message saying what happened, or which error stopped it (a
lease that changed meanwhile is TASK_LEASE_EXPIRED, in words; never a 500). Adding a task
that cannot be added shows the queue's page again with the form as it was typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Blueprint, flash, redirect, request, url_for
from werkzeug.wrappers import Response

from emulator.core.service import QueueService
from emulator.domain.errors import ErrorCode, TaskQueueError
from emulator.faces.console import render
from emulator.faces.console.errors import describe, describe_error, view_of
from emulator.faces.console.forms import AddTaskForm, FormError
from emulator.faces.console.history import DepthHistory
from emulator.faces.console.login import safe_next
from emulator.faces.console.pages import queue_page
from emulator.faces.console.paths import BLUEPRINT

_TOKEN = re.compile(r"-?[0-9]{1,19}")


def _back(default: str) -> Response:
    return redirect(safe_next(request.form.get("next"), default), 303)


def _attempt(action: Callable[[], str], default: str) -> Response:
    """Run ``action``; flash its message, or the error that stopped it; go back."""
    try:
        flash(action(), "success")
    except TaskQueueError as error:
        flash(describe_error(error), "error")
    return _back(default)


def register_actions(console: Blueprint, service: QueueService, history: DepthHistory) -> None:
    """Add the action routes to the console blueprint."""

    def queue_url(queue: str) -> str:
        return url_for(f"{BLUEPRINT}.queue", queue=queue)

    @console.post("/queues/<queue>/purge")
    def purge(queue: str) -> Response:
        def run() -> str:
            count = service.purge(queue)
            return f"Purged {count} task{'' if count == 1 else 's'} from queue {queue}."

        return _attempt(run, queue_url(queue))

    @console.post("/queues/<queue>/pause")
    def pause(queue: str) -> Response:
        def run() -> str:
            service.pause(queue)
            return f"Queue {queue} is paused: leases fail with QUEUE_PAUSED until it is resumed."

        return _attempt(run, queue_url(queue))

    @console.post("/queues/<queue>/resume")
    def resume(queue: str) -> Response:
        def run() -> str:
            service.resume(queue)
            return f"Queue {queue} is running."

        return _attempt(run, queue_url(queue))

    @console.post("/queues/<queue>/tasks/<name>/delete")
    def delete(queue: str, name: str) -> Response:
        def run() -> str:
            [code] = service.delete(queue, [name])
            if code is not ErrorCode.OK:
                raise TaskQueueError(code, f"task {name!r} could not be deleted")
            return f"Deleted task {name}."

        return _attempt(run, queue_url(queue))

    @console.post("/queues/<queue>/tasks/<name>/release")
    def release(queue: str, name: str) -> Response:
        def run() -> str:
            token = _lease_token(request.form.get("eta_usec"))
            service.modify_lease(queue, name, token, 0)
            return f"Released the lease on task {name}: it is ready to be leased again."

        return _attempt(run, queue_url(queue))

    @console.post("/queues/<queue>/tasks")
    def add(queue: str) -> Response | tuple[str, int]:
        form = AddTaskForm.read(request.form)
        try:
            asked = form.request()
        except FormError as error:
            return queue_page(service, history, queue, form.with_error(error), 400)
        [result] = service.add(queue, [asked])
        if result.code is not ErrorCode.OK:
            shown = form.with_error(("add", describe(result.code, result.message)))
            return queue_page(service, history, queue, shown, view_of(result.code).status)
        when = render.utc(result.eta_usec)
        flash(f"Added task {result.name} (ready at {when}).", "success")
        return _back(queue_url(queue))


def _lease_token(text: str | None) -> int:
    """The lease token (the ETA the page showed) from the release form."""
    if text is None or not _TOKEN.fullmatch(text.strip()):
        raise TaskQueueError(
            ErrorCode.INVALID_REQUEST, f"eta_usec: not a lease token (an integer): {text!r}"
        )
    return int(text.strip())
