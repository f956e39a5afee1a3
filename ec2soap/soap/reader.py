"""The generic SOAP reader: an action's request shape (wire/inputs.py, declared in wire/types/<family>.py) and
its 2010-11-15 request as plain values (element names as keys, sets as lists of item dicts: soap/models.py)
→ the core keyword arguments, the same ones the Query reader gives for the same request.

A parameter's `soap` path walks the request, one element per dot; a set on the way contributes every item. A
parameter without a SOAP path (it came after 2010-11-15) passes its default. The odd cases (xs:choice
groups that set several keywords, IpPermissions) are named converters in soap/bindings.py.
"""
from __future__ import annotations

from typing import Any

from ec2soap.core.filters import Filter
from ec2soap.errors import ERRORS
from ec2soap.registry import resolve
from ec2soap.soap.bindings import CONVERTERS
from ec2soap.wire import types as _types  # noqa: F401  (registers every request shape)
from ec2soap.wire.inputs import REQUESTS, In

__all__ = ["read", "readable"]

Request = dict[str, Any]


def readable(action: str) -> bool:
    """Whether ACTION has a 2010-11-15 SOAP request type."""
    shape = REQUESTS.get(action)
    return shape is not None and shape.soap is not None


def read(action: str, value: Request | None) -> dict[str, Any]:
    """ACTION's core keyword arguments from VALUE (EC2Error for a missing or malformed parameter)."""
    return _fields(REQUESTS[action].params, value or {})


def _fields(fields: tuple[In, ...], v: Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for param in fields:
        if param.type == "convert":
            out.update(CONVERTERS[param.convert](v))
        elif param.soap is None:
            out[param.kw] = _copy(param.default)  # type: ignore[index]
        else:
            out[param.kw] = _value(param, v)  # type: ignore[index]
    return out


def _copy(default: Any) -> Any:
    # A default list or dict is the caller's to keep: never one object shared by two requests.
    return type(default)(default) if isinstance(default, (list, dict)) else default


def _walk(v: Any, path: list[str]) -> list[Any]:
    """Every value at PATH under V (sets contribute each item); absent ones are left out."""
    if v is None:
        return []
    if isinstance(v, list):
        return [found for item in v for found in _walk(item, path)]
    if not path:
        return [v]
    return _walk(v.get(path[0]) if isinstance(v, dict) else None, path[1:])


def _one(v: Request, path: str) -> Any:
    found = _walk(v, path.split("."))
    return found[0] if found else None


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({value}) for parameter {name} is invalid. Expected an integer.") from None


def _value(param: In, v: Request) -> Any:
    path, kind = param.soap or "", param.type
    leaf = path.rsplit(".", 1)[-1]
    if kind == "choice":
        return _one_of(v, param.choices, leaf)
    if kind == "list":
        return _walk(v, path.split("."))
    if kind == "filters":
        return _filters(_walk(v, path.split(".")))
    if kind == "tags":
        return _tags(_walk(v, path.split(".")), path)
    if kind == "structs":
        build = resolve(param.make)
        return [build(**_fields(param.fields, item)) for item in _walk(v, path.split("."))]
    value = _one(v, path)
    if kind == "present":
        return value is not None
    if param.required_in("soap") and (value is None or value == ""):
        raise ERRORS["MissingParameter"](name=leaf)
    if kind == "int":
        number = _int(value, leaf)
        if number is not None and ((param.minimum is not None and number < param.minimum)
                                   or (param.maximum is not None and number > param.maximum)):
            raise ERRORS["InvalidParameterValue"](detail=f"Value ({value}) for parameter {leaf} is invalid.")
        return param.default if number is None else number
    if kind == "bool":
        return param.default if value is None else bool(value)
    if value is None:
        return param.default
    return (value or None) if param.blank_none else value


def _one_of(v: Request, names: tuple[str, ...], parameter: str) -> str:
    """The one attribute element given (EC2's xs:choice of empty elements)."""
    given = [name for name in names if v.get(name) is not None]
    if not given:
        raise ERRORS["MissingParameter"](name=parameter)
    if len(given) > 1:
        raise ERRORS["InvalidParameterCombination"](detail=f"Only one {parameter} may be given: {', '.join(given)}")
    return given[0]


def _filters(entries: Any) -> list[Filter]:
    out = []
    for entry in entries or ():
        name = entry.get("name")
        if name is None or name == "":
            raise ERRORS["MissingParameter"](name="name")
        out.append(Filter(name, tuple(x["value"] for x in entry.get("valueSet") or () if x.get("value") is not None)))
    return out


def _tags(entries: Any, path: str) -> list[tuple[str, str | None]]:
    out = []
    for entry in entries or ():
        if entry.get("key") is None:
            raise ERRORS["MissingParameter"](name=f"{path}.item.key")
        out.append((entry["key"], entry.get("value")))
    return out
