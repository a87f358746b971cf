"""The console's pages (GET) and its assembly: :func:`create_console`.

Each page reads the service (never the store) and renders a template; the actions that
change something are in :mod:`emulator.faces.console.actions`. Service errors become the
error page through the table in :mod:`emulator.faces.console.errors`.
"""

from __future__ import annotations

import io
import logging
import secrets
from dataclasses import dataclass
from typing import Final

from flask import Blueprint, Flask, Response, render_template, request, send_file
from flask.sansio.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException

from emulator import __version__
from emulator.core.service import QueueService
from emulator.domain.errors import TaskQueueError
from emulator.domain.limits import MAX_PULL_TASK_SIZE_BYTES
from emulator.domain.model import QueueStats, StoredTask, TaskState
from emulator.domain.queue_config import QueueConfig
from emulator.faces.console import csrf, render
from emulator.faces.console.actions import register_actions
from emulator.faces.console.chart import Chart
from emulator.faces.console.errors import describe_error, view_of
from emulator.faces.console.forms import AddTaskForm, FormError
from emulator.faces.console.headers import secure
from emulator.faces.console.history import SAMPLE_INTERVAL_SECONDS, DepthHistory, DepthSampler
from emulator.faces.console.login import logged_in, register_login
from emulator.faces.console.pages import chart_of, queue_page
from emulator.faces.console.paths import BLUEPRINT, STATIC_URL_PATH
from emulator.faces.console.session import ConsoleOnlySessions

#: The session cookie holding the CSRF token and flash messages (Flask's signed session).
SESSION_COOKIE: Final = "taskqueue_emulator_console"
#: How often pages refresh themselves while auto-refresh is on (seconds).
REFRESH_SECONDS: Final = 5
#: The largest form the console reads: a 1 MiB pull payload as hex, with spaces.
MAX_FORM_BYTES: Final = 4 * MAX_PULL_TASK_SIZE_BYTES
_log = logging.getLogger("emulator.console")


@dataclass(frozen=True)
class QueueRow:
    """One line of the queues page."""

    config: QueueConfig
    stats: QueueStats
    chart: Chart


@dataclass
class Console:
    """The console: its blueprint, its depth history and the sampler feeding it.

    Register :attr:`blueprint` on the app; :meth:`start` / :meth:`stop` run the sampler's
    thread (the app's background work, see :mod:`emulator.background`).
    """

    blueprint: Blueprint
    history: DepthHistory
    sampler: DepthSampler

    def start(self) -> None:
        """Start sampling queue depths in the background."""
        self.sampler.start()

    def stop(self) -> None:
        """Stop the background sampling."""
        self.sampler.stop()


def create_console(
    service: QueueService,
    *,
    auth_token: str | None = None,
    history: DepthHistory | None = None,
) -> Console:
    """The console over ``service`` at ``/`` (blueprint :data:`BLUEPRINT`).

    ``auth_token``: the server's token, if it has one; the console then offers its login
    page (:mod:`emulator.faces.console.login`). Registering the blueprint gives the app a
    random session secret (if it has none) and the console's session cookie settings.
    """
    history = history or DepthHistory()
    console = Blueprint(
        BLUEPRINT,
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path=STATIC_URL_PATH,
    )
    console.record_once(_configure_app)
    _guard(console, auth_token)
    _register_pages(console, service, history)
    register_actions(console, service, history)
    register_login(console, auth_token)
    return Console(console, history, DepthSampler(service, history))


def _configure_app(state: BlueprintSetupState) -> None:
    app = state.app
    if not app.secret_key:
        app.secret_key = secrets.token_bytes(32)
    if isinstance(app, Flask):  # always (the blueprint state types its app loosely)
        app.session_interface = ConsoleOnlySessions()
    app.config["SESSION_COOKIE_NAME"] = SESSION_COOKIE
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"


def _guard(console: Blueprint, auth_token: str | None) -> None:
    """CSRF check before every view, security headers after, HTML error pages."""

    @console.before_request
    def _check_form() -> None:
        request.max_form_memory_size = MAX_FORM_BYTES
        csrf.protect()

    console.after_request(secure)

    @console.context_processor
    def _helpers() -> dict[str, object]:
        return {
            "fmt": render,
            "csrf_field": csrf.FIELD,
            "csrf_token": csrf.token,
            "logged_in": logged_in(auth_token),
            "version": __version__,
            "refresh_seconds": REFRESH_SECONDS,
            "sample_seconds": SAMPLE_INTERVAL_SECONDS,
            "TaskState": TaskState,
        }

    @console.errorhandler(TaskQueueError)
    def _service_error(error: TaskQueueError) -> tuple[str, int]:
        return _error_page(view_of(error.code).status, describe_error(error))

    @console.errorhandler(FormError)
    def _form_error(error: FormError) -> tuple[str, int]:
        return _error_page(400, f"Invalid request: {error}")

    @console.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[str, int]:
        return _error_page(error.code or 500, error.description or error.name)

    @console.errorhandler(Exception)
    def _bug(error: Exception) -> tuple[str, int]:
        _log.exception("console: internal error")
        return _error_page(500, f"Internal error ({type(error).__name__}); see the server's log.")


def _error_page(status: int, message: str) -> tuple[str, int]:
    return render_template("console/error.html", status=status, message=message), status


def _register_pages(console: Blueprint, service: QueueService, history: DepthHistory) -> None:
    @console.get("/")
    def queues() -> str:
        now = service.now_usec()
        configs = list(service.config().queues.values())
        stats = service.stats([q.name for q in configs])
        history.record(now, stats)
        rows = [
            QueueRow(q, s, chart_of(history, q.name, now, compact=True))
            for q, s in zip(configs, stats, strict=True)
        ]
        return render_template("console/queues.html", rows=rows, now=now, refresh=True)

    @console.get("/queues/<queue>")
    def queue(queue: str) -> tuple[str, int]:
        return queue_page(service, history, queue, AddTaskForm(), 200)

    @console.get("/queues/<queue>/purge")
    def confirm_purge(queue: str) -> str:
        config = service.queue(queue)
        [stats] = service.stats([config.name])
        return render_template(
            "console/purge.html", queue=config, stats=stats, now=service.now_usec()
        )

    @console.get("/queues/<queue>/tasks/<name>")
    def task(queue: str, name: str) -> str:
        config = service.queue(queue)
        stored = service.get_task(config.name, name)
        text = render.as_text(stored.payload)
        view = request.args.get("view") or ("text" if text is not None else "hex")
        if view not in ("text", "hex", "base64") or (view == "text" and text is None):
            view = "hex"
        return render_template(
            "console/task.html",
            queue=config,
            task=stored,
            now=service.now_usec(),
            view=view,
            text=text,
            shown=_payload_shown(stored, view, text),
        )

    @console.get("/queues/<queue>/tasks/<name>/payload")
    def payload(queue: str, name: str) -> Response:
        stored = service.get_task(service.queue(queue).name, name)
        response = send_file(
            io.BytesIO(stored.payload),
            mimetype="application/octet-stream",
            as_attachment=True,
            download_name=f"{stored.name}.bin",
            etag=False,
        )
        response.headers["Cache-Control"] = "no-store"
        return response


def _payload_shown(task: StoredTask, view: str, text: str | None) -> str:
    if view == "text" and text is not None:
        return text
    if view == "base64":
        return render.base64_text(task.payload)
    return render.hexdump(task.payload)
