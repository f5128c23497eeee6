"""fast_init: a frozen slots dataclass's __init__, made about twice as fast with the same behaviour.

A frozen dataclass's generated __init__ sets each field with `object.__setattr__(self, name, value)` (assignment
is what frozen forbids). For a class with __slots__ each field is a member descriptor on the class, and
calling the descriptor's own __set__ does the same store without looking the attribute up by name: about half
the cost. The hot value objects of a trading cycle (decisions, votes, snapshots, breaker transitions...) are
built tens of times a cycle, which made their construction about a tenth of a backtest.

The replacement keeps the generated signature (the same parameters, order, kinds and defaults), sets the same
fields in the same order (init=False fields from their default or factory), then calls __post_init__ when the
class has one. Classes it cannot reproduce exactly (InitVar parameters, no __slots__, not frozen) are refused
at import time. tests/domain/test_fast_init.py compares it with the generated __init__ on every class using it.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

_FACTORY: Any = type("_Factory", (), {"__repr__": lambda self: "<factory>"})()  # default of a factory field


def fast_init[T](cls: type[T]) -> type[T]:
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"fast_init needs a frozen dataclass, not {cls.__qualname__}")
    generated = cls.__init__  # type: ignore[misc]
    fields = {field.name: field for field in dataclasses.fields(cls)}
    parameters = list(inspect.signature(generated).parameters.values())[1:]
    if any(parameter.name not in fields for parameter in parameters):
        raise TypeError(f"fast_init cannot reproduce an InitVar parameter of {cls.__qualname__}")
    namespace: dict[str, Any] = {"_FACTORY": _FACTORY}
    arguments, body, defaults, kw_defaults = ["self"], [], [], {}
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and "*" not in arguments:
            arguments.append("*")
        arguments.append(parameter.name)
        field = fields[parameter.name]
        if parameter.default is not inspect.Parameter.empty:
            default = field.default if field.default is not dataclasses.MISSING else _FACTORY
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
                kw_defaults[parameter.name] = default
            else:
                defaults.append(default)
    for index, field in enumerate(fields.values()):
        descriptor = inspect.getattr_static(cls, field.name, None)
        if descriptor is None or not inspect.ismemberdescriptor(descriptor):
            raise TypeError(f"fast_init needs __slots__ (dataclass slots=True) on {cls.__qualname__}")
        namespace[f"_set{index}"] = descriptor.__set__
        factory = field.default_factory
        if factory is not dataclasses.MISSING:
            namespace[f"_factory{index}"] = factory
        if field.init:
            value = field.name if factory is dataclasses.MISSING else (
                f"_factory{index}() if {field.name} is _FACTORY else {field.name}"
            )  # fmt: skip
        elif factory is not dataclasses.MISSING:
            value = f"_factory{index}()"
        elif field.default is not dataclasses.MISSING:
            namespace[f"_default{index}"] = field.default
            value = f"_default{index}"
        else:
            continue  # the generated __init__ leaves it unset too
        body.append(f"    _set{index}(self, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = f"def __init__({', '.join(arguments)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, namespace)  # noqa: S102 - the source is built above from the class's own field names
    init = namespace["__init__"]
    init.__defaults__ = tuple(defaults) or None
    init.__kwdefaults__ = kw_defaults or None
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = generated.__doc__
    init.__annotations__ = dict(generated.__annotations__)
    init.__wrapped_generated__ = generated  # the dataclass's own, for the equivalence tests
    cls.__init__ = init  # type: ignore[misc,method-assign]
    return cls
