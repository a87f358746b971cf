"""queue.yaml loading: queueinfo's syntax, production's pull/push rules, located errors, reload."""

from __future__ import annotations

import logging
import os
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from emulator.config import ConfigError, ConfigWatcher, load_queue_yaml, parse_queue_yaml, rules
from emulator.domain.queue_config import (
    AclEntry,
    QueueMode,
    QueuesConfig,
    RetryParameters,
    default_queue,
)

FULL_YAML = """\
application: my-app
total_storage_limit: 1.5G
resume_paused_queues: True
queue:
- name: pull-a
  mode: pull
  retry_parameters:
    task_retry_limit: 7
  acl:
  - user_email: alice@example.com
  - writer_email: bob@example.com
- name: push-b
  mode: push
  rate: 10/m
  bucket_size: 20
  max_concurrent_requests: 3
  target: v2.worker
  retry_parameters:
    task_retry_limit: 0
    task_age_limit: 2d
    min_backoff_seconds: 0.5
    max_backoff_seconds: 200
    max_doublings: 4
"""


def write(tmp_path: Path, text: str, name: str = "queue.yaml") -> Path:
    """Write ``text`` (dedented) to a file under ``tmp_path`` and return its path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> ConfigError:
    """The ConfigError that loading ``text`` from a file raises."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_queue_yaml(path)
    assert info.value.path == str(path)
    return info.value


# --------------------------------------------------------------------------- good files


def test_full_file_parses_every_key(tmp_path: Path) -> None:
    # Given a file using every key
    path = write(tmp_path, FULL_YAML)
    # When it is loaded
    config = load_queue_yaml(path)
    # Then every value is parsed
    assert config.application == "my-app"
    assert config.total_storage_limit_bytes == 1610612736
    assert config.resume_paused_queues is True
    assert config.source == str(path)
    assert list(config.queues) == ["default", "pull-a", "push-b"]
    pull = config.queues["pull-a"]
    assert pull.mode is QueueMode.PULL
    assert pull.line == 5
    assert pull.rate is None
    assert pull.retry_parameters == RetryParameters(task_retry_limit=7)
    assert pull.acl == (
        AclEntry(user_email="alice@example.com"),
        AclEntry(writer_email="bob@example.com"),
    )
    assert pull.lease_limit() == 7
    push = config.queues["push-b"]
    assert push.mode is QueueMode.PUSH
    assert push.line == 12
    assert push.rate == "10/m"
    assert push.rate_per_second == pytest.approx(0.16667, abs=1e-5)
    assert push.bucket_size == 20
    assert push.max_concurrent_requests == 3
    assert push.target == "v2.worker"
    assert push.retry_parameters == RetryParameters(
        task_retry_limit=0,
        task_age_limit_sec=172800,
        min_backoff_seconds=0.5,
        max_backoff_seconds=200.0,
        max_doublings=4,
    )


@pytest.mark.parametrize(
    ("rate", "per_second"),
    [
        ("5/s", 5.0),
        ("10/m", 10 / 60),
        ("5./s", 5.0),
        ("0", 0.0),
        ("1.5/h", 1.5 / 3600),
        ("86400/d", 1.0),
        ('"2/s"', 2.0),
    ],
)
def test_rates_are_parsed_to_per_second(rate: str, per_second: float) -> None:
    config = parse_queue_yaml(f"queue:\n- name: q\n  rate: {rate}\n")
    queue = config.queues["q"]
    assert queue.rate == rate.strip('"')
    assert queue.rate_per_second == pytest.approx(per_second)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("1.5G", 1610612736),
        ("100", 100),
        ("100B", 100),
        ("2K", 2048),
        ("1M", 2**20),
        ("1T", 2**40),
        ("5.K", 5120),
        ("0.5M", 2**19),
        ("0.1K", 102),
        ("1" + "0" * 30 + "T", 10**30 * 2**40),
    ],
)
def test_total_storage_limit_is_parsed_to_bytes(limit: str, expected: int) -> None:
    config = parse_queue_yaml(f"total_storage_limit: {limit}\n")
    assert config.total_storage_limit_bytes == expected


@pytest.mark.parametrize(
    ("age", "seconds"),
    [
        ("30s", 30),
        ("1m", 60),
        ("1.5h", 5400),
        ("2d", 172800),
        ("0.1m", 6),
        ("1.25s", 2),
        ("5.s", 5),
    ],
)
def test_task_age_limit_is_whole_seconds_rounded_up(age: str, seconds: int) -> None:
    text = f"queue:\n- name: q\n  rate: 1/s\n  retry_parameters:\n    task_age_limit: {age}\n"
    retry = parse_queue_yaml(text).queues["q"].retry_parameters
    assert retry is not None
    assert retry.task_age_limit_sec == seconds


@pytest.mark.parametrize("target", ["worker", "v1.worker", "a-1.b-2"])
def test_target_module_or_version_module(target: str) -> None:
    config = parse_queue_yaml(f"queue:\n- name: q\n  rate: 1/s\n  target: {target}\n")
    assert config.queues["q"].target == target


def test_resume_paused_queues_false() -> None:
    assert parse_queue_yaml("resume_paused_queues: False\n").resume_paused_queues is False


@pytest.mark.parametrize("application", ["my-app", "s~my-app", "example.com:my-app", "a"])
def test_application_ids(application: str) -> None:
    assert parse_queue_yaml(f"application: {application}\n").application == application


def test_only_min_backoff_is_stored_as_given() -> None:
    text = "queue:\n- name: q\n  rate: 1/s\n  retry_parameters:\n    min_backoff_seconds: 7200\n"
    retry = parse_queue_yaml(text).queues["q"].retry_parameters
    assert retry == RetryParameters(min_backoff_seconds=7200.0)


def test_equal_backoffs_are_fine() -> None:
    text = """\
    queue:
    - name: q
      rate: 1/s
      retry_parameters: {min_backoff_seconds: 3, max_backoff_seconds: 3.0}
    """
    retry = parse_queue_yaml(textwrap.dedent(text)).queues["q"].retry_parameters
    assert retry == RetryParameters(min_backoff_seconds=3.0, max_backoff_seconds=3.0)


def test_null_values_mean_not_set() -> None:
    text = """\
    queue:
    - name: q
      mode: pull
      rate:
      target: ~
      acl:
      retry_parameters:
    """
    queue = parse_queue_yaml(textwrap.dedent(text)).queues["q"]
    assert queue.rate is None
    assert queue.target is None
    assert queue.acl == ()
    assert queue.retry_parameters is None


def test_numeric_queue_name_is_text() -> None:
    assert "123" in parse_queue_yaml("queue:\n- name: 123\n  rate: 1/s\n").queues


def test_max_length_queue_name() -> None:
    name = "a" * 499
    assert name in parse_queue_yaml(f"queue:\n- name: {name}\n  rate: 1/s\n").queues


# --------------------------------------------------------------------------- default queue


def test_default_is_always_present() -> None:
    config = parse_queue_yaml("queue:\n- name: work\n  mode: pull\n")
    assert config.queues["default"] == default_queue()
    assert config.get("work") is not None


def test_file_without_queue_key_has_only_default() -> None:
    config = parse_queue_yaml("total_storage_limit: 1M\n")
    assert list(config.queues) == ["default"]


@pytest.mark.parametrize("text", ["queue:\n", "queue: []\n", "application: x\n"])
def test_file_with_no_queues_is_valid(text: str) -> None:
    assert list(parse_queue_yaml(text).queues) == ["default"]


def test_default_can_be_overridden() -> None:
    config = parse_queue_yaml("queue:\n- name: default\n  rate: 1/m\n  bucket_size: 1\n")
    default = config.queues["default"]
    assert default.rate == "1/m"
    assert default.bucket_size == 1
    assert default.line == 2


def test_default_can_be_a_pull_queue() -> None:
    config = parse_queue_yaml("queue:\n- name: default\n  mode: pull\n")
    assert config.queues["default"].mode is QueueMode.PULL


def test_source_is_none_without_path() -> None:
    assert parse_queue_yaml("queue: []\n").source is None


# --------------------------------------------------------------------------- error format


def test_error_str_is_one_line_with_every_part() -> None:
    err = ConfigError(
        "'rate' is not allowed", path="queue.yaml", line=12, queue="pull-a", key="rate"
    )
    assert str(err) == "queue.yaml:12: queue 'pull-a': key 'rate': 'rate' is not allowed"
    assert err.message == "'rate' is not allowed"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "boom"),
        ({"path": "q.yaml"}, "q.yaml: boom"),
        ({"line": 3}, "line 3: boom"),
        ({"queue": "q", "key": "k"}, "queue 'q': key 'k': boom"),
        ({"path": "q.yaml", "line": 1, "key": "k"}, "q.yaml:1: key 'k': boom"),
    ],
)
def test_error_str_omits_missing_parts(kwargs: dict[str, Any], expected: str) -> None:
    err = ConfigError("boom", **kwargs)
    assert str(err) == expected


def test_error_names_file_line_queue_and_key(tmp_path: Path) -> None:
    err = load_error(tmp_path, "queue:\n- name: pull-a\n  mode: pull\n  rate: 5/s\n")
    assert str(err) == (
        f"{tmp_path / 'queue.yaml'}:4: queue 'pull-a': key 'rate':"
        " 'rate' is not allowed on a pull queue"
    )


# --------------------------------------------------------------------------- file errors


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_queue_yaml(path)
    assert info.value.path == str(path)
    assert info.value.line is None
    assert str(info.value).startswith(f"{path}: cannot read queue configuration")


def test_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read queue configuration") as info:
        load_queue_yaml(tmp_path)
    assert info.value.path == str(tmp_path)


def test_undecodable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "queue.yaml"
    path.write_bytes(b"queue:\n- name: caf\xe9\n")
    with pytest.raises(ConfigError, match="not valid UTF-8") as info:
        load_queue_yaml(path)
    assert (info.value.path, info.value.line) == (str(path), 2)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "queue.yaml"
    path.write_bytes(b"\xef\xbb\xbfqueue:\n- name: q\n  mode: pull\n")
    assert "q" in load_queue_yaml(path).queues


# --------------------------------------------------------------------------- document errors

# (yaml text, line, queue, key, message fragment)
ErrorCase = tuple[str, int | None, str | None, str | None, str]

DOCUMENT_ERRORS: list[ErrorCase] = [
    ("queue:\n- name: a\n  rate: [\n", 4, None, None, "invalid YAML"),
    ("queue:\n  - name: a\n bad\n", 3, None, None, "invalid YAML"),
    ('application: "x\n', 2, None, None, "invalid YAML (while scanning a quoted scalar)"),
    ("a: *nowhere\n", 1, None, None, "found undefined alias"),
    ("queue: []\nbell: \x07\n", 2, None, None, "unacceptable character #x0007"),
    ("", None, None, None, "Empty queue configuration."),
    ("# only a comment\n", None, None, None, "Empty queue configuration."),
    ("---\n", 2, None, None, "Empty queue configuration."),
    ("queue: []\n---\nqueue: []\n", 2, None, None, "Multiple queue: sections in configuration."),
    ("- name: a\n", 1, None, None, "top level must be a mapping, got a list"),
    ("just text\n", 1, None, None, "top level must be a mapping, got 'just text'"),
    ("foo: 1\n", 1, None, "foo", "unexpected key 'foo' in top level"),
    ("queue: []\nqueue: []\n", 2, None, "queue", "duplicate key 'queue' in top level"),
    ("[a]: 1\n", 1, None, None, "keys of top level must be strings"),
    ("application: My_App\n", 1, None, "application", "application must be a valid app"),
    ("total_storage_limit: 1X\n", 1, None, "total_storage_limit", "optional B, K, M, G or T"),
    ("total_storage_limit: 1.5\n", 1, None, "total_storage_limit", "must be whole bytes"),
    ("total_storage_limit: -1K\n", 1, None, "total_storage_limit", "got '-1K'"),
    ("resume_paused_queues: true\n", 1, None, "resume_paused_queues", "True or False, got 'true'"),
    ("resume_paused_queues: yes\n", 1, None, "resume_paused_queues", "True or False"),
    ("queue: 3\n", 1, None, "queue", "queue must be a list of queue entries, got '3'"),
    ("queue:\n  name: a\n", 2, None, "queue", "queue must be a list of queue entries"),
]


@pytest.mark.parametrize(("text", "line", "queue", "key", "message"), DOCUMENT_ERRORS)
def test_document_errors(
    tmp_path: Path, text: str, line: int | None, queue: str | None, key: str | None, message: str
) -> None:
    err = load_error(tmp_path, text)
    assert (err.line, err.queue, err.key) == (line, queue, key)
    assert message in err.message
    assert str(err).startswith(str(tmp_path / "queue.yaml"))


def test_deep_nesting_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="nesting is too deep"):
        parse_queue_yaml("[" * 100_000, path="q.yaml")


def test_recursive_alias_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="queue entry must be a mapping"):
        parse_queue_yaml("queue: &q [*q]\n")


# --------------------------------------------------------------------------- queue entry errors


def entry(body: str, name: str = "q") -> str:
    """A one-queue file: ``- name: <name>`` on line 2, then ``body`` lines from line 3."""
    lines = "".join(f"  {line}\n" for line in textwrap.dedent(body).splitlines())
    return f"queue:\n- name: {name}\n{lines}"


QUEUE_ERRORS: list[ErrorCase] = [
    # shape of the entry
    ("queue:\n- just-a-name\n", 2, None, None, "queue entry must be a mapping, got 'just-a-name'"),
    ("queue:\n- [a, b]\n", 2, None, None, "queue entry must be a mapping, got a list"),
    ("queue:\n- rate: 1/s\n", 2, None, "name", "queue entry has no name"),
    ("queue:\n- name:\n  rate: 1/s\n", 2, None, "name", "queue entry has no name"),
    (entry("rate: 1/s\nfoo: 1"), 4, "q", "foo", "unexpected key 'foo' in queue entry"),
    (entry("rate: 1/s\nrate: 2/s"), 4, "q", "rate", "duplicate key 'rate' in queue entry"),
    # name
    (entry("rate: 1/s", name='""'), 2, "", "name", "name must be 1-499 letters"),
    (entry("rate: 1/s", name="a_b"), 2, "a_b", "name", "got 'a_b'"),
    (entry("rate: 1/s", name="a.b"), 2, "a.b", "name", "name must be 1-499"),
    (entry("rate: 1/s", name="a" * 500), 2, "a" * 500, "name", "name must be 1-499"),
    (entry("rate: 1/s", name="[a]"), 2, None, "name", "got a list"),
    # mode
    (entry("mode: 3\nrate: 1/s"), 3, "q", "mode", "mode must be 'pull' or 'push', got '3'"),
    (entry("mode: Pull"), 3, "q", "mode", "mode must be 'pull' or 'push'"),
    # rate
    (
        entry("rate: 5/x"),
        3,
        "q",
        "rate",
        "rate must be 0 or <number>/<unit> with unit s, m, h or d, got '5/x'",
    ),
    (entry("rate: 5"), 3, "q", "rate", "got '5'"),
    (entry("rate: .5/s"), 3, "q", "rate", "got '.5/s'"),
    (entry("rate: -1/s"), 3, "q", "rate", "got '-1/s'"),
    (entry(f"rate: {'9' * 400}/s"), 3, "q", "rate", "is too large"),
    (entry("mode: bad", name="a_b"), 2, "a_b", "name", "name must be 1-499"),
    # bucket_size / max_concurrent_requests
    (entry("rate: 1/s\nbucket_size: x"), 4, "q", "bucket_size", "positive integer, got 'x'"),
    (entry("rate: 1/s\nbucket_size: '5'"), 4, "q", "bucket_size", "positive integer, got '5'"),
    (entry("rate: 1/s\nbucket_size: true"), 4, "q", "bucket_size", "got 'true'"),
    (entry("rate: 1/s\nbucket_size: 1.5"), 4, "q", "bucket_size", "got '1.5'"),
    (entry("rate: 1/s\nbucket_size: 0"), 4, "q", "bucket_size", "got '0'"),
    (entry("rate: 1/s\nbucket_size: -3"), 4, "q", "bucket_size", "got '-3'"),
    (entry("rate: 1/s\nbucket_size: [1]"), 4, "q", "bucket_size", "got a list"),
    (entry("rate: 1/s\nbucket_size: !!int x"), 4, "q", "bucket_size", "got 'x'"),
    (
        entry("rate: 1/s\nmax_concurrent_requests: 0"),
        4,
        "q",
        "max_concurrent_requests",
        "max_concurrent_requests must be a positive integer, got '0'",
    ),
    (entry("rate: 1/s\nmax_concurrent_requests: no"), 4, "q", "max_concurrent_requests", "'no'"),
    # target
    (entry("rate: 1/s\ntarget: a.b.c"), 4, "q", "target", "'module' or 'version.module'"),
    (entry("rate: 1/s\ntarget: Worker"), 4, "q", "target", "got 'Worker'"),
    (entry("rate: 1/s\ntarget: -worker"), 4, "q", "target", "got '-worker'"),
    # acl
    (entry("mode: pull\nacl: a@b.c"), 4, "q", "acl", "acl must be a list"),
    (entry("mode: pull\nacl:\n- a@b.c"), 5, "q", "acl", "acl entry must be a mapping"),
    (entry("mode: pull\nacl:\n- {}"), 5, "q", "acl", "exactly one of user_email or writer_email"),
    (
        entry("mode: pull\nacl:\n- user_email: a@b.c\n  writer_email: b@b.c"),
        5,
        "q",
        "acl",
        "exactly one of user_email or writer_email",
    ),
    (
        entry("mode: pull\nacl:\n- owner: a@b.c"),
        5,
        "q",
        "acl.owner",
        "unexpected key 'owner' in acl",
    ),
    (entry("mode: pull\nacl:\n- user_email:"), 5, "q", "acl.user_email", "non-empty string"),
    (entry("mode: pull\nacl:\n- user_email: 12"), 5, "q", "acl.user_email", "got '12'"),
    (entry("mode: pull\nacl:\n- writer_email: ''"), 5, "q", "acl.writer_email", "got ''"),
]


@pytest.mark.parametrize(("text", "line", "queue", "key", "message"), QUEUE_ERRORS)
def test_queue_entry_errors(
    tmp_path: Path, text: str, line: int | None, queue: str | None, key: str | None, message: str
) -> None:
    err = load_error(tmp_path, text)
    assert (err.line, err.queue, err.key) == (line, queue, key)
    assert message in err.message


def test_trailing_space_after_rate_is_not_part_of_it() -> None:
    assert parse_queue_yaml(entry("rate: 5/s ")).queues["q"].rate == "5/s"


def test_queue_names_are_full_matches() -> None:
    with pytest.raises(ConfigError, match="name must be 1-499"):
        parse_queue_yaml('queue:\n- name: "abc\\n"\n  rate: 1/s\n')


# --------------------------------------------------------------------------- retry_parameters


def retry(body: str, mode: str = "push") -> str:
    """A one-queue file whose ``retry_parameters`` keys start on line 5."""
    lines = "".join(f"    {line}\n" for line in textwrap.dedent(body).splitlines())
    rate = "mode: pull" if mode == "pull" else "rate: 1/s"
    return f"queue:\n- name: q\n  {rate}\n  retry_parameters:\n{lines}"


RETRY_ERRORS: list[ErrorCase] = [
    (entry("rate: 1/s\nretry_parameters: 3"), 4, "q", "retry_parameters", "must be a mapping"),
    (entry("rate: 1/s\nretry_parameters: [1]"), 4, "q", "retry_parameters", "got a list"),
    (retry("foo: 1"), 5, "q", "retry_parameters.foo", "unexpected key 'foo' in retry_parameters"),
    (
        retry("task_retry_limit: 1\ntask_retry_limit: 2"),
        6,
        "q",
        "retry_parameters.task_retry_limit",
        "duplicate key 'task_retry_limit'",
    ),
    (
        retry("task_retry_limit: 1.5"),
        5,
        "q",
        "retry_parameters.task_retry_limit",
        "task_retry_limit must be a non-negative integer, got '1.5'",
    ),
    (retry("task_retry_limit: -1"), 5, "q", "retry_parameters.task_retry_limit", "got '-1'"),
    (retry("task_retry_limit: false"), 5, "q", "retry_parameters.task_retry_limit", "'false'"),
    (retry("task_retry_limit: '3'"), 5, "q", "retry_parameters.task_retry_limit", "got '3'"),
    (retry("task_age_limit: 10"), 5, "q", "retry_parameters.task_age_limit", "followed by s, m"),
    (retry("task_age_limit: 1w"), 5, "q", "retry_parameters.task_age_limit", "got '1w'"),
    (retry("task_age_limit: -1s"), 5, "q", "retry_parameters.task_age_limit", "got '-1s'"),
    (retry("task_age_limit: 0s"), 5, "q", "retry_parameters.task_age_limit", "greater than zero"),
    (retry("task_age_limit: 0.0d"), 5, "q", "retry_parameters.task_age_limit", "than zero"),
    (
        retry("min_backoff_seconds: -0.1"),
        5,
        "q",
        "retry_parameters.min_backoff_seconds",
        "min_backoff_seconds must be a non-negative number, got '-0.1'",
    ),
    (retry("min_backoff_seconds: fast"), 5, "q", "retry_parameters.min_backoff_seconds", "'fast'"),
    (retry("min_backoff_seconds: yes"), 5, "q", "retry_parameters.min_backoff_seconds", "'yes'"),
    (retry("max_backoff_seconds: .inf"), 5, "q", "retry_parameters.max_backoff_seconds", ".inf"),
    (retry("max_backoff_seconds: .nan"), 5, "q", "retry_parameters.max_backoff_seconds", ".nan"),
    (retry("max_backoff_seconds: '5'"), 5, "q", "retry_parameters.max_backoff_seconds", "'5'"),
    (
        retry("max_backoff_seconds: 1\nmin_backoff_seconds: 2.5"),
        6,
        "q",
        "retry_parameters.min_backoff_seconds",
        "min_backoff_seconds (2.5) must not be greater than max_backoff_seconds (1)",
    ),
    (retry("max_doublings: -1"), 5, "q", "retry_parameters.max_doublings", "non-negative integer"),
    (retry("max_doublings: 2.0"), 5, "q", "retry_parameters.max_doublings", "got '2.0'"),
]


@pytest.mark.parametrize(("text", "line", "queue", "key", "message"), RETRY_ERRORS)
def test_retry_parameter_errors(
    tmp_path: Path, text: str, line: int | None, queue: str | None, key: str | None, message: str
) -> None:
    err = load_error(tmp_path, text)
    assert (err.line, err.queue, err.key) == (line, queue, key)
    assert message in err.message


def test_int_backoffs_and_yaml_int_forms() -> None:
    text = retry("min_backoff_seconds: 1\nmax_backoff_seconds: 0x10\nmax_doublings: 1_0")
    params = parse_queue_yaml(text).queues["q"].retry_parameters
    assert params == RetryParameters(
        min_backoff_seconds=1.0, max_backoff_seconds=16.0, max_doublings=10
    )


# --------------------------------------------------------------------------- deployment rules

PULL_RETRY_RULE = "task retry limit is supported for pull queues, but no other retry parameters"

DEPLOYMENT_ERRORS: list[ErrorCase] = [
    (entry("mode: pull\nrate: 5/s"), 4, "q", "rate", "'rate' is not allowed on a pull queue"),
    (entry("mode: pull\nrate: 0"), 4, "q", "rate", "'rate' is not allowed on a pull queue"),
    (entry("mode: pull\nbucket_size: 5"), 4, "q", "bucket_size", "'bucket_size' is not allowed"),
    (
        entry("mode: pull\nmax_concurrent_requests: 1"),
        4,
        "q",
        "max_concurrent_requests",
        "'max_concurrent_requests' is not allowed on a pull queue",
    ),
    (entry("mode: pull\ntarget: worker"), 4, "q", "target", "'target' is not allowed on a pull"),
    (
        retry("task_retry_limit: 3\ntask_age_limit: 1d", mode="pull"),
        6,
        "q",
        "retry_parameters.task_age_limit",
        PULL_RETRY_RULE,
    ),
    (
        retry("min_backoff_seconds: 1", mode="pull"),
        5,
        "q",
        "retry_parameters.min_backoff_seconds",
        "'min_backoff_seconds' is not allowed on a pull queue",
    ),
    (
        retry("max_backoff_seconds: 1", mode="pull"),
        5,
        "q",
        "retry_parameters.max_backoff_seconds",
        PULL_RETRY_RULE,
    ),
    (retry("max_doublings: 1", mode="pull"), 5, "q", "retry_parameters.max_doublings", "pull"),
    (entry("bucket_size: 5"), 2, "q", "rate", "A queue rate is required for push queue"),
    (entry("mode: push"), 2, "q", "rate", "A queue rate is required for push queue"),
    ("queue:\n- name: default\n", 2, "default", "rate", "A queue rate is required"),
    (entry("rate: 1/s\nacl:\n- user_email: a@b.c"), 4, "q", "acl", "only allowed on a pull queue"),
    (
        "queue:\n- name: a\n  mode: pull\n- name: b\n  mode: pull\n- name: a\n  rate: 1/s\n",
        6,
        "a",
        "name",
        "duplicate queue name (first defined on line 2)",
    ),
]


@pytest.mark.parametrize(("text", "line", "queue", "key", "message"), DEPLOYMENT_ERRORS)
def test_deployment_rules(
    tmp_path: Path, text: str, line: int | None, queue: str | None, key: str | None, message: str
) -> None:
    err = load_error(tmp_path, text)
    assert (err.line, err.queue, err.key) == (line, queue, key)
    assert message in err.message


def test_pull_queue_may_have_task_retry_limit_only() -> None:
    queue = parse_queue_yaml(retry("task_retry_limit: 0", mode="pull")).queues["q"]
    assert queue.retry_parameters == RetryParameters(task_retry_limit=0)
    assert queue.lease_limit() == 0


def test_errors_name_later_queues(tmp_path: Path) -> None:
    text = "queue:\n- name: ok\n  mode: pull\n- name: bad\n  mode: pull\n  bucket_size: 2\n"
    err = load_error(tmp_path, text)
    assert (err.line, err.queue, err.key) == (6, "bad", "bucket_size")


# --------------------------------------------------------------------------- ConfigWatcher


def bump_mtime(path: Path, seconds: int = 10) -> None:
    """Move ``path``'s mtime forward, so the watcher sees a change without sleeping."""
    st = path.stat()
    ns = seconds * 1_000_000_000
    os.utime(path, ns=(st.st_atime_ns + ns, st.st_mtime_ns + ns))


def rewrite(path: Path, text: str, seconds: int = 10) -> None:
    """Replace ``path``'s content and move its mtime forward."""
    path.write_text(text, encoding="utf-8")
    bump_mtime(path, seconds)


PULL_A = "queue:\n- name: a\n  mode: pull\n"
PULL_B = "queue:\n- name: b\n  mode: pull\n"


def test_watcher_without_path_is_builtin() -> None:
    watcher = ConfigWatcher(None)
    assert watcher.load_initial() == QueuesConfig()
    assert watcher.current() == QueuesConfig()
    assert list(watcher.current().queues) == ["default"]
    assert watcher.path is None
    assert watcher.reload_count == 0


def test_load_initial_raises_on_bad_file(tmp_path: Path) -> None:
    path = write(tmp_path, "queue: 3\n")
    with pytest.raises(ConfigError) as info:
        ConfigWatcher(path).load_initial()
    assert (info.value.path, info.value.line, info.value.key) == (str(path), 1, "queue")


def test_load_initial_raises_on_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        ConfigWatcher(str(tmp_path / "missing.yaml")).load_initial()


def test_current_without_load_initial_loads(tmp_path: Path) -> None:
    watcher = ConfigWatcher(str(write(tmp_path, PULL_A)))
    assert "a" in watcher.current().queues
    assert watcher.reload_count == 0


def test_unchanged_file_is_not_reloaded(tmp_path: Path) -> None:
    watcher = ConfigWatcher(str(write(tmp_path, PULL_A)))
    first = watcher.load_initial()
    assert watcher.current() is first
    assert watcher.current() is first
    assert watcher.reload_count == 0


def test_changed_file_is_reloaded(tmp_path: Path) -> None:
    # Given a watched file
    path = write(tmp_path, PULL_A)
    watcher = ConfigWatcher(str(path))
    watcher.load_initial()
    # When it changes
    rewrite(path, PULL_B)
    # Then the next current() has the new queues, once
    config = watcher.current()
    assert "b" in config.queues
    assert "a" not in config.queues
    assert watcher.current() is config
    assert watcher.reload_count == 1


def test_touch_alone_reloads(tmp_path: Path) -> None:
    path = write(tmp_path, PULL_A)
    watcher = ConfigWatcher(str(path))
    watcher.load_initial()
    bump_mtime(path)
    assert "a" in watcher.current().queues
    assert watcher.reload_count == 1


def test_bad_reload_keeps_last_good_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a watched good file
    path = write(tmp_path, PULL_A)
    watcher = ConfigWatcher(str(path))
    good = watcher.load_initial()
    # When it becomes bad
    rewrite(path, "queue:\n- name: a\n  mode: pull\n  rate: 1/s\n")
    with caplog.at_level(logging.ERROR, logger="emulator.config"):
        first = watcher.current()
        second = watcher.current()
    # Then the last good config stays and one error names file, line, queue and key
    assert first is good
    assert second is good
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert f"{path}:4: queue 'a': key 'rate'" in errors[0].getMessage()
    assert watcher.reload_count == 0


def test_same_failure_logged_again_only_after_a_change(tmp_path: Path) -> None:
    path = write(tmp_path, PULL_A)
    logger = logging.getLogger("test.config.watcher")
    watcher = ConfigWatcher(str(path), logger=logger)
    watcher.load_initial()
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(level=logging.ERROR)
    logger.addHandler(handler)
    try:
        rewrite(path, "queue: 3\n", seconds=10)
        watcher.current()
        watcher.current()
        rewrite(path, "queue: 4\n", seconds=20)
        watcher.current()
        watcher.current()
    finally:
        logger.removeHandler(handler)
    assert [r.levelno for r in records] == [logging.ERROR, logging.ERROR]
    assert "'3'" in records[0].getMessage()
    assert "'4'" in records[1].getMessage()


def test_fixed_file_is_loaded_after_a_bad_one(tmp_path: Path) -> None:
    path = write(tmp_path, PULL_A)
    watcher = ConfigWatcher(str(path))
    watcher.load_initial()
    rewrite(path, "queue: [", seconds=10)
    assert "a" in watcher.current().queues
    rewrite(path, PULL_B, seconds=20)
    assert "b" in watcher.current().queues
    assert watcher.reload_count == 1


def test_deleted_file_keeps_last_good(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Given a watched good file
    path = write(tmp_path, PULL_A)
    watcher = ConfigWatcher(path)
    good = watcher.load_initial()
    # When it is deleted
    path.unlink()
    with caplog.at_level(logging.ERROR, logger="emulator.config"):
        assert watcher.current() is good
        assert watcher.current() is good
    # Then one error names the file, and the config stays
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert str(path) in errors[0].getMessage()
    # And when it comes back, it is loaded again
    path.write_text(PULL_B, encoding="utf-8")
    assert "b" in watcher.current().queues
    assert watcher.reload_count == 1


def test_concurrent_callers_reload_once(tmp_path: Path) -> None:
    path = write(tmp_path, PULL_A)
    watcher = ConfigWatcher(str(path))
    watcher.load_initial()
    rewrite(path, PULL_B)
    barrier = threading.Barrier(8)
    seen: list[QueuesConfig] = []

    def call() -> None:
        barrier.wait()
        seen.append(watcher.current())

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert watcher.reload_count == 1
    assert len({id(config) for config in seen}) == 1
    assert "b" in seen[0].queues


# -- production's rules, as a pure function of the keys an entry sets ----------------------------


def test_the_rules_look_only_at_which_keys_are_set() -> None:
    assert (
        rules.check_queue(QueueMode.PULL, {"name", "mode", "retry_parameters.task_retry_limit"})
        is None
    )
    assert rules.check_queue(QueueMode.PUSH, {"name", "rate"}) is None
    pull = rules.check_queue(QueueMode.PULL, {"target", "rate"})
    assert pull is not None and (pull.key, pull.missing) == ("rate", False)  # checked in order
    retry = rules.check_queue(QueueMode.PULL, {"retry_parameters.max_doublings"})
    assert retry is not None and retry.key == "retry_parameters.max_doublings"
    push = rules.check_queue(QueueMode.PUSH, {"name"})
    assert push is not None and (push.key, push.missing) == ("rate", True)
