"""The generated shape writers against a straightforward renderer: random values through every response shape
(the Query door's versions and the SOAP door's 2010-11-15), compared byte for byte.

The reference below is the plain reading of the shapes: a field is getattr(value, attr, None) (a dict's
.get), None is left out, a repeated field writes one element per item of a list or tuple, a set writes
`<item>`s, and every text goes through ec2soap.xmltext.escape. The values are what models hold and what callers
send: text with XML's specials, characters XML 1.0 cannot carry (controls, lone surrogates, U+FFFE), CR, tabs
and newlines, non-ASCII (printable or not), ints, booleans, datetimes, bytes, str subclasses whose str() is not
their value, objects lacking attributes (some of one type, all of another), dicts, lists, tuples, generators.
"""
from __future__ import annotations

import enum
import importlib
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from lxml import etree

from ec2soap.wire import shapes
from ec2soap.wire.shapes import Field, ListOf, Struct, field_, register, render_document, render_response
from ec2soap.xmltext import escape

importlib.import_module("ec2soap.wire.types")  # registers every response shape
VERSIONS = [None, "2010-11-15", "2012-08-15", "2016-11-15", "bogus"]
_ABSENT = object()

# Texts escape leaves alone, as the writers' fast path sees them (tab, newline, DEL, NEL and NBSP are kept
# but are not "printable", so they take the regex), and texts it changes.
CLEAN = list("abcXYZ019-_./: =@'\"") + ["\t", "\n", "\x7f", "\x85", "\xa0", "é", "中", "\u2028", "\ud7ff",
                                           "\ue000", "\ufffd", "\U0001f600", "\U0010ffff", "i-0123abcd"]
HOSTILE = ["&", "<", ">", "\r", "]]>", "&amp;", "<a>", "</item>"] + [chr(c) for c in range(0x20)
                                                                    if c not in (9, 10, 13)] \
    + ["\ud800", "\udfff", "\ufffe", "\uffff"]


class Flag(str, enum.Enum):  # str() is "Flag.ON", not its value
    ON = "on<&>"


class Loud(str):
    def __str__(self) -> str:
        return "LOUD&" + self.upper()


def reference(action: str, result: Any, request_id: Any, version: str | None) -> str:
    version = shapes.api_version(version)
    out = [f'<{action}Response xmlns="{escape(shapes.namespace_for(version), attribute=True)}">']
    _struct(out, shapes.RESPONSES[action], result, version, request_id)
    out.append(f"</{action}Response>")
    return "".join(out)


def _read(value: Any, attr: str) -> Any:
    return value.get(attr) if isinstance(value, dict) else getattr(value, attr, None)


def _struct(out: list[str], shape: Struct, value: Any, version: str, request_id: Any = _ABSENT) -> None:
    for f in shape.fields:
        if version < f.since:
            continue
        if request_id is not _ABSENT and f.attr == "request_id":
            c = request_id
        else:
            c = value if f.attr == "." else _read(value, f.attr)
        if c is None:
            continue
        for one in (c if f.max != 1 and isinstance(c, (list, tuple)) else [c]):
            _element(out, f.xml, f.shape, one, version)


def _element(out: list[str], tag: str, shape: Any, value: Any, version: str) -> None:
    if isinstance(shape, str):
        if shape == "boolean":
            text = "true" if value else "false"
        elif shape == "dateTime":
            text = shapes._datetime_text(value)
        elif shape == "base64":
            text = shapes._base64_text(value)
        else:
            text = str(value)
        out.append(f"<{tag}>{escape(text)}</{tag}>")
    elif isinstance(shape, Struct):
        out.append(f"<{tag}>")
        _struct(out, shape, value, version)
        out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}>")
        if value:
            for item in value:
                _element(out, "item", shape.item, item, version)
        out.append(f"</{tag}>")


# A few model classes per Struct: one with every attribute (the writers' attrgetter), one lacking a fixed
# part, and a plain class whose objects each have a random part (an object lacking what its type's first had).
_CLASSES: dict[tuple[str, str], type] = {}


def _cls(shape: Struct, kind: str) -> type:
    key = (shape.name, kind)
    if key not in _CLASSES:
        _CLASSES[key] = type(f"{shape.name}_{kind}", (), {"__repr__": lambda self: f"<{vars(self)}>"})
    return _CLASSES[key]


class Builder:
    def __init__(self, seed: int, hostile: bool):
        self.rng = random.Random(seed)
        self.alphabet = CLEAN + HOSTILE if hostile else CLEAN

    def text(self) -> str:
        return "".join(self.rng.choice(self.alphabet) for _ in range(self.rng.randrange(0, 6)))

    def scalar(self, kind: str) -> Any:
        r = self.rng.random()
        if kind == "boolean":
            return self.rng.choice([True, False, 0, 1, "", "x", []])
        if kind == "dateTime" and r < 0.6:
            return datetime(2026, 1, 2, 3, 4, 5, self.rng.randrange(10 ** 6),
                            tzinfo=self.rng.choice([None, timezone.utc, timezone(timedelta(hours=-5))]))
        if kind == "base64" and r < 0.6:
            return bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(5)))
        if r < 0.12:
            return self.rng.randrange(-5, 10 ** 6)
        if r < 0.15:
            return self.rng.choice([Flag.ON, Loud(self.text()), 2.5] + ([] if kind == "dateTime" else [float("nan")]))
        return self.text()

    def value(self, shape: Any, depth: int = 0) -> Any:
        if isinstance(shape, str):
            return self.scalar(shape)
        if isinstance(shape, ListOf):
            items = [self.value(shape.item, depth + 1) for _ in range(0 if depth > 4 else self.rng.randrange(4))]
            return self.rng.choice([lambda: items, lambda: tuple(items), lambda: iter(items), lambda: []])()
        return self.struct(shape, depth)

    def field(self, f: Field, depth: int) -> Any:
        if self.rng.random() < 0.2 or depth > 8:
            return None
        if f.max != 1 and self.rng.random() < 0.6:
            return [self.value(f.shape, depth + 1) for _ in range(self.rng.randrange(3))]
        return self.value(f.shape, depth + 1)

    def struct(self, shape: Struct, depth: int) -> Any:
        attrs = {f.attr: self.field(f, depth) for f in shape.fields if f.attr not in (".", "request_id")}
        kind = self.rng.choice(["full", "full", "lacking", "random", "dict"])
        if kind == "dict":
            return {k: v for k, v in attrs.items() if self.rng.random() < 0.9}
        if kind == "lacking":
            attrs = {k: v for i, (k, v) in enumerate(attrs.items()) if i % 3 != 1}
        elif kind == "random":
            attrs = {k: v for k, v in attrs.items() if self.rng.random() < 0.7}
        obj = _cls(shape, kind)()
        vars(obj).update(attrs)
        return obj

    def result(self, shape: Struct) -> Any:
        dots = [f for f in shape.fields if f.attr == "."]
        return self.value(dots[0].shape) if dots else self.struct(shape, 0)  # "." : the result is its value


def _both(action: str, make: Callable[[], Any], request_id: Any, version: str | None) -> tuple[str, str]:
    """Our writers' text and the reference's for two equal values built alike (generators are used up)."""
    return render_response(action, make(), request_id, version), reference(action, make(), request_id, version)


def test_every_response_shape_renders_random_values_as_the_reference_does() -> None:
    checked = dirty = 0
    for seed, action in enumerate(sorted(shapes.RESPONSES) * 6):
        hostile = seed % 2 == 1
        request_id = Builder(seed, hostile).text() if seed % 5 == 0 else f"req-{seed}"
        for version in VERSIONS:
            ours, expected = _both(action, lambda: Builder(seed, hostile).result(shapes.RESPONSES[action]),
                                   request_id, version)
            assert ours == expected, (action, version, seed)
            assert render_document(action, Builder(seed, hostile).result(shapes.RESPONSES[action]), request_id,
                                   version) == ("<?xml version='1.0' encoding='UTF-8'?>\n" + expected).encode()
            etree.fromstring(expected.encode())  # the reference itself writes XML
            checked += 1
            dirty += "&" in expected[expected.index(">"):] or "\ufffd" in expected
    assert checked > 1000 and 100 < dirty < checked  # both the fast path and the escaping one were taken


def test_the_same_types_again_with_fields_missing_on_some_objects() -> None:
    # The writers learn a reader per model type from its first object; later objects of the type lacking an
    # attribute the first had (or having one it lacked) are still read as getattr(..., None) reads them.
    instances = shapes.RESPONSES["DescribeInstances"]
    for seed in range(300):
        make = (lambda: Builder(seed, seed % 3 == 0).result(instances))
        for version in ("2016-11-15", "2010-11-15"):
            ours, expected = _both("DescribeInstances", make, "r", version)
            assert ours == expected, (seed, version)


TEST_ITEM = Struct("TestRepeatedItemType", (
    field_("word"), Field("value", "string", "values", 0, None), Field("when", "dateTime", "whens", 0, None),
    Field("flag", "boolean", "flags", 0, None, since="2014-01-01"),
    field_("inner", ListOf("TestInnerSetType", Struct("TestInnerType", (field_("code", "int"),
                                                                        field_("data", "base64", optional=True)))),
           optional=True)))
register("TestRenderRepeated", Struct("TestRenderRepeatedResponseType", (
    field_("requestId"), field_("itemSet", ListOf("TestRepeatedItemSetType", TEST_ITEM), attr="."),
    field_("dotted", attr="a.b", optional=True))))


def test_repeated_fields_sets_of_scalars_and_dotted_attributes_as_the_reference() -> None:
    shape = shapes.RESPONSES["TestRenderRepeated"]
    for seed in range(400):
        make = (lambda: Builder(seed, seed % 2 == 0).result(shape))
        for version in ("2010-11-15", "2016-11-15"):
            ours, expected = _both("TestRenderRepeated", make, "r", version)
            assert ours == expected, (seed, version)


def test_a_recursive_shape_is_written_by_its_own_writer() -> None:
    node = Struct("TestNodeType", ())
    object.__setattr__(node, "fields", (field_("name"), field_("child", node, optional=True)))
    register("TestRenderTree", Struct("TestRenderTreeResponseType", (field_("requestId"),
                                                                     field_("root", node, attr="."))))

    class Node:
        def __init__(self, name: str, child: Any = None):
            self.name, self.child = name, child

    try:
        tree = Node("a&1", Node("b<2", {"name": "c\x003", "child": Node("d")}))
        ours = render_response("TestRenderTree", tree, "r", None)
        assert ours == reference("TestRenderTree", tree, "r", None)
        assert "<root><name>a&amp;1</name><child><name>b&lt;2</name><child><name>c\ufffd3</name><child><name>d" \
               "</name></child></child></child></root>" in ours
    finally:  # not left among the real shapes (a recursive Struct has no hash, repr or SOAP model)
        del shapes.RESPONSES["TestRenderTree"]


def test_the_texts_check_agrees_with_escape_for_every_character() -> None:
    for code in list(range(0x10000)) + list(range(0x10000, 0x110000, 0x101)):
        ch = chr(code)
        same = escape(ch) == ch
        for text in (ch, "abc" + ch, "é" + ch + "x", "\t" + ch):
            assert shapes._unchanged_by_escape(text) == same, (hex(code), text)
