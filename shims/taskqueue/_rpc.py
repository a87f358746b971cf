"""RPC objects returned by the ``*_async`` methods, shaped like the SDK's ``UserRPC``.

Google's ``apiproxy_stub_map.UserRPC`` (Apache-2.0, Copyright 2007 Google LLC) wraps a
protocol-buffer call; ours wraps a call to the emulator backend. The contract users rely on
is the same: the call is made by ``make_call`` (so an RPC whose result is never fetched still
takes effect), ``wait()`` then runs the user callback once, ``check_success()`` raises the
call's exception, and ``get_result()`` runs the method's result hook, which translates
:class:`~shims.apiproxy_errors.ApplicationError` into ``taskqueue`` exceptions.

Differences: the call runs to completion inside ``make_call`` (the emulator is local, so
``*_async`` methods return finished RPCs and issuing several gives no parallelism);
``make_call`` takes a Python callable instead of request/response protocol buffers;
``request`` is None and ``response`` is the backend's Python result.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterable
from typing import Any

from emulator.domain.errors import TaskQueueError
from shims import apiproxy_errors
from shims.taskqueue._constants import DEFAULT_RPC_DEADLINE
from shims.taskqueue._errors import InvalidDeadlineError, _TranslateError

#: A backend call; it receives the deadline in seconds and returns the raw result.
Call = Callable[[float], Any]
ResultHook = Callable[["UserRPC"], Any]


class _Outcome:
    """What a finished call gave: its result, or the exception it raised."""

    __slots__ = ("_future", "exception", "result")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.result: Any = None
        self.exception: BaseException | None = None
        self._future: concurrent.futures.Future[Any] | None = None
        try:
            self.result = fn()
        except Exception as exc:  # stored for check_success(), as the SDK stores RPC errors
            self.exception = exc

    def future(self) -> concurrent.futures.Future[Any]:
        """A completed future holding this outcome, built on the first call (most calls are
        never asked for one)."""
        if self._future is None:
            self._future = concurrent.futures.Future()
            if self.exception is not None:
                self._future.set_exception(self.exception)
            else:
                self._future.set_result(self.result)
        return self._future


def _ValidateDeadline(deadline: object) -> None:
    if not isinstance(deadline, int | float):
        raise TypeError("deadline must be numeric")
    if deadline <= 0:
        raise InvalidDeadlineError("Negative or zero deadline requested")


def invoke(call: Call, deadline: float) -> Any:
    """Run ``call``; a domain error becomes ``ApplicationError(code, message)`` as on the wire."""
    try:
        return call(deadline)
    except TaskQueueError as exc:
        raise apiproxy_errors.ApplicationError(int(exc.code), exc.message) from None


def sync_call(call: Call) -> Any:
    """A synchronous call (``purge``, ``modify_task_lease``): errors come out translated."""
    try:
        return invoke(call, DEFAULT_RPC_DEADLINE)
    except apiproxy_errors.ApplicationError as exc:
        raise _TranslateError(exc.application_error, exc.error_detail) from None


def check_translated(rpc: UserRPC) -> Any:
    """Wait for ``rpc`` and return its raw result; raise its error as a taskqueue exception."""
    try:
        rpc.check_success()
    except apiproxy_errors.ApplicationError as exc:
        raise _TranslateError(exc.application_error, exc.error_detail) from None
    return rpc.response


class UserRPC:
    """An asynchronous task-queue call (see the module docstring)."""

    IDLE = 0
    RUNNING = 1
    FINISHING = 2

    def __init__(
        self,
        service: str = "taskqueue",
        deadline: float | None = None,
        callback: Callable[[], object] | None = None,
    ) -> None:
        self.__service = service
        self.__deadline = deadline
        self.callback = callback
        self.__method: str | None = None
        self.__hook: ResultHook | None = None
        self.__user_data: object = None
        self.__outcome: _Outcome | None = None
        self.__must_call_user_callback = False

    @property
    def service(self) -> str:
        """The service name (always ``'taskqueue'`` for RPCs made by this module)."""
        return self.__service

    @property
    def method(self) -> str | None:
        """The method name, e.g. ``'BulkAdd'``, once the call is made."""
        return self.__method

    @property
    def deadline(self) -> float | None:
        """The deadline in seconds, if set explicitly (otherwise None)."""
        return self.__deadline

    @property
    def request(self) -> None:
        """Always None: the shim sends no protocol buffers."""
        return None

    @property
    def response(self) -> Any:
        """The backend's raw result once the call succeeded, else None."""
        outcome = self.__outcome
        return None if outcome is None else outcome.result

    @property
    def state(self) -> int:
        """IDLE before ``make_call``, FINISHING after it (the call finishes inside
        ``make_call``, so RUNNING, the SDK's state while in flight, is never seen)."""
        return self.IDLE if self.__outcome is None else self.FINISHING

    @property
    def get_result_hook(self) -> ResultHook | None:
        """The hook ``get_result()`` runs."""
        return self.__hook

    @property
    def user_data(self) -> object:
        """Extra data for the hook."""
        return self.__user_data

    @property
    def future(self) -> concurrent.futures.Future[Any] | None:
        """A completed future holding the call's outcome, once the call is made."""
        return None if self.__outcome is None else self.__outcome.future()

    def make_call(
        self,
        method: str,
        call: Call,
        get_result_hook: ResultHook | None = None,
        user_data: object = None,
    ) -> None:
        """Run ``call`` (once per RPC object) with this RPC's deadline; keep its outcome."""
        assert self.__outcome is None, f"RPC for taskqueue.{self.__method} has already been started"
        self.__method = method
        self.__hook = get_result_hook
        self.__user_data = user_data
        deadline = self.__deadline if self.__deadline is not None else DEFAULT_RPC_DEADLINE
        self.__outcome = _Outcome(lambda: invoke(call, deadline))
        self.__must_call_user_callback = True

    def wait(self) -> None:
        """Wait for the call to finish, then run the user callback (once, even on failure)."""
        assert self.__outcome is not None, "wait() called before make_call()"
        self.__call_user_callback()

    def __call_user_callback(self) -> None:
        if self.__must_call_user_callback:
            self.__must_call_user_callback = False
            if self.callback is not None:
                self.callback()

    def check_success(self) -> None:
        """Wait, then raise the call's exception if it failed."""
        self.wait()
        assert self.__outcome is not None
        if self.__outcome.exception is not None:
            raise self.__outcome.exception

    def get_result(self) -> Any:
        """Run the result hook (which checks success) and return its value."""
        if self.__hook is None:
            self.check_success()
            return None
        return self.__hook(self)

    @classmethod
    def wait_any(cls, rpcs: Iterable[UserRPC]) -> UserRPC | None:
        """Wait until one of ``rpcs`` is finished and return it (None if none was started).

        A started call is finished (calls run inside ``make_call``): the first started one
        in ``rpcs`` is returned, after its user callback has run."""
        finished = next((rpc for rpc in rpcs if rpc.state == cls.FINISHING), None)
        if finished is not None:
            finished.wait()
        return finished

    @classmethod
    def wait_all(cls, rpcs: Iterable[UserRPC]) -> None:
        """Wait until every RPC in ``rpcs`` is finished."""
        for rpc in list(rpcs):
            if rpc.state == cls.FINISHING:
                rpc.wait()


def create_rpc(
    deadline: float | None = None, callback: Callable[[], object] | None = None
) -> UserRPC:
    """Create an RPC object for use with the Task Queue API.

    Args:
      deadline: Optional deadline in seconds; a call that takes longer raises
          ``apiproxy_errors.DeadlineExceededError``. Without one, 60 seconds.
      callback: Optional function called (without arguments) when ``get_result()``,
          ``check_success()`` or ``wait()`` is invoked, even if the call failed.

    Raises:
      TypeError: ``deadline`` is not a number.
      InvalidDeadlineError: ``deadline`` is not positive.
    """
    if deadline is not None:
        _ValidateDeadline(deadline)
    return UserRPC("taskqueue", deadline, callback)
