"""The EC2 XML shapes as data: one declaration per EC2 type, the single source of truth for the wire.

Each shape keeps EC2's type name, element names, order and occurrences (the 2010-11-15 WSDL is the yardstick,
../shared/reference/awsapi/; a test holds ours to it). Elements added by later EC2 API versions carry `since`:
Query responses include them when the request's Version is that new or newer; SOAP (2010-11-15) never does.
The Query renderer below writes core model objects through these shapes as XML text; the SOAP service builds
its Spyne models from the same declarations. No Twisted or core imports here.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timezone
from typing import Any, Iterable, Union

from ec2soap.xmltext import escape


__all__ = ["Field", "Struct", "ListOf", "Shape", "field_", "render_document", "render_response", "namespace_for",
           "BASE_VERSION", "RESPONSES", "register"]

BASE_VERSION = "2010-11-15"
SCALARS = {"string", "int", "long", "boolean", "dateTime", "double", "base64"}


@dataclass(frozen=True)
class Struct:
    """A complexType with a sequence of elements."""
    name: str
    fields: tuple["Field", ...]


@dataclass(frozen=True)
class ListOf:
    """An EC2 "set" type: `<fooSet><item>…</item>…</fooSet>`. `min` is the item's minOccurs: 0 for most sets,
    1 for the few that always hold an item (RunningInstancesSetType)."""
    name: str
    item: "Shape"
    min: int = 0


Shape = Union[str, Struct, ListOf]


@dataclass(frozen=True)
class Field:
    """One element. `attr` is where the value comes from on a model object ("." = the object itself);
    None means the element is absent (allowed only when min == 0 on the SOAP side)."""
    xml: str
    shape: Shape
    attr: str
    min: int = 1
    max: int | None = 1
    since: str = BASE_VERSION


def field_(xml: str, shape: Shape = "string", attr: str | None = None, *, optional: bool = False,
           many: bool = False, since: str = BASE_VERSION) -> Field:
    """Shorthand: attr defaults to the element name in snake_case; optional → minOccurs 0."""
    return Field(xml, shape, attr if attr is not None else _snake(xml), 0 if optional else 1,
                 None if many else 1, since)


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


# action → the response Struct (e.g. "DescribeKeyPairs" → DescribeKeyPairsResponseType).
RESPONSES: dict[str, Struct] = {}


def register(action: str, response: Struct) -> Struct:
    if action in RESPONSES:
        raise ValueError(f"response shape for {action} declared twice")
    RESPONSES[action] = response
    return response


def namespace_for(version: str | None) -> str:
    return f"http://ec2.amazonaws.com/doc/{api_version(version)}/"


_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")


def api_version(version: str | None) -> str:
    """The request's Version if it is one (YYYY-MM-DD), else 2010-11-15: anything else would make the answer's
    namespace an invalid URI (a client's parser refuses the document) and compare oddly against `since`."""
    return version if version and _VERSION.fullmatch(version) else BASE_VERSION


def _get(obj: Any, attr: str) -> Any:
    if isinstance(obj, _WithRequestId):
        return obj.request_id if attr == "request_id" else _get(obj.result, attr)
    if attr == ".":
        return obj
    if isinstance(obj, dict):
        return obj.get(attr)
    return getattr(obj, attr, None)


def _text(shape: str, value: Any) -> str:
    if shape == "boolean":
        return "true" if value else "false"
    if shape == "dateTime":
        if isinstance(value, (int, float)):
            value = datetime.fromtimestamp(value, timezone.utc)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
                f"{value.microsecond // 1000:03d}Z"
        return str(value)
    if shape == "base64" and isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


# Element text: XML's specials escaped, characters XML 1.0 cannot carry replaced (ec2soap.xmltext, the one
# place every writer goes through).
_escape = escape


@lru_cache(maxsize=4096)
def _fields(shape: Struct, version: str) -> tuple[Field, ...]:
    """The fields a response for API VERSION carries (elements newer than VERSION are left out)."""
    return tuple(f for f in shape.fields if version >= f.since)


def _emit(out: list[str], name: str, shape: Shape, value: Any, version: str) -> None:
    """Append element NAME for VALUE of SHAPE to OUT, as text. Query responses are written as strings, not
    lxml trees: a DescribeInstances over 50 instances is thousands of elements, and this is several times
    faster; every text goes through _escape."""
    if isinstance(shape, str):
        out.append(f"<{name}>{_escape(_text(shape, value))}</{name}>")
        return
    out.append(f"<{name}>")
    if isinstance(shape, ListOf):
        for item in value or ():
            _emit(out, "item", shape.item, item, version)
    else:
        _emit_fields(out, shape, value, version)
    out.append(f"</{name}>")


def _emit_fields(out: list[str], shape: Struct, value: Any, version: str) -> None:
    for fld in _fields(shape, version):
        child = _get(value, fld.attr)
        if child is None:
            continue
        if fld.max != 1 and isinstance(child, (list, tuple)):
            for one in child:
                _emit(out, fld.xml, fld.shape, one, version)
        else:
            _emit(out, fld.xml, fld.shape, child, version)


def render_response(action: str, result: Any, request_id: str, version: str | None) -> str:
    """The `<ActionResponse xmlns=…><requestId/>…</ActionResponse>` element for ACTION's result, as text: the
    whole Query document, and the SOAP Body's content (with version 2010-11-15)."""
    shape = RESPONSES[action]
    version = api_version(version)
    out = [f'<{action}Response xmlns="{escape(namespace_for(version), attribute=True)}">']
    # requestId is the adapter's, not the core result's.
    _emit_fields(out, shape, _WithRequestId(result, request_id), version)
    out.append(f"</{action}Response>")
    return "".join(out)


def render_document(action: str, result: Any, request_id: str, version: str | None) -> bytes:
    """The Query response document for ACTION."""
    return ("<?xml version='1.0' encoding='UTF-8'?>\n" + render_response(action, result, request_id, version)
            ).encode("utf-8")


class _WithRequestId:
    """The core result, answering `request_id` for the shape's requestId element."""
    __slots__ = ("result", "request_id")

    def __init__(self, result: Any, request_id: str):
        self.result, self.request_id = result, request_id


def walk(shape: Shape, seen: set[str] | None = None) -> Iterable[Struct | ListOf]:
    """Every named shape reachable from SHAPE (for the WSDL generator and comparison)."""
    seen = set() if seen is None else seen
    if isinstance(shape, str) or shape.name in seen:
        return
    seen.add(shape.name)
    yield shape
    children = [shape.item] if isinstance(shape, ListOf) else [f.shape for f in shape.fields]
    for child in children:
        yield from walk(child, seen)


REQUEST_ID = field_("requestId")
RETURN = field_("return", "boolean", attr=".")
