"""A static guard: every JSON body the API reads is a strict ``Body`` whose strings are all
``core.text.Text`` (JSON values: ``TextJson`` / ``TextObject``), so a new field cannot
bring back the NUL and surrogate 500s. Bulk records are raw JSON only where
``BulkItems`` says which model validates each one."""

from __future__ import annotations

import datetime as dt
import enum
import types
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from pydantic import AfterValidator, BaseModel

from core import text
from web.app import create_app
from web.bodies import Body, BulkItems

_TEXT_CHECKS = {text._pydantic_check, text._pydantic_check_json}
_PLAIN = (bool, int, float, Decimal, type(None), dt.datetime, dt.date)


def _problems(tp: Any, where: str) -> list[str]:
    """Every place in the annotation ``tp`` where a string or an arbitrary JSON value
    could get in without the text rule."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *meta = get_args(tp)
        checks = {m.func for m in meta if isinstance(m, AfterValidator)}
        if text._pydantic_check_json in checks or any(isinstance(m, BulkItems)
                                                      for m in meta):
            return []  # every string inside is checked (or each record by its model)
        if text._pydantic_check in checks and base is str:
            return []
        return _problems(base, where)
    if origin in (Union, types.UnionType):
        return [p for arg in get_args(tp) for p in _problems(arg, where)]
    if origin is Literal:
        return []
    if origin in (dict, list, tuple, set, frozenset):
        args = get_args(tp)
        names = ["key", "item"] if origin is dict else ["item"] * len(args)
        return [p for name, arg in zip(names, args, strict=True)
                for p in _problems(arg, f"{where}[{name}]")]
    if tp is str:
        return [f"{where}: str is not Text"]
    if tp is Any or tp is object:
        return [f"{where}: Any is not TextJson"]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [] if issubclass(tp, Body) else [f"{where}: {tp.__name__} is not a Body"]
    if isinstance(tp, type) and (issubclass(tp, enum.Enum) or issubclass(tp, _PLAIN)):
        return []
    return [f"{where}: {tp!r} is not a type the guard knows"]


def _bodies() -> set[type[Body]]:
    found: set[type[Body]] = set()
    todo = list(Body.__subclasses__())
    while todo:
        model = todo.pop()
        if model not in found:
            found.add(model)
            todo += model.__subclasses__()
    return found


def test_every_request_body_is_a_body(services):
    app = create_app(services)  # imports every route module
    loose = []
    for route in app.router.routes():
        request = getattr(getattr(route.handler, "__openapi__", None), "request", None)
        if isinstance(request, type) and not issubclass(request, Body):
            loose.append(f"{route.method} {route.resource.canonical}: {request.__name__}")
    assert loose == []


def test_every_string_of_every_body_is_text(services):
    create_app(services)
    bodies = _bodies()
    assert len(bodies) >= 10  # the guard sees the route modules' models
    problems = []
    for model in bodies:
        assert model.model_config.get("extra") == "forbid", model.__name__
        assert model.model_config.get("strict") is True, model.__name__
        for name, tp in get_type_hints(model, include_extras=True).items():
            if name in model.model_fields:
                problems += _problems(tp, f"{model.__module__}.{model.__name__}.{name}")
    assert problems == []


def test_the_guard_catches_a_plain_string():
    class Loose(Body):
        name: str | None = None
        fields: dict[str, Any] = {}
        ok: text.Text = ""

    hints = get_type_hints(Loose, include_extras=True)
    assert _problems(hints["name"], "name") == ["name: str is not Text"]
    assert _problems(hints["fields"], "fields") == ["fields[key]: str is not Text",
                                                    "fields[item]: Any is not TextJson"]
    assert _problems(hints["ok"], "ok") == []
