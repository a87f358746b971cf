"""Rendering a queue's page, shared by its view and by the add-task action (which shows the
page again, with the form as typed, when the task cannot be added)."""

from __future__ import annotations

from flask import render_template, request, url_for

from emulator.core.service import QueueService
from emulator.domain.queue_config import QueueMode
from emulator.faces.console.chart import Chart, depth_chart
from emulator.faces.console.forms import PAGE_SIZES, AddTaskForm, listing
from emulator.faces.console.history import DepthHistory


def queue_page(
    service: QueueService, history: DepthHistory, queue: str, form: AddTaskForm, status: int
) -> tuple[str, int]:
    """A queue's page: its statistics, depth chart, one page of its tasks (as the query
    string asks) and the add-task form (``form``, with its errors after a failed add)."""
    config = service.queue(queue)
    wanted = listing(request.args)
    page = service.peek(config.name, wanted.peek_filter())
    [stats] = service.stats([config.name])
    now = page.now_usec
    history.record(now, [stats])
    here = (
        request.full_path.rstrip("?")
        if request.method == "GET"
        else url_for("console.queue", queue=config.name)
    )
    html = render_template(
        "console/queue.html",
        queue=config,
        stats=stats,
        page=page,
        wanted=wanted,
        now=now,
        chart=chart_of(history, config.name, now, compact=False),
        form=form,
        page_sizes=PAGE_SIZES,
        pull=config.mode is QueueMode.PULL,
        here=here,
        refresh=True,
    )
    return html, status


def chart_of(history: DepthHistory, queue: str, now: int, *, compact: bool) -> Chart:
    """The depth chart of ``queue`` at ``now``: a sparkline (``compact``) or a full chart."""
    samples = history.series(queue, now)
    if compact:
        return depth_chart(samples, now, history.window_usec, width=160, height=36, compact=True)
    return depth_chart(samples, now, history.window_usec, width=720, height=200)
