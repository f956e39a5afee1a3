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
from keyword import iskeyword
from operator import attrgetter
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
# The characters ec2soap.xmltext.escape changes in element text (those XML 1.0 cannot carry, and & < > CR).
# tests/unit/wire/test_shapes.py holds this set to escape's behaviour over every BMP code point.
_CHANGED_BY_ESCAPE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff&<>\r]")


def _unchanged_by_escape(text: str) -> bool:
    """Whether escape(TEXT) is TEXT, without the regex's per-character cost when it can: an ASCII text (isascii
    is a flag of the str) is checked by bytes.translate deleting the bytes escape would change (one C pass);
    otherwise str.isprintable(), False for every character of _CHANGED_BY_ESCAPE but & < > (controls, CR,
    surrogates, U+FFFE and U+FFFF are not printable); a text it refuses (a newline, a tab, a non-printable
    character that escape keeps) gets the regex."""
    if text.isascii():
        data = text.encode("ascii")
        return len(data.translate(None, _ASCII_CHANGED)) == len(data)
    if text.isprintable():
        return "&" not in text and "<" not in text and ">" not in text
    return _CHANGED_BY_ESCAPE.search(text) is None


# The ASCII characters of _CHANGED_BY_ESCAPE, as bytes.
_ASCII_CHANGED = bytes(code for code in range(128) if _CHANGED_BY_ESCAPE.match(chr(code)))


def _fields_of(value: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    """VALUE's NAMES as every writer reads them: a dict's items, any other object's attributes (None if
    absent). The per-type readers _reader_for makes give the same, faster."""
    if isinstance(value, dict):
        return tuple(map(value.get, names))
    return tuple(getattr(value, name, None) for name in names)


def _reader_for(value: Any, names: tuple[str, ...], readers: dict[type, Any]) -> Any:
    """A function of one object giving _fields_of(object, NAMES) (its single item if NAMES has one), made from
    VALUE and kept in READERS for VALUE's type. For a type whose object had every attribute, an attrgetter
    (one C call); for one lacking some, a function reading those with getattr(…, None) and the rest as
    attributes. Either raises AttributeError for an object lacking an attribute its type's first one had: the
    writer then reads that object with _fields_of."""
    single = len(names) == 1
    if isinstance(value, dict):
        reader = (lambda v: v.get(names[0])) if single else (lambda v: tuple(map(v.get, names)))
    else:
        present = ["." not in name and hasattr(value, name) for name in names]  # attrgetter follows dots
        if all(present):
            reader = attrgetter(*names)
        else:
            reads = [f"v.{name}" if here and name.isidentifier() and not iskeyword(name) else
                     f"_getattr(v, {name!r})" if here else f"_getattr(v, {name!r}, None)"
                     for name, here in zip(names, present)]
            source = f"def read(v):\n    return {reads[0] if single else '(' + ', '.join(reads) + ',)'}"
            namespace: dict[str, Any] = {"_getattr": getattr}
            exec(compile(source, f"<reader of {type(value).__name__}>", "exec"), namespace)
            reader = namespace["read"]
    if len(readers) < 64:  # a few model types per shape; never grows without bound
        readers[type(value)] = reader
    return reader


# (id(Struct), version, whether it is a response's top element) → (the Struct, its writer). Shapes are
# module-level data that live as long as the process; the entry holds its Struct, so its id cannot be reused
# while the entry exists.
_WRITERS: dict[tuple[int, str, bool], tuple[Struct, Any]] = {}


def _writer(shape: Struct, version: str, top: bool = False) -> Any:
    """SHAPE's writer for API VERSION (elements newer than VERSION left out): a Python function generated once
    per shape and version, `write(append, value)` (`write(append, value, request_id)` for a response's top
    element, whose requestId is the adapter's), appending the elements of VALUE (a model object or a dict) as
    text. Query responses are text, not lxml trees (several times faster).

    Rendering a DescribeInstances of 50 instances writes over a thousand elements, so the generated code does
    per element only what it needs: nested Structs are inlined (no call per Struct), an object's fields are read
    by one call of a reader made for its type (an attrgetter: C), and the texts are appended unescaped.
    Appends come in pairs, markup then text (the empty string after markup alone): the texts are the odd
    items, which render_response joins and checks once, escaping only when one of them needs it."""
    key = (id(shape), version, top)
    entry = _WRITERS.get(key)
    if entry is None:
        entry = _WRITERS[key] = (shape, _generate(shape, version, top))
    return entry[1]


def _generate(shape: Struct, version: str, top: bool) -> Any:
    consts: dict[str, Any] = {"_isinstance": isinstance, "_is_seq": (list, tuple), "_str": str, "_type": type,
                              "_fields_of": _fields_of, "_reader_for": _reader_for}
    lines: list[str] = []
    counter = iter(range(1 << 30))
    last: list[Any] = [None]  # (line index, pad, markup) if the last line appends markup alone

    def const(value: Any) -> str:
        name = f"_k{len(consts)}"
        consts[name] = value
        return name

    def line(pad: str, text: str) -> None:
        lines.append(pad + text)
        last[0] = None

    def markup(pad: str, text: str) -> None:
        """The pair (TEXT, ""), merged into the line before if that appends markup alone in the same block."""
        if last[0] is not None and last[0][0] == len(lines) - 1 and last[0][1] == pad:
            text = last[0][2] + text
            lines.pop()
        lines.append(f"{pad}append({text!r}); append('')")
        last[0] = (len(lines) - 1, pad, text)

    def leaf(pad: str, var: str, tag: str, kind: str) -> None:
        """One scalar element for the value in VAR (None included: written as str(None), as a set's item)."""
        open_, close = f"<{tag}>", f"</{tag}>"
        convert = _TEXTS.get(kind)
        if convert is _boolean_text:  # whole elements, no text to check
            line(pad, f"append({open_ + 'true' + close!r} if {var} else {open_ + 'false' + close!r}); append('')")
            return
        if convert is not None:
            line(pad, f"t = {const(convert)}({var})")
        else:
            line(pad, f"t = {var} if _type({var}) is _str else _str({var})")
        line(pad, f"append({open_!r}); append(t); append({close!r}); append('')")

    def element(pad: str, var: str, tag: str, item: Shape, stack: tuple[Struct, ...]) -> None:
        """Lines appending one <TAG> element of shape ITEM for the value in VAR."""
        if isinstance(item, str):
            leaf(pad, var, tag, item)
        elif isinstance(item, Struct):
            markup(pad, f"<{tag}>")
            if any(outer is item for outer in stack):  # a recursive shape: its own writer, found when called
                line(pad, f"{const(lambda append, value, _shape=item: _writer(_shape, version)(append, value))}"
                          f"(append, {var})")
            else:
                struct(pad, var, item, stack + (item,))
            markup(pad, f"</{tag}>")
        else:
            each = f"e{next(counter)}"
            line(pad, f"if {var}:")
            markup(pad + "    ", f"<{tag}>")
            line(pad + "    ", f"for {each} in {var}:")
            element(pad + "        ", each, "item", item.item, stack)
            markup(pad + "    ", f"</{tag}>")
            line(pad, "else:")
            markup(pad + "    ", f"<{tag}></{tag}>")

    def struct(pad: str, var: str, shape: Struct, stack: tuple[Struct, ...]) -> None:
        """Lines appending the elements of SHAPE for the value in VAR (a model object, a dict, anything)."""
        n = next(counter)
        fields = [f for f in shape.fields if version >= f.since]
        names, read = [], []  # each field's local; (local, attr) of those read from the value
        for i, f in enumerate(fields):
            if top and len(stack) == 1 and f.attr == "request_id":
                names.append("request_id")
            elif f.attr == ".":
                names.append(var)
            else:
                names.append(f"c{n}_{i}")
                read.append((names[-1], f.attr))
        if read:
            attrs = tuple(attr for _, attr in read)
            readers, targets = const({}), "".join(f"{local}, " for local, _ in read)
            line(pad, f"r = {readers}.get(_type({var}))")
            line(pad, "if r is None:")
            line(pad + "    ", f"r = _reader_for({var}, {attrs!r}, {readers})")
            line(pad, "try:")
            line(pad + "    ", f"{read[0][0] if len(read) == 1 else targets} = r({var})")
            line(pad, "except AttributeError:  # this object lacks an attribute its type's first one had")
            line(pad + "    ", f"{targets}= _fields_of({var}, {attrs!r})")
        for f, local in zip(fields, names):
            line(pad, f"if {local} is not None:")
            if f.max != 1:  # repeated: a list or tuple is one element per item
                one = f"o{n}"
                line(pad + "    ", f"if _isinstance({local}, _is_seq):")
                line(pad + "        ", f"for {one} in {local}:")
                element(pad + " " * 12, one, f.xml, f.shape, stack)
                line(pad + "    ", "else:")
                element(pad + " " * 8, local, f.xml, f.shape, stack)
            else:
                element(pad + "    ", local, f.xml, f.shape, stack)

    struct("    ", "value", shape, (shape,))
    source = "\n".join([f"def write(append, value{', request_id' if top else ''}):", *lines, "    pass"])
    namespace = dict(consts)
    exec(compile(source, f"<writer of {shape.name} {version}>", "exec"), namespace)  # our shapes' code only
    return namespace["write"]


def render_response(action: str, result: Any, request_id: str, version: str | None) -> str:
    """The `<ActionResponse xmlns=…><requestId/>…</ActionResponse>` element for ACTION's result, as text: the
    whole Query document, and the SOAP Body's content (with version 2010-11-15)."""
    shape = RESPONSES[action]
    version = api_version(version)
    out: list[str] = []
    _writer(shape, version, top=True)(out.append, result, request_id)
    if not _unchanged_by_escape("".join(out[1::2])):  # the texts: escape those that need it (rare)
        for i in range(1, len(out), 2):
            if _CHANGED_BY_ESCAPE.search(out[i]) is not None:
                out[i] = _escape(out[i])
    return (f'<{action}Response xmlns="{escape(namespace_for(version), attribute=True)}">' + "".join(out)
            + f"</{action}Response>")


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
