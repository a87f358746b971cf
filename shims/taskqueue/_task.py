"""``Task``: one task, validated on construction exactly as Google's SDK validates it.

Behaviour (rules, order of checks, messages, ``size``, PY3 bytes payloads, headers added
automatically) follows ``taskqueue.Task`` of Google's ``appengine-python-standard``
(Apache-2.0, Copyright 2007 Google LLC); see legacy-taskqueue-api.md §1.4.

Where the shim differs on purpose:

* "now" comes from :mod:`shims.clock` (the wall clock unless a test controls it);
* a task added without ``eta``/``countdown`` gets its ETA from the emulator's clock when it
  is added, and every added task's ``eta`` is updated to the ETA the emulator stored;
* the "HTTP_HOST is not set" warning is logged once per process, not for every task.
"""

from __future__ import annotations

import calendar
import datetime
import logging
import os
import sys
import time
import urllib.parse
from collections.abc import Sequence
from typing import Any

from emulator.domain.model import LeasedTask
from shims import clock as client_clock
from shims.taskqueue import _constants as c
from shims.taskqueue._errors import (
    InvalidDispatchDeadlineError,
    InvalidEtaError,
    InvalidTagError,
    InvalidTaskError,
    InvalidTaskNameError,
    InvalidUrlError,
    TaskTooLargeError,
    _RelativeUrlError,
)
from shims.taskqueue._headers import CaselessDict, flatten_params
from shims.taskqueue._retry import TaskRetryOptions

_log = logging.getLogger("shims.taskqueue")
_warned_about_http_host = False

_CONSTRUCTOR_KWARGS = frozenset(
    [
        "countdown",
        "eta",
        "headers",
        "method",
        "name",
        "params",
        "retry_options",
        "tag",
        "target",
        "url",
        "_size_check",
        "dispatch_deadline_usec",
    ]
)


# -- helpers that read the environment ------------------------------------------------------


def _current_namespace() -> str:
    """The namespace of ``namespace_manager`` if Google's module is loaded, else ``''``."""
    manager = sys.modules.get("google.appengine.api.namespace_manager")
    get_namespace = getattr(manager, "get_namespace", None)
    return str(get_namespace()) if callable(get_namespace) else ""


def _warn_once_without_http_host() -> None:
    global _warned_about_http_host
    if not _warned_about_http_host:
        _warned_about_http_host = True
        _log.warning(
            "The HTTP_HOST environment variable was not set, but is required to determine "
            "the correct value for the `Task.target' property. (The shim logs this once.)"
        )


def _target_from_host(host: str) -> Any:
    default_hostname = os.environ.get("DEFAULT_VERSION_HOSTNAME")
    if default_hostname is None:
        return c._UNKNOWN_APP_VERSION
    if host.endswith(default_hostname):
        version_name = host[: -(len(default_hostname) + 1)]
        if version_name:
            return version_name
    return c.DEFAULT_APP_VERSION


def _host_from_target(target: Any) -> str | None:
    """The Host header for ``target`` (the SDK asks the modules API on dev servers; the shim
    always uses ``<target>.<default hostname>``)."""
    default_hostname = os.environ.get("DEFAULT_VERSION_HOSTNAME")
    if default_hostname is None:
        return None
    if target is c.DEFAULT_APP_VERSION:
        return default_hostname
    return f"{target}.{default_hostname}"


# -- pure helpers ---------------------------------------------------------------------------


def _parse_relative_url(relative_url: str) -> tuple[str, str]:
    if not relative_url:
        raise _RelativeUrlError("The relative URL is empty")
    scheme, netloc, path, query, fragment = urllib.parse.urlsplit(relative_url)
    if scheme or netloc:
        raise _RelativeUrlError("Relative URL cannot have a scheme or location")
    if fragment:
        raise _RelativeUrlError("Relative URL cannot specify a fragment")
    if not path or path[0] != "/":
        raise _RelativeUrlError('The relative URL path must start with "/"')
    return path, query


def _determine_url(relative_url: str) -> tuple[bool, str, str]:
    """``(uses the queue's default URL, relative URL, query string)``."""
    if not relative_url:
        default_url, query = True, ""
    else:
        default_url = False
        try:
            relative_url, query = _parse_relative_url(relative_url)
        except _RelativeUrlError as exc:
            raise InvalidUrlError(exc) from None
    if len(relative_url) > c.MAX_URL_LENGTH:
        raise InvalidUrlError(
            f"The task URL must be less than {c.MAX_URL_LENGTH} characters; "
            f"found {len(relative_url)}"
        )
    return default_url, relative_url, query


def _determine_eta_posix(eta: Any, countdown: Any) -> float:
    """The ETA as float POSIX seconds: a naive ``eta`` is local time, an aware one absolute."""
    if eta is not None and countdown is not None:
        raise InvalidTaskError("Cannot use a countdown and ETA together")
    if eta is not None:
        if not isinstance(eta, datetime.datetime):
            raise InvalidTaskError("ETA must be a datetime.datetime instance")
        if eta.tzinfo is None:
            return time.mktime(eta.timetuple()) + eta.microsecond * 1e-6
        return calendar.timegm(eta.utctimetuple()) + eta.microsecond * 1e-6
    if countdown is not None:
        try:
            seconds = float(countdown)
        except ValueError:
            raise InvalidTaskError("Countdown must be a number") from None
        except OverflowError:
            raise InvalidTaskError("Countdown out of range") from None
        return client_clock.now() + seconds
    return client_clock.now()


def _encode_params(params: Any) -> str:
    return urllib.parse.urlencode(flatten_params(params))


def _convert_payload(payload: Any, headers: CaselessDict) -> Any:
    """PY3 semantics: ``str`` → UTF-8 bytes plus a text/plain content type; bytes kept."""
    if payload == "":
        payload = b""
    if payload and isinstance(payload, str):
        headers.setdefault("content-type", "text/plain; charset=utf-8")
        payload = payload.encode("utf8")
    elif payload and not isinstance(payload, bytes):
        raise InvalidTaskError(f"Task payloads must be strings; invalid payload: {payload!r}")
    return payload


def _validate_dispatch_deadline(dispatch_deadline_usec: Any) -> None:
    if not isinstance(dispatch_deadline_usec, int):
        raise TypeError("deadline must be an integer")
    deadline = datetime.timedelta(seconds=dispatch_deadline_usec / 1000000)
    if deadline > c.MAX_DISPATCH_DEADLINE:
        raise InvalidDispatchDeadlineError(
            f"Deadline cannot be more than {c.MAX_DISPATCH_DEADLINE}"
        )
    if deadline < c.MIN_DISPATCH_DEADLINE:
        raise InvalidDispatchDeadlineError(
            f"Deadline cannot be less than {c.MIN_DISPATCH_DEADLINE}"
        )


class Task:
    """Represents a single task on a queue (see Google's ``taskqueue.Task``).

    ``Task(payload=None, **kwargs)`` accepts ``countdown``, ``eta``, ``headers``, ``method``,
    ``name``, ``params``, ``retry_options``, ``tag``, ``target``, ``url`` and
    ``dispatch_deadline_usec``; ``method='PULL'`` makes a pull task. Invalid arguments raise
    the SDK's exceptions with the SDK's messages.
    """

    def __init__(self, payload: Any = None, **kwargs: Any) -> None:
        unknown = set(kwargs) - _CONSTRUCTOR_KWARGS
        if unknown:
            raise TypeError("Invalid arguments: {}".format(", ".join(unknown)))

        self.__name: str | None = kwargs.get("name")
        if self.__name and not c._TASK_NAME_RE.match(self.__name):
            raise InvalidTaskNameError(
                f'The task name does not match expression "{c._TASK_NAME_PATTERN}"; '
                f"found {self.__name}"
            )
        self.__default_url, self.__relative_url, query = _determine_url(kwargs.get("url", ""))
        self.__headers = CaselessDict()
        headers = kwargs.get("headers", {})
        if headers:
            self.__headers.update(headers)
        self.__method: str = kwargs.get("method", "POST").upper()
        self.__tag: str | None = kwargs.get("tag")
        self.__payload: Any = None
        self.__retry_count = 0
        self.__queue_name: str | None = None
        self.__dispatch_deadline_usec: int | None = kwargs.get("dispatch_deadline_usec")
        params = kwargs.get("params", {})

        self.__add_namespace_headers()
        self.__check_and_set_body(payload, params, query, kwargs)
        self.__target: Any = kwargs.get("target")
        self.__resolve_hostname_and_target()
        self.__headers_list = flatten_params(self.__headers)

        eta, countdown = kwargs.get("eta"), kwargs.get("countdown")
        self.__eta_posix: float = _determine_eta_posix(eta, countdown)
        self.__eta_usec: int | None = None
        self.__eta: datetime.datetime | None = None
        self.__eta_given = eta is not None
        self.__countdown: float | None = float(countdown) if countdown is not None else None
        self.__retry_options: TaskRetryOptions | None = kwargs.get("retry_options")
        self.__enqueued = False
        self.__deleted = False

        if self.__eta_posix - client_clock.now() > c._MAX_COUNTDOWN_SECONDS:
            raise InvalidEtaError("ETA too far in the future")
        if kwargs.get("_size_check", True):
            self.__check_size()
        if self.__dispatch_deadline_usec is not None:
            _validate_dispatch_deadline(self.__dispatch_deadline_usec)

    # -- construction steps -------------------------------------------------------------------

    def __add_namespace_headers(self) -> None:
        apps_namespace = os.environ.get("HTTP_X_APPENGINE_DEFAULT_NAMESPACE")
        if apps_namespace is not None:
            self.__headers.setdefault("X-AppEngine-Default-Namespace", apps_namespace)
        self.__headers.setdefault("X-AppEngine-Current-Namespace", _current_namespace())

    def __check_and_set_body(
        self, payload: Any, params: Any, query: str, kwargs: dict[str, Any]
    ) -> None:
        if query and params:
            raise InvalidTaskError(
                "Query string and parameters both present; only one of these can be supplied"
            )
        if self.__method != "PULL" and self.__tag is not None:
            raise InvalidTaskError("tag can only be specified for pull tasks")
        if self.__method == "PULL":
            self.__set_pull_body(payload, params, kwargs)
        elif self.__method == "POST":
            self.__set_post_body(payload, params, query)
        elif self.__method in c._NON_POST_HTTP_METHODS:
            self.__set_other_body(payload, params, query)
        else:
            raise InvalidTaskError(f"Invalid method: {self.__method}")

    def __set_pull_body(self, payload: Any, params: Any, kwargs: dict[str, Any]) -> None:
        if not self.__default_url:
            raise InvalidTaskError("url must not be specified for pull tasks")
        if kwargs.get("headers"):
            raise InvalidTaskError("headers must not be specified for pull tasks")
        if kwargs.get("target"):
            raise InvalidTaskError("target must not be specified for pull tasks")
        if params:
            if payload:
                raise InvalidTaskError(
                    "Message body and parameters both present for PULL method; "
                    "only one of these can be supplied"
                )
            payload = _encode_params(params)
        if payload is None:
            raise InvalidTaskError("payload must be specified for pull task")
        self.__payload = _convert_payload(payload, self.__headers)

    def __set_post_body(self, payload: Any, params: Any, query: str) -> None:
        if payload and params:
            raise InvalidTaskError(
                "Message body and parameters both present for POST method; "
                "only one of these can be supplied"
            )
        if query:
            raise InvalidTaskError(
                'POST method cannot have a query string; use the "params" keyword argument instead'
            )
        if params:
            self.__payload = _encode_params(params)
            self.__headers.setdefault("content-type", "application/x-www-form-urlencoded")
        elif payload is not None:
            self.__payload = _convert_payload(payload, self.__headers)

    def __set_other_body(self, payload: Any, params: Any, query: str) -> None:
        if payload and self.__method not in c._BODY_METHODS:
            raise InvalidTaskError(
                "Payload can only be specified for methods {}".format(", ".join(c._BODY_METHODS))
            )
        if payload:
            self.__payload = _convert_payload(payload, self.__headers)
        if params:
            query = _encode_params(params)
        if query:
            self.__relative_url = f"{self.__relative_url}?{query}"

    def __resolve_hostname_and_target(self) -> None:
        http_host = os.environ.get("HTTP_HOST")
        if http_host is None:
            _warn_once_without_http_host()
        if self.__target is not None and "Host" in self.__headers:
            raise InvalidTaskError("A host header cannot be set when a target is specified.")
        if self.__target is not None:
            host = _host_from_target(self.__target)
            if host:
                self.__headers["Host"] = host
        elif "Host" in self.__headers:
            self.__target = _target_from_host(self.__headers["Host"])
        elif http_host:
            self.__headers["Host"] = http_host
            self.__target = _target_from_host(http_host)
        else:
            self.__target = c._UNKNOWN_APP_VERSION

    def __check_size(self) -> None:
        pull = self.__method == "PULL"
        limit = c.MAX_PULL_TASK_SIZE_BYTES if pull else c.MAX_PUSH_TASK_SIZE_BYTES
        if self.size > limit:
            raise TaskTooLargeError(f"Task size must be less than {limit}; found {self.size}")
        if self.__tag and len(self.__tag) > c.MAX_TAG_LENGTH:
            raise InvalidTagError(
                f"Tag must be <= {c.MAX_TAG_LENGTH} bytes. Got a {len(self.__tag)} byte tag."
            )

    # -- built by the shim ---------------------------------------------------------------------

    @classmethod
    def _from_leased(cls, queue_name: str, leased: Sequence[LeasedTask]) -> list[Task]:
        """Tasks for the tasks one lease handed out, in order (``eta`` is the lease expiry).

        Built from one template instead of one ``Task(...)`` each: the constructor (namespace
        headers and ``HTTP_HOST`` read from the environment, header flattening, ETA checks)
        was over half of an embedded lease's time (docs/PERFORMANCE.md). For a pull task with
        a bytes payload, no attribute depends on the name, payload, tag, ETA or retry count,
        so each task is the template's state with those five set. The tasks share the
        template's header dict, which a Task never changes after construction (``headers``
        returns a copy). The names come from the emulator, which validated them on add.
        """
        if not leased:
            return []
        template = cls(payload=b"", _size_check=False, method="PULL")
        template.__queue_name = queue_name
        template.__enqueued = True
        state = template.__dict__
        tasks: list[Task] = []
        for each in leased:
            task = cls.__new__(cls)
            task.__dict__.update(state)
            task.__name = each.name
            task.__payload = each.payload
            task.__tag = each.tag
            task.__retry_count = each.retry_count
            task._set_eta_usec(each.eta_usec)
            tasks.append(task)
        return tasks

    def _set_eta_usec(self, eta_usec: int) -> None:
        """Take the ETA the emulator reports (exact microseconds: the lease token)."""
        self.__eta_usec = eta_usec
        self.__eta_posix = eta_usec * 1e-6
        self.__eta = None

    def _eta_for_add(self) -> tuple[int | None, float | None]:
        """``(eta_usec, countdown_seconds)`` to send: the ETA if one was given, the countdown
        if one was given, else neither (the emulator's clock decides)."""
        if self.__eta_given or self.__eta_usec is not None:
            return self._eta_usec, None
        return None, self.__countdown

    def _mark_added(self, queue_name: str, name: str | None, eta_usec: int | None) -> None:
        if name:
            self.__name = name
        if eta_usec is not None:
            self._set_eta_usec(eta_usec)
        self.__queue_name = queue_name
        self.__enqueued = True

    def _mark_deleted(self, deleted: bool) -> None:
        self.__deleted = deleted

    # -- public properties ---------------------------------------------------------------------

    @property
    def dispatch_deadline_usec(self) -> int | None:
        """Returns the dispatch deadline set for the task."""
        return self.__dispatch_deadline_usec

    @property
    def eta_posix(self) -> float:
        """Returns a POSIX timestamp of when this task will run or be leased."""
        return self.__eta_posix

    @property
    def eta(self) -> datetime.datetime:
        """Returns an aware UTC ``datetime`` of when this task will run or be leased."""
        if self.__eta is None:
            self.__eta = datetime.datetime.fromtimestamp(self.__eta_posix, c._UTC)
        return self.__eta

    @property
    def _eta_usec(self) -> int:
        """The ETA in integer microseconds (what a lease token is compared with)."""
        if self.__eta_usec is not None:
            return self.__eta_usec
        return round(self.__eta_posix * 1e6)

    @property
    def headers(self) -> dict[str, Any]:
        """Returns a copy of the HTTP headers for this task."""
        return self.__headers.copy()

    @property
    def method(self) -> str:
        """Returns the method to use for this task."""
        return self.__method

    @property
    def name(self) -> str | None:
        """Returns the name of this task (the chosen one once an unnamed task is added)."""
        return self.__name

    @property
    def on_queue_url(self) -> bool:
        """Returns True if task runs on queue's default URL (push tasks only)."""
        return self.__default_url

    @property
    def payload(self) -> Any:
        """Returns the payload (bytes for pull tasks; can be None for push tasks)."""
        return self.__payload

    @property
    def queue_name(self) -> str | None:
        """Returns the name of the queue with which this task is associated."""
        return self.__queue_name

    @property
    def retry_count(self) -> int:
        """Returns the number of retries or leases attempted on the task."""
        return self.__retry_count

    @property
    def retry_options(self) -> TaskRetryOptions | None:
        """Returns the ``TaskRetryOptions`` of this task, if any."""
        return self.__retry_options

    @property
    def size(self) -> int:
        """Returns the size of this task in bytes, counting method, URL and headers."""
        separator = len(": \r\n")
        header_size = sum(len(key) + len(value) + separator for key, value in self.__headers_list)
        return (
            len(self.__method) + len(self.__payload or "") + len(self.__relative_url) + header_size
        )

    @property
    def tag(self) -> str | None:
        """Returns the tag for this task."""
        return self.__tag

    @property
    def target(self) -> Any:
        """Returns the target for this task."""
        return self.__target

    @property
    def url(self) -> str:
        """Returns the relative URL for this task (push tasks only)."""
        return self.__relative_url

    @property
    def was_enqueued(self) -> bool:
        """Returns True if this task has been inserted into a queue."""
        return self.__enqueued

    @property
    def was_deleted(self) -> bool:
        """Returns True if this task was successfully deleted."""
        return self.__deleted

    # -- methods -------------------------------------------------------------------------------

    def add_async(
        self, queue_name: str = c._DEFAULT_QUEUE, transactional: bool = False, rpc: Any = None
    ) -> Any:
        """Asynchronously adds this task to a queue. See ``Queue.add_async``."""
        from shims.taskqueue._queue import Queue

        return Queue(queue_name).add_async(self, transactional, rpc)

    def add(self, queue_name: str = c._DEFAULT_QUEUE, transactional: bool = False) -> Any:
        """Adds this task to a queue. See ``Queue.add``."""
        return self.add_async(queue_name, transactional).get_result()

    def extract_params(self) -> dict[Any, Any]:
        """The URL-encoded parameters of the payload (PULL/POST) or of the URL's query.

        A repeated name gives a list. Values are bytes (and so are keys for a bytes payload).

        Raises:
          ValueError: the payload or query is not valid ``x-www-form-urlencoded`` data.
        """
        query: Any
        if self.__method in ("PULL", "POST"):
            query = self.__payload
        else:
            query = urllib.parse.urlparse(self.__relative_url).query
        params: dict[Any, Any] = {}
        if not query:
            return params
        for key, value in urllib.parse.parse_qsl(
            query, keep_blank_values=True, strict_parsing=True
        ):
            params.setdefault(key, []).append(value if isinstance(value, bytes) else value.encode())
        return {key: values[0] if len(values) == 1 else values for key, values in params.items()}

    def __repr__(self) -> str:
        attrs = [
            "eta",
            "method",
            "name",
            "queue_name",
            "payload",
            "size",
            "retry_options",
            "was_enqueued",
            "was_deleted",
        ]
        attrs += ["tag"] if self.method == "PULL" else ["headers", "url", "target"]
        properties = ", ".join(f"{attr}={getattr(self, attr)!r}" for attr in sorted(attrs))
        return f"Task<{properties}>"
