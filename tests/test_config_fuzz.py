"""Random queue.yaml documents (Hypothesis builds YAML structures from valid and invalid
fields, and breaks some of the text): loading one either gives a configuration or raises
ConfigError located at ``file:line``, never anything else; and the CLI turns every invalid
one into exit status 2 and that one located line, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import cli
from emulator.config import ConfigError, load_queue_yaml
from emulator.domain.queue_config import QueuesConfig

_JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _mostly(
    valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any] = _JUNK
) -> st.SearchStrategy[Any]:
    """``valid`` four times in five, else ``invalid``: deep documents stay reachable."""
    return st.integers(0, 4).flatmap(lambda i: invalid if i == 0 else valid)


def _with_stray_key(mapping: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """``mapping``, one time in eight with an unknown key added."""
    stray = st.tuples(mapping, _JUNK).map(lambda v: {**v[0], "no_such_key": v[1]})
    return _mostly(mapping, st.one_of(mapping, stray, stray))


_RATES = st.sampled_from(["5/s", "1/m", "100/h", "0/s", "0", "5", "fast", "1.5/d", "-1/s"])
_INTS = _mostly(st.integers(-2, 2000))
_RETRY = _with_stray_key(
    st.fixed_dictionaries(
        {},
        optional={
            "task_retry_limit": _INTS,
            "task_age_limit": _mostly(st.sampled_from(["1d", "2h", "30m", "10s", "0s", "x"])),
            "min_backoff_seconds": _mostly(st.floats(-1, 100)),
            "max_backoff_seconds": _mostly(st.floats(-1, 10_000)),
            "max_doublings": _INTS,
        },
    )
)
_ACL_ENTRY = st.one_of(
    st.fixed_dictionaries({"user_email": st.sampled_from(["a@b.c", "x", ""])}),
    st.fixed_dictionaries({"writer_email": st.sampled_from(["w@b.c", "y"])}),
)
_QUEUE = _with_stray_key(
    st.fixed_dictionaries(
        {"name": _mostly(st.sampled_from(["q", "pull-a", "default", "bad name", "", "q"]))},
        optional={
            "mode": _mostly(st.sampled_from(["pull", "push", "PULL"])),
            "rate": _mostly(_RATES),
            "bucket_size": _INTS,
            "max_concurrent_requests": _INTS,
            "target": _mostly(st.sampled_from(["worker", "v1.worker", "-"])),
            "retry_parameters": _mostly(_RETRY),
            "acl": _mostly(st.lists(_mostly(_ACL_ENTRY), max_size=3)),
        },
    )
)
_DOCUMENT = _with_stray_key(
    st.fixed_dictionaries(
        {"queue": _mostly(st.lists(_mostly(_QUEUE), max_size=4))},
        optional={
            "total_storage_limit": _mostly(st.sampled_from(["1G", "100M", "5K", "12", "big"])),
            "resume_paused_queues": _mostly(st.sampled_from(["True", "False", "yes"])),
            "application": _mostly(st.sampled_from(["my-app", "s~app", "!"])),
        },
    )
)


def _texts() -> st.SearchStrategy[str]:
    dumped = _DOCUMENT.map(lambda doc: yaml.safe_dump(doc, sort_keys=False))
    broken = st.tuples(
        dumped, st.integers(0, 400), st.sampled_from(["", ":", "\t", "- [", "&a *b"])
    )
    return _mostly(dumped, broken.map(lambda v: v[0][: v[1]] + v[2] + v[0][v[1] :]))


def _load(path: Path, text: str) -> QueuesConfig | ConfigError:
    path.write_text(text, encoding="utf-8")
    try:
        return load_queue_yaml(path)
    except ConfigError as exc:
        return exc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_texts())
def test_any_document_loads_or_fails_at_a_located_line(tmp_path_factory: Any, text: str) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "queue.yaml"
    outcome = _load(path, text)  # anything but ConfigError propagates: the test fails
    if isinstance(outcome, ConfigError):
        assert outcome.line is not None, (str(outcome), text)
        assert str(outcome).startswith(f"{path}:{outcome.line}: "), str(outcome)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=_texts())
def test_the_cli_exits_2_with_the_located_line_for_any_invalid_document(
    tmp_path_factory: Any, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path_factory.mktemp("cli") / "queue.yaml"
    outcome = _load(path, text)
    if not isinstance(outcome, ConfigError):
        return  # a valid document would start the server
    capsys.readouterr()
    status = cli.main(["--queue-yaml", str(path), "--storage", ":memory:", "--port", "0"])
    err = capsys.readouterr().err
    assert status == 2
    assert err == f"taskqueue-emulator: error: {outcome}\n"
    assert "Traceback" not in err
