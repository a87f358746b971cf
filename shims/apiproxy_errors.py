"""Drop-in ``google.appengine.runtime.apiproxy_errors``: errors raised by API calls.

Mirrors the class tree of Google's ``appengine-python-standard`` module of the same name
(Apache-2.0, Copyright 2007 Google LLC), which legacy code catches around task-queue calls,
e.g. ``except (taskqueue.TransientError, apiproxy_errors.DeadlineExceededError)``.

The shim raises :class:`DeadlineExceededError` when the emulator does not answer within an
RPC's deadline, and :class:`ApplicationError` (translated to ``taskqueue`` exceptions by the
RPC's result hook) for errors the emulator reports.
"""

from __future__ import annotations

__all__ = [
    "ApplicationError",
    "ArgumentError",
    "CallNotFoundError",
    "CancelledError",
    "CapabilityDisabledError",
    "DeadlineExceededError",
    "Error",
    "FeatureNotEnabledError",
    "InterruptedError",
    "OverQuotaError",
    "RPCFailedError",
    "RequestTooLargeError",
    "ResponseTooLargeError",
    "RpcAuthorityError",
]


class Error(Exception):
    """Base `APIProxy` error type."""


class RPCFailedError(Error):
    """Raised by `APIProxy` calls when the RPC to the application server fails."""


class CallNotFoundError(Error):
    """Raised by `APIProxy` calls when the requested method cannot be found."""


class ArgumentError(Error):
    """Raised by `APIProxy` calls if there is an error parsing the arguments."""


class DeadlineExceededError(Error):
    """Raised by `APIProxy` calls if the call took too long to respond.

    Not to be confused with ``google.appengine.runtime.DeadlineExceededError``, which is
    raised when the overall HTTP request deadline is exceeded.
    """


class CancelledError(Error):
    """Raised by `APIProxy` calls if the call was cancelled."""


class ApplicationError(Error):
    """An application-level error: ``application_error`` is a ``TaskQueueServiceError`` code."""

    def __init__(self, application_error: int, error_detail: str = "") -> None:
        self.application_error = application_error
        self.error_detail = error_detail
        Error.__init__(self, application_error)

    def __str__(self) -> str:
        return f"ApplicationError: {self.application_error} {self.error_detail}"


class OverQuotaError(Error):
    """Raised by `APIProxy` calls when they have been blocked for lack of quota."""


class RequestTooLargeError(Error):
    """Raised by `APIProxy` calls if the request was too large."""


class ResponseTooLargeError(Error):
    """Raised by `APIProxy` calls if the response was too large."""


class CapabilityDisabledError(Error):
    """Raised by `APIProxy` when API calls are temporarily disabled."""


class FeatureNotEnabledError(Error):
    """Raised by `APIProxy` when the app must enable a feature to use this call."""


class InterruptedError(Error):
    """Raised when a wait is interrupted by an uncaught exception from some callback."""

    def __init__(self, exception: BaseException | None, rpc: object) -> None:
        self.args = (
            "The Wait() request was interrupted by an exception from another callback:",
            exception,
        )
        self.__rpc = rpc
        self.__exception = exception

    @property
    def rpc(self) -> object:
        """The RPC whose callback raised."""
        return self.__rpc

    @property
    def exception(self) -> BaseException | None:
        """The exception raised by the callback."""
        return self.__exception


class RpcAuthorityError(Error):
    """Raised by `APIProxy` when loading RPC authority from the environment."""
