"""domain.fast_init: every class using it builds exactly what its generated dataclass __init__ would."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from datetime import UTC, datetime
from decimal import Decimal

import pytest

import adapters
import analysis
import domain
import engine
import risk
from domain.decision import Action, Decision
from domain.fast_init import fast_init
from domain.market import Candle
from domain.trading import PositionSide
from risk.inputs import PairContext


def _classes() -> list[type]:
    found: dict[str, type] = {}
    for package in (domain, risk, engine, analysis, adapters):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".openai" in module.name or ".anthropic" in module.name:
                continue  # SDK clients: no value classes of the cycle, and slow to import
            loaded = importlib.import_module(module.name)
            for value in vars(loaded).values():
                init = getattr(value, "__init__", None)
                if isinstance(value, type) and hasattr(init, "__wrapped_generated__"):
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


CLASSES = _classes()


def test_the_cycle_value_classes_use_it() -> None:
    names = {cls.__name__ for cls in CLASSES}
    assert {"Candle", "Decision", "Vote", "MarketSnapshot", "PairState", "BreakerTransition"} <= names


def _built(cls: type, init: object, *args: object, **kwargs: object) -> tuple[str, object]:
    instance = object.__new__(cls)
    try:
        init(instance, *args, **kwargs)  # type: ignore[operator]
    except Exception as exc:  # noqa: BLE001 - the very exception is compared
        return "raised", (type(exc), str(exc))
    return "built", tuple(_slot(instance, field.name) for field in dataclasses.fields(cls))


def _slot(instance: object, name: str) -> object:
    try:
        return getattr(instance, name)
    except AttributeError:
        return "<unset>"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__qualname__)
def test_same_signature_fields_and_errors_as_the_generated_init(cls: type) -> None:
    fast, generated = cls.__init__, cls.__init__.__wrapped_generated__  # type: ignore[misc]
    assert str(inspect.signature(fast)) == str(inspect.signature(generated))
    parameters = list(inspect.signature(generated).parameters.values())[1:]
    required = [p for p in parameters if p.default is inspect.Parameter.empty]
    markers = {p.name: type(f"marker_{p.name}", (), {})() for p in parameters}  # what __post_init__ then makes of them
    positional = [markers[p.name] for p in required if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    keywords = {p.name: markers[p.name] for p in required if p.kind is inspect.Parameter.KEYWORD_ONLY}
    cases = [
        ((), {}),  # missing arguments
        (tuple(positional), keywords),  # the defaults (and factories) left to the class
        ((), {p.name: markers[p.name] for p in parameters}),  # every field given by name
        ((*positional, object()) if len(positional) < len(parameters) else (), keywords),  # a surplus or a default
    ]
    for args, kwargs in cases:
        fast_result = _built(cls, fast, *args, **kwargs)
        generated_result = _built(cls, generated, *args, **kwargs)
        assert fast_result[0] == generated_result[0], (args, kwargs)
        if fast_result[0] == "raised":
            assert fast_result == generated_result
        else:  # the same objects in every slot (factories make equal new ones)
            for mine, theirs in zip(fast_result[1], generated_result[1], strict=True):  # type: ignore[call-overload]
                assert mine is theirs or (mine == theirs and type(mine) is type(theirs))


def test_real_values_frozen_and_replace() -> None:
    candle = Candle(1, Decimal("1.5"), Decimal(2), Decimal(1), Decimal("1.75"), Decimal(10))
    assert (candle.ts, candle.open, candle.close) == (1, Decimal("1.5"), Decimal("1.75"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        candle.ts = 2  # type: ignore[misc]
    assert dataclasses.replace(candle, ts=5) == Candle(
        5, candle.open, candle.high, candle.low, candle.close, candle.volume
    )
    decision = Decision(Action.HOLD, Decimal("0.5"), None, None, "quiet")
    assert hash(decision) == hash(Decision(Action.HOLD, Decimal("0.5"), None, None, "quiet"))
    with pytest.raises(ValueError):  # __post_init__ still validates
        PairContext(budget=Decimal(-1), leverage=1, position_side=PositionSide.FLAT, position_amount=Decimal(0))


def test_defaults_factories_init_false_and_keyword_only() -> None:
    calls: list[int] = []

    def counted() -> list[int]:
        calls.append(1)
        return []

    @fast_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Sample:
        a: int
        b: list[int] = dataclasses.field(default_factory=counted)
        c: str = "c"
        d: int = dataclasses.field(default=4, init=False)
        e: datetime = dataclasses.field(default_factory=lambda: datetime(2020, 1, 1, tzinfo=UTC), kw_only=True)

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("a must not be negative")

    first, second = Sample(1), Sample(1)
    assert first.b == [] and first.b is not second.b and len(calls) == 2
    assert (first.c, first.d, first.e) == ("c", 4, datetime(2020, 1, 1, tzinfo=UTC))
    given: list[int] = [7]
    assert Sample(2, given, "x", e=datetime(2021, 1, 1, tzinfo=UTC)).b is given and len(calls) == 2
    with pytest.raises(TypeError):
        Sample(1, [], "x", datetime(2021, 1, 1, tzinfo=UTC))  # type: ignore[misc]  # e is keyword-only
    with pytest.raises(ValueError, match="negative"):
        Sample(-1)
    assert "= <factory>" in str(inspect.signature(Sample))


def test_refuses_what_it_cannot_reproduce() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(slots=True)
    class NotFrozen:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        b: dataclasses.InitVar[int]

        def __post_init__(self, b: int) -> None:
            pass

    for cls in (NoSlots, NotFrozen, WithInitVar):
        with pytest.raises(TypeError):
            fast_init(cls)
