"""``fast_init``: the faster ``__init__`` of hot frozen dataclasses behaves as the dataclass's."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import InitVar, dataclass, field
from typing import Any

import pytest

from emulator.domain import model
from emulator.domain.fast_init import fast_init


def _sample() -> Any:
    @dataclass(frozen=True)
    class Sample:
        a: int
        b: str = "b"
        c: list[int] = field(default_factory=list)
        d: int = field(default=4, kw_only=True)  # a name the generated source could use
        self: int = 0  # a field may even be called so

    return Sample


_Plain = _sample()
_Fast = fast_init(_sample())


def test_the_signature_is_the_dataclasses_own() -> None:
    plain = inspect.signature(_Plain.__init__).parameters.values()
    fast = inspect.signature(_Fast.__init__).parameters.values()
    assert [(p.name, p.kind) for p in fast][1:] == [(p.name, p.kind) for p in plain][1:]
    defaults = [p.default for p in fast]  # the instance, a, b, c, self, d (keyword-only)
    assert defaults[0] is defaults[1] is inspect.Parameter.empty
    assert (defaults[2], defaults[4], defaults[5]) == ("b", 0, 4)  # c's comes from its factory


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, "x"), {}), ((1, "x", [3], 5), {"d": 9}), ((), {"a": 2, "c": [1], "self": 3})],
)
def test_values_defaults_and_factories_match(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    plain, fast = _Plain(*args, **kwargs), _Fast(*args, **kwargs)
    assert dataclasses.asdict(fast) == dataclasses.asdict(plain)


def test_each_default_factory_value_is_new() -> None:
    assert _Fast(1).c is not _Fast(1).c


def test_bad_calls_raise_type_error_as_before() -> None:
    with pytest.raises(TypeError):
        _Fast()
    with pytest.raises(TypeError):
        _Fast(1, "b", [], 0, 4)  # d is keyword-only
    with pytest.raises(TypeError):
        _Fast(1, e=5)


def test_the_class_stays_frozen_hashable_and_replaceable() -> None:
    task = model.StoredTask(queue="q", name="n", eta_usec=5, tag="t")
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.name = "other"  # type: ignore[misc]
    assert task == model.StoredTask("q", "n", 5, tag="t")
    assert hash(task) == hash(model.StoredTask("q", "n", 5, tag="t"))
    assert dataclasses.replace(task, eta_usec=9).eta_usec == 9
    assert repr(task).startswith("StoredTask(queue='q', name='n', eta_usec=5, payload=b''")


def test_post_init_still_runs() -> None:
    seen: list[int] = []

    @fast_init
    @dataclass(frozen=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            seen.append(self.a)

    Checked(7)
    assert seen == [7]


@pytest.mark.parametrize("kind", ["unfrozen", "slots", "init_false", "init_var"])
def test_classes_it_cannot_serve_are_refused(kind: str) -> None:
    with pytest.raises(TypeError):
        if kind == "unfrozen":

            @fast_init
            @dataclass
            class A:
                a: int

        elif kind == "slots":

            @fast_init
            @dataclass(frozen=True, slots=True)
            class B:
                a: int

        elif kind == "init_false":

            @fast_init
            @dataclass(frozen=True)
            class C:
                a: int = field(default=0, init=False)

        else:

            @fast_init
            @dataclass(frozen=True)
            class D:
                a: int
                b: InitVar[int]
