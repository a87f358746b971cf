"""``jsonify`` through :class:`OrjsonProvider` answers what Flask's own provider answers."""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any

import pytest
from flask import Flask, Response

from emulator.faces.json.provider import OrjsonProvider


@dataclasses.dataclass
class _Point:
    x: int
    y: str


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [True, None, 1.5, "é\u2028"], "tasks": [{"name": "t", "eta_usec": 2**62}]},
        [1, 2, 3],
        {"when": datetime.datetime(2026, 12, 2, 13, 0, tzinfo=datetime.timezone.utc)},
        {"point": _Point(1, "y")},
        {"huge": 2**70},  # past 64 bits: Flask's provider writes it
        {"lone": "\ud800"},  # a lone surrogate: Flask's provider writes its escape
    ],
)
@pytest.mark.parametrize("sort_keys", [False, True])
def test_answers_are_flasks_answers(value: Any, sort_keys: bool) -> None:
    ours, theirs = Flask("ours"), Flask("theirs")
    ours.json = OrjsonProvider(ours)
    for app in (ours, theirs):
        app.json.sort_keys = sort_keys  # type: ignore[attr-defined]
    with ours.app_context():
        mine: Response = ours.json.response(value)  # type: ignore[assignment]
    with theirs.app_context():
        flasks: Response = theirs.json.response(value)  # type: ignore[assignment]

    assert mine.mimetype == flasks.mimetype == "application/json"
    assert mine.get_data().endswith(b"\n")
    decoded, expected = json.loads(mine.get_data()), json.loads(flasks.get_data())
    assert decoded == expected
    assert repr(decoded) == repr(expected)  # keys in the same order, too


def test_debug_answers_stay_indented() -> None:
    app = Flask("debug")
    app.json = OrjsonProvider(app)
    app.debug = True
    with app.app_context():
        answer: Response = app.json.response({"a": 1})  # type: ignore[assignment]
        body = answer.get_data()

    assert body == b'{\n  "a": 1\n}\n'
