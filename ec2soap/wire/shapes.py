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

# (id(Struct), version, whether it is a response's top element) → (the Struct, its writer). Shapes are
# module-level data that live as long as the process; the entry holds its Struct, so its id cannot be reused
# while the entry exists.
_WRITERS: dict[tuple[int, str, bool], tuple[Struct, Any]] = {}


def _writer(shape: Struct, version: str, top: bool = False) -> Any:
    """SHAPE's writer for API VERSION (elements newer than VERSION left out): a Python function generated once
    per shape and version, `write(append, value)` (`write(append, value, request_id)` for a response's top
    element, whose requestId is the adapter's), appending the elements of VALUE (a model object or a dict) as
    text. Query responses are text, not lxml trees (several times faster). Rendering a DescribeInstances of 50
    instances writes thousands of elements: walking a table of fields per element (unpacking, re-deciding each
    field's kind, a call per element) was most of its time; the generated code does the same steps in the same
    order without them. Every text goes through _escape unless it holds nothing escape would change."""
    key = (id(shape), version, top)
    entry = _WRITERS.get(key)
    if entry is None:
        entry = _WRITERS[key] = (shape, _generate(shape, version, top))
    return entry[1]


def _generate(shape: Struct, version: str, top: bool) -> Any:
    consts: dict[str, Any] = {"_escape": _escape, "_changed": _CHANGED_BY_ESCAPE.search,
                              "_is_seq": (list, tuple), "_str": str, "_type": type, "_isinstance": isinstance}

    def const(value: Any) -> str:
        name = f"_c{len(consts)}"
        consts[name] = value
        return name

    def emit(lines: list[str], pad: str, var: str, tag: str, item: Shape, depth: int) -> None:
        """Lines appending one <TAG> element of shape ITEM for the value in VAR (None included, as str)."""
        open_, close = f"<{tag}>", f"</{tag}>"
        if isinstance(item, str):
            text, convert = f"t{depth}", _TEXTS.get(item, str)
            if convert is str:
                lines.append(f"{pad}{text} = {var} if _type({var}) is _str else _str({var})")
            else:
                lines.append(f"{pad}{text} = {const(convert)}({var})")
            lines.append(f"{pad}append({open_!r} + (_escape({text}) if _changed({text}) else {text}) + {close!r})")
        elif isinstance(item, Struct):
            lines.append(f"{pad}append({open_!r})")
            lines.append(f"{pad}{const(_writer(item, version))}(append, {var})")
            lines.append(f"{pad}append({close!r})")
        else:
            each = f"i{depth}"
            lines.append(f"{pad}append({open_!r})")
            lines.append(f"{pad}if {var}:")
            lines.append(f"{pad}    for {each} in {var}:")
            emit(lines, pad + "        ", each, "item", item.item, depth + 1)
            lines.append(f"{pad}append({close!r})")

    def body(getter: str) -> list[str]:
        lines: list[str] = []
        for field in fields:
            if top and field.attr == "request_id":
                fetch = "request_id"
            elif field.attr == ".":
                fetch = "value"
            else:
                fetch = getter.format(attr=field.attr)
            lines += [f"    c = {fetch}", "    if c is not None:"]
            if field.max != 1:  # repeated: a list or tuple is one element per item
                lines += ["        if _isinstance(c, _is_seq):", "            for one in c:"]
                emit(lines, " " * 16, "one", field.xml, field.shape, 0)
                lines.append("        else:")
                emit(lines, " " * 12, "c", field.xml, field.shape, 0)
            else:
                emit(lines, " " * 8, "c", field.xml, field.shape, 0)
        return lines or ["    pass"]

    fields = [f for f in shape.fields if version >= f.since]
    source = "\n".join([f"def write(append, value{', request_id' if top else ''}):",
                        "    if _isinstance(value, dict):", "        get = value.get",
                        *("    " + line for line in body("get({attr!r})")), "    else:",
                        *("    " + line for line in body("getattr(value, {attr!r}, None)"))])
    namespace = dict(consts)
    exec(compile(source, f"<writer of {shape.name} {version}>", "exec"), namespace)  # our shapes' code only
    return namespace["write"]


def render_response(action: str, result: Any, request_id: str, version: str | None) -> str:
    """The `<ActionResponse xmlns=…><requestId/>…</ActionResponse>` element for ACTION's result, as text: the
    whole Query document, and the SOAP Body's content (with version 2010-11-15)."""
    shape = RESPONSES[action]
    version = api_version(version)
    out = [f'<{action}Response xmlns="{escape(namespace_for(version), attribute=True)}">']
    _writer(shape, version, top=True)(out.append, result, request_id)
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
