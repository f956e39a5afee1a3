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


def _boolean_text(value: Any) -> str:
    return "true" if value else "false"


def _datetime_text(value: Any) -> str:
    if isinstance(value, datetime):
        text = _DATETIMES.get(value)
        if text is None:
            if len(_DATETIMES) >= 4096:
                _DATETIMES.clear()
            text = _DATETIMES[value] = _utc_text(value)
        return text
    if isinstance(value, (int, float)):
        return _utc_text(datetime.fromtimestamp(value, timezone.utc))
    return str(value)


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


# datetime → its text: a describe writes the same launch and attach times on every call (strftime was a tenth of
# rendering). Equal datetimes are the same instant (naive ones, read as UTC, never equal aware ones).
_DATETIMES: dict[datetime, str] = {}


def _base64_text(value: Any) -> str:
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else str(value)


# A scalar's text from its value, by XSD type (every other scalar is str(value)).
_TEXTS = {"boolean": _boolean_text, "dateTime": _datetime_text, "base64": _base64_text}

# Element text: XML's specials escaped, characters XML 1.0 cannot carry replaced (ec2soap.xmltext, the one
# place every writer goes through).
_escape = escape
# The characters ec2soap.xmltext.escape changes in element text (those XML 1.0 cannot carry, and & < > CR): a
# text without any is written as it is, one regex search instead of escape's three steps per element.
# tests/unit/wire/test_shapes.py holds this set to escape's behaviour over every BMP code point.
_CHANGED_BY_ESCAPE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff&<>\r]")

# How a compiled element is written (see _compile).
_SCALAR, _STRUCT, _LIST = 0, 1, 2


def _node(shape: Shape, version: str) -> tuple[int, Any]:
    """(kind, detail) for an element of SHAPE: a scalar's text function, a Struct's compiled fields, or a
    ListOf's item node."""
    if isinstance(shape, str):
        return _SCALAR, _TEXTS.get(shape, str)
    if isinstance(shape, ListOf):
        return _LIST, _node(shape.item, version)
    return _STRUCT, _compile(shape, version)


# (id(Struct), version) → (the Struct, its compiled fields). Shapes are module-level data that live as long as
# the process; the entry holds its Struct, so its id cannot be reused while the entry exists.
_COMPILED: dict[tuple[int, str], tuple[Struct, tuple]] = {}


def _compile(shape: Struct, version: str) -> tuple:
    """SHAPE's fields for API VERSION (elements newer than VERSION left out) as a tuple of
    (attr, repeated, open tag, close tag, kind, detail), built once per shape and version. Rendering a
    DescribeInstances of 50 instances writes tens of thousands of elements: a profile showed most of its time in
    hashing the frozen shape dataclasses (the lru_cache key of the field filter) and re-deciding each field's
    kind per element; compiled, the walk does neither."""
    key = (id(shape), version)
    entry = _COMPILED.get(key)
    if entry is None:
        fields = tuple((f.attr, f.max != 1, f"<{f.xml}>", f"</{f.xml}>", *_node(f.shape, version))
                       for f in shape.fields if version >= f.since)
        entry = _COMPILED[key] = (shape, fields)
    return entry[1]


_ITEM_OPEN, _ITEM_CLOSE = "<item>", "</item>"


def _emit(out: list[str], open_: str, close: str, kind: int, detail: Any, value: Any) -> None:
    """Append one element for VALUE to OUT, as text. Query responses are written as strings, not lxml trees:
    a DescribeInstances over 50 instances is thousands of elements, and this is several times faster; every
    text goes through _escape (unless it holds nothing escape would change)."""
    if kind == _SCALAR:
        text = value if detail is str and type(value) is str else detail(value)
        out.append(open_ + (_escape(text) if _CHANGED_BY_ESCAPE.search(text) else text) + close)
    elif kind == _STRUCT:
        out.append(open_)
        _emit_fields(out, detail, value)
        out.append(close)
    else:
        out.append(open_)
        if value:
            item_kind, item_detail = detail
            for item in value:
                _emit(out, _ITEM_OPEN, _ITEM_CLOSE, item_kind, item_detail, item)
        out.append(close)


def _emit_fields(out: list[str], fields: tuple, value: Any) -> None:
    # The scalar case of _emit is written out here: most elements are scalars, and a call per element was a
    # third of rendering.
    is_dict = isinstance(value, dict)
    append, changed = out.append, _CHANGED_BY_ESCAPE.search
    for attr, repeated, open_, close, kind, detail in fields:
        if attr == ".":
            child = value
        elif is_dict:
            child = value.get(attr)
        else:
            child = getattr(value, attr, None)
        if child is None:
            continue
        if repeated and isinstance(child, (list, tuple)):
            for one in child:
                _emit(out, open_, close, kind, detail, one)
        elif kind == _SCALAR:
            text = child if detail is str and type(child) is str else detail(child)
            append(open_ + (_escape(text) if changed(text) else text) + close)
        else:
            _emit(out, open_, close, kind, detail, child)


def render_response(action: str, result: Any, request_id: str, version: str | None) -> str:
    """The `<ActionResponse xmlns=…><requestId/>…</ActionResponse>` element for ACTION's result, as text: the
    whole Query document, and the SOAP Body's content (with version 2010-11-15)."""
    shape = RESPONSES[action]
    version = api_version(version)
    out = [f'<{action}Response xmlns="{escape(namespace_for(version), attribute=True)}">']
    # requestId is the adapter's, not the core result's.
    for step in _compile(shape, version):
        _emit_fields(out, (step,), {"request_id": request_id} if step[0] == "request_id" else result)
    out.append(f"</{action}Response>")
    return "".join(out)


def render_document(action: str, result: Any, request_id: str, version: str | None) -> bytes:
    """The Query response document for ACTION."""
    return ("<?xml version='1.0' encoding='UTF-8'?>\n" + render_response(action, result, request_id, version)
            ).encode("utf-8")


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
