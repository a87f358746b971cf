"""Client-side validation and Task properties: the shim against Google's SDK, side by side.

Each case runs the same call through Google's ``taskqueue`` module and the shim (in one
process, on one fake clock) and expects the same exception class and message, or equal
properties. None of these cases reaches a backend.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.shim_support import (
    PULL,
    T0,
    embedded_backend,
    sdk_world,
    shim_world,
    write_queue_yaml,
)

Modules = tuple[Any, Any]


@pytest.fixture
def modules(tmp_path: Path) -> Iterator[Modules]:
    """(Google's taskqueue, the shim's taskqueue), both reading time T0."""
    write_queue_yaml(tmp_path)
    backend = embedded_backend(tmp_path / "queue.yaml")
    try:
        with sdk_world(tmp_path) as sdk, shim_world(backend) as shim:
            yield sdk.taskqueue, shim.taskqueue
    finally:
        backend.close()


def raised(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(Exception) as info:
        call()
    return type(info.value).__name__, str(info.value)


def assert_same_error(modules: Modules, call: Callable[[Any], Any]) -> None:
    sdk, shim = modules
    expected = raised(lambda: call(sdk))
    assert raised(lambda: call(shim)) == expected


BIG = b"x" * (2**20)
NOW = datetime.datetime.fromtimestamp(T0 / 1e6, datetime.timezone.utc)

TASK_ERRORS: dict[str, Callable[[Any], Any]] = {
    "pull without payload": lambda tq: tq.Task(method="PULL"),
    "tag on a push task": lambda tq: tq.Task(payload="x", tag="t"),
    "url on a pull task": lambda tq: tq.Task(payload="x", method="PULL", url="/a"),
    "headers on a pull task": lambda tq: tq.Task(payload="x", method="PULL", headers={"a": "b"}),
    "target on a pull task": lambda tq: tq.Task(payload="x", method="PULL", target="v1"),
    "payload and params (pull)": lambda tq: tq.Task(payload="x", method="PULL", params={"a": "1"}),
    "payload and params (post)": lambda tq: tq.Task(payload="x", params={"a": "1"}),
    "tag too long": lambda tq: tq.Task(payload="x", method="PULL", tag="t" * 501),
    "pull task too large": lambda tq: tq.Task(payload=BIG, method="PULL"),
    "push task too large": lambda tq: tq.Task(payload=b"x" * (100 * 1024)),
    "bad task name": lambda tq: tq.Task(payload="x", method="PULL", name="a.b"),
    "task name too long": lambda tq: tq.Task(payload="x", method="PULL", name="n" * 501),
    "countdown of 31 days": lambda tq: tq.Task(payload="x", method="PULL", countdown=31 * 86400),
    "eta 31 days ahead": lambda tq: tq.Task(
        payload="x", method="PULL", eta=NOW + datetime.timedelta(days=31)
    ),
    "countdown not a number": lambda tq: tq.Task(payload="x", method="PULL", countdown="soon"),
    "countdown overflows": lambda tq: tq.Task(payload="x", method="PULL", countdown=10**400),
    "countdown and eta": lambda tq: tq.Task(payload="x", countdown=1, eta=NOW),
    "eta not a datetime": lambda tq: tq.Task(payload="x", eta="2026-01-01"),
    "unknown keyword": lambda tq: tq.Task(payload="x", method="PULL", bogus=1),
    "payload not a string": lambda tq: tq.Task(payload=5, method="PULL"),
    "invalid method": lambda tq: tq.Task(method="FETCH"),
    "payload with GET": lambda tq: tq.Task(payload="x", method="GET"),
    "absolute url": lambda tq: tq.Task(url="http://example.com/a"),
    "url with fragment": lambda tq: tq.Task(url="/a#b"),
    "url without slash": lambda tq: tq.Task(url="a"),
    "url too long": lambda tq: tq.Task(url="/" + "a" * 2100),
    "query string and params": lambda tq: tq.Task(url="/a?x=1", params={"b": "2"}, method="PUT"),
    "query string on POST": lambda tq: tq.Task(url="/a?x=1"),
    "dispatch deadline too short": lambda tq: tq.Task(url="/a", dispatch_deadline_usec=10),
    "dispatch deadline too long": lambda tq: tq.Task(
        url="/a", dispatch_deadline_usec=25 * 3600 * 10**6
    ),
    "dispatch deadline not an int": lambda tq: tq.Task(url="/a", dispatch_deadline_usec=1.5),
    "target with a Host header": lambda tq: tq.Task(url="/a", target="v1", headers={"Host": "h"}),
}


@pytest.mark.parametrize("case", sorted(TASK_ERRORS))
def test_task_constructor_rejects_like_the_sdk(modules: Modules, case: str) -> None:
    assert_same_error(modules, TASK_ERRORS[case])


OTHER_ERRORS: dict[str, Callable[[Any], Any]] = {
    "retry: negative min backoff": lambda tq: tq.TaskRetryOptions(min_backoff_seconds=-1),
    "retry: negative max backoff": lambda tq: tq.TaskRetryOptions(max_backoff_seconds=-1),
    "retry: max below min": lambda tq: tq.TaskRetryOptions(
        min_backoff_seconds=2, max_backoff_seconds=1
    ),
    "retry: negative doublings": lambda tq: tq.TaskRetryOptions(max_doublings=-1),
    "retry: negative retry limit": lambda tq: tq.TaskRetryOptions(task_retry_limit=-1),
    "retry: negative age limit": lambda tq: tq.TaskRetryOptions(task_age_limit=-1),
    "retry: unknown keyword": lambda tq: tq.TaskRetryOptions(bogus=1),
    "queue name with underscore": lambda tq: tq.Queue("a_b"),
    "queue name too long": lambda tq: tq.Queue("q" * 101),
    "rpc deadline zero": lambda tq: tq.create_rpc(deadline=0),
    "rpc deadline not a number": lambda tq: tq.create_rpc(deadline="1"),
    "lease too long": lambda tq: tq.Queue(PULL).lease_tasks(604801, 1),
    "lease negative": lambda tq: tq.Queue(PULL).lease_tasks(-1, 1),
    "lease seconds not a number": lambda tq: tq.Queue(PULL).lease_tasks("1", 1),
    "too many tasks per lease": lambda tq: tq.Queue(PULL).lease_tasks(1, 1001),
    "zero tasks per lease": lambda tq: tq.Queue(PULL).lease_tasks(0, 0),
    "max tasks not an int": lambda tq: tq.Queue(PULL).lease_tasks(1, 1.0),
    "lease deadline zero": lambda tq: tq.Queue(PULL).lease_tasks(1, 1, deadline=0),
    "lease deadline not a number": lambda tq: tq.Queue(PULL).lease_tasks(1, 1, deadline="x"),
    "lease by tag too long": lambda tq: tq.Queue(PULL).lease_tasks_by_tag(604801, 1),
    "lease by tag: zero tasks": lambda tq: tq.Queue(PULL).lease_tasks_by_tag(1, 0, tag="a"),
    "modify lease: negative": lambda tq: tq.Queue(PULL).modify_task_lease(
        tq.Task(name="t", payload="", method="PULL"), -1
    ),
    "add push and pull together": lambda tq: tq.Queue(PULL).add(
        [tq.Task(payload="x", method="PULL"), tq.Task(payload="x")]
    ),
    "add 101 tasks": lambda tq: tq.Queue(PULL).add(
        [tq.Task(payload="x", method="PULL") for _ in range(101)]
    ),
    "add a repeated name": lambda tq: tq.Queue(PULL).add(
        [tq.Task(payload="x", method="PULL", name="n") for _ in range(2)]
    ),
    "delete an unnamed task": lambda tq: tq.Queue(PULL).delete_tasks(tq.Task(payload="x")),
    "delete a repeated name": lambda tq: tq.Queue(PULL).delete_tasks_by_name(["a", "a"]),
    "stats: names and queues mixed": lambda tq: tq.QueueStatistics.fetch([PULL, tq.Queue(PULL)]),
    "stats: deadline zero": lambda tq: tq.QueueStatistics.fetch(PULL, deadline=0),
    "fetch_statistics: deadline zero": lambda tq: tq.Queue(PULL).fetch_statistics(deadline=0),
    "modify lease of an unnamed task": lambda tq: tq.Queue(PULL).modify_task_lease(
        tq.Task(payload="", method="PULL"), 1
    ),
}


@pytest.mark.parametrize("case", sorted(OTHER_ERRORS))
def test_other_client_checks_match_the_sdk(modules: Modules, case: str) -> None:
    assert_same_error(modules, OTHER_ERRORS[case])


def test_transactional_add_is_refused_with_the_sdk_exception(modules: Modules) -> None:
    sdk, shim = modules
    name, message = raised(lambda: shim.Queue(PULL).add(shim.Task(payload="x"), True))
    assert name == "BadTransactionStateError"
    assert message.startswith("Transactional adds are not allowed outside of transactions")
    assert raised(lambda: sdk.Queue(PULL).add(sdk.Task(payload="x"), True))[0] == name


def task_view(task: Any) -> dict[str, Any]:
    names = [
        "payload",
        "headers",
        "size",
        "method",
        "url",
        "tag",
        "name",
        "on_queue_url",
        "retry_count",
        "was_enqueued",
        "was_deleted",
        "queue_name",
        "eta",
        "eta_posix",
        "_eta_usec",
        "dispatch_deadline_usec",
    ]
    view = {name: getattr(task, name) for name in names}
    view["target"] = repr(task.target)
    view["repr"] = repr(task)
    return view


TASKS: dict[str, Callable[[Any], Any]] = {
    "str payload": lambda tq: tq.Task(payload="héllo", method="PULL"),
    "bytes payload": lambda tq: tq.Task(payload=b"\x00\xff", method="PULL", tag="t"),
    "empty payload": lambda tq: tq.Task(payload="", method="PULL"),
    "params": lambda tq: tq.Task(method="PULL", params={"a": ["1", "2"], "b": "x y"}),
    "named, countdown": lambda tq: tq.Task(payload=b"p", method="pull", name="n-1", countdown=90),
    "aware eta": lambda tq: tq.Task(
        payload=b"p", method="PULL", eta=NOW + datetime.timedelta(seconds=5, microseconds=7)
    ),
    "naive eta": lambda tq: tq.Task(payload=b"p", method="PULL", eta=datetime.datetime(2026, 1, 2)),
    "push default url": lambda tq: tq.Task(payload="p"),
    "push with params": lambda tq: tq.Task(url="/work", params={"k": "v"}),
    "push GET with params": lambda tq: tq.Task(url="/work?a=1", method="GET"),
    "push PUT params": lambda tq: tq.Task(url="/w", method="PUT", params={"k": "v"}),
    "push with headers": lambda tq: tq.Task(
        url="/w", payload=b"b", headers={"X-A": ["1", "2"], "content-type": "a/b"}
    ),
    "push with target": lambda tq: tq.Task(url="/w", target="v2"),
    "push with deadline": lambda tq: tq.Task(url="/w", dispatch_deadline_usec=20 * 10**6),
    "retry options": lambda tq: tq.Task(
        url="/w", retry_options=tq.TaskRetryOptions(task_age_limit=1.5, task_retry_limit=3)
    ),
}


@pytest.mark.parametrize("case", sorted(TASKS))
def test_task_properties_match_the_sdk(modules: Modules, case: str) -> None:
    sdk, shim = modules
    assert task_view(TASKS[case](shim)) == task_view(TASKS[case](sdk))


@pytest.mark.parametrize("case", ["params", "push with params", "push GET with params"])
def test_extract_params_matches_the_sdk(modules: Modules, case: str) -> None:
    sdk, shim = modules
    assert TASKS[case](shim).extract_params() == TASKS[case](sdk).extract_params()


def test_extract_params_of_a_pull_task_gives_bytes(modules: Modules) -> None:
    _, shim = modules
    task = shim.Task(method="PULL", params={"a": ["1", "2"], "b": "x y"})
    assert task.payload == b"a=1&a=2&b=x+y"
    assert task.extract_params() == {b"a": [b"1", b"2"], b"b": b"x y"}


def test_bad_form_data_raises_value_error_like_the_sdk(modules: Modules) -> None:
    assert_same_error(modules, lambda tq: tq.Task(payload="a", method="PULL").extract_params())


def test_retry_options_match_the_sdk(modules: Modules) -> None:
    sdk, shim = modules
    kwargs = dict(
        min_backoff_seconds=1,
        max_backoff_seconds=2,
        task_age_limit=2.1,
        max_doublings=3,
        task_retry_limit=4,
    )
    ours, theirs = shim.TaskRetryOptions(**kwargs), sdk.TaskRetryOptions(**kwargs)
    for name in kwargs:
        assert getattr(ours, name) == getattr(theirs, name)
    assert ours.task_age_limit == 3


def test_naive_eta_is_local_time(modules: Modules, monkeypatch: pytest.MonkeyPatch) -> None:
    sdk, shim = modules
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        naive = datetime.datetime(2026, 1, 1, 12)
        aware = naive.replace(tzinfo=datetime.timezone.utc)
        ours = shim.Task(payload="", method="PULL", eta=naive)
        assert ours.eta_posix == sdk.Task(payload="", method="PULL", eta=naive).eta_posix
        assert ours.eta_posix - shim.Task(payload="", method="PULL", eta=aware).eta_posix == 18000
        assert ours.eta.tzinfo is not None and ours.eta.utcoffset() == datetime.timedelta(0)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_module_exports_every_public_name_of_the_sdk(modules: Modules) -> None:
    from google.appengine.api.taskqueue import taskqueue as sdk_module

    from shims import taskqueue as shim_package
    from shims.taskqueue import taskqueue as shim_module

    assert sorted(shim_module.__all__) == sorted(sdk_module.__all__)
    for name in sdk_module.__all__:
        assert hasattr(shim_package, name), name
        assert hasattr(shim_module, name), name
    for name in ("InvalidTaskRetryOptionsError", "MAX_TAG_LENGTH", "taskqueue"):
        assert hasattr(shim_package, name)


def test_constants_and_exception_tree_match_the_sdk(modules: Modules) -> None:
    sdk, shim = modules
    for name in sdk.taskqueue.__all__:
        ours, theirs = getattr(shim, name), getattr(sdk, name)
        if isinstance(theirs, type):
            assert [c.__name__ for c in ours.__mro__] == [c.__name__ for c in theirs.__mro__]
        elif isinstance(theirs, int | datetime.timedelta):
            assert ours == theirs, name
    assert repr(shim.DEFAULT_APP_VERSION) == repr(sdk.DEFAULT_APP_VERSION)
    assert shim.BadTransactionState is shim.BadTransactionStateError


def test_error_mapping_matches_the_sdk(modules: Modules) -> None:
    from google.appengine.api.taskqueue import taskqueue as sdk_module

    from shims.taskqueue import taskqueue as shim_module

    for code in [*range(0, 30), 10000]:
        ours = shim_module._TranslateError(code, "detail")
        theirs = sdk_module._TranslateError(code, "detail")
        assert type(ours).__name__ == (
            "DatastoreError" if code >= 10000 else type(theirs).__name__
        ), code
        if code < 10000:
            assert str(ours) == str(theirs)


def test_apiproxy_errors_match_the_sdk() -> None:
    from google.appengine.runtime import apiproxy_errors as sdk_errors

    from shims import apiproxy_errors

    for name in dir(sdk_errors):
        theirs = getattr(sdk_errors, name)
        if isinstance(theirs, type) and issubclass(theirs, Exception):
            ours = getattr(apiproxy_errors, name)
            assert [c.__name__ for c in ours.__mro__] == [c.__name__ for c in theirs.__mro__]
    error = apiproxy_errors.ApplicationError(25, "expired")
    assert str(error) == str(sdk_errors.ApplicationError(25, "expired"))
    assert (error.application_error, error.error_detail) == (25, "expired")
    interrupted = apiproxy_errors.InterruptedError(ValueError("x"), "rpc")
    assert interrupted.rpc == "rpc" and isinstance(interrupted.exception, ValueError)


def test_queue_objects_compare_like_the_sdk(modules: Modules) -> None:
    sdk, shim = modules
    assert repr(shim.Queue(PULL)) == repr(sdk.Queue(PULL))
    assert shim.Queue(PULL) == shim.Queue(PULL)
    assert shim.Queue(PULL) != shim.Queue("other")
    assert shim.Queue().name == sdk.Queue().name == "default"
    with pytest.raises(TypeError):
        hash(shim.Queue(PULL))
    stats = shim.QueueStatistics(shim.Queue(PULL), 3, 5)
    assert stats == shim.QueueStatistics(shim.Queue(PULL), 3, 5)
    assert stats != shim.QueueStatistics(shim.Queue(PULL), 4, 5)
    assert repr(stats) == repr(sdk.QueueStatistics(sdk.Queue(PULL), 3, 5))
