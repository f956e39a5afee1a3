"""The Query renderer: namespaces by Version, elements newer than the request's Version left out, text escaped."""
from dataclasses import dataclass

from lxml import etree

from ec2soap.wire import types  # noqa: F401
from ec2soap.wire.shapes import ListOf, Struct, field_, register, render_document

NS = "{http://ec2.amazonaws.com/doc/%s/}"


@dataclass
class Thing:
    name: str
    colour: str | None = None
    sizes: tuple = ()


ITEM = Struct("TestThingType", (field_("name"), field_("colour", optional=True, since="2014-01-01"),
                                field_("sizes", ListOf("TestSizesType", "int"), optional=True)))
register("TestDescribeThings", Struct("TestDescribeThingsResponseType", (
    field_("requestId"), field_("thingSet", ListOf("TestThingSetType", ITEM), attr="."))))


def parse(body: bytes) -> etree._Element:
    return etree.fromstring(body)


def test_namespace_follows_the_version_and_newer_elements_wait_for_it() -> None:
    things = [Thing("a", "red", (1, 2)), Thing("b")]
    old = parse(render_document("TestDescribeThings", things, "rid-1", "2010-11-15"))
    assert old.tag == NS % "2010-11-15" + "TestDescribeThingsResponse"
    assert old.findtext(NS % "2010-11-15" + "requestId") == "rid-1"
    assert [e.text for e in old.iter(NS % "2010-11-15" + "name")] == ["a", "b"]
    assert list(old.iter(NS % "2010-11-15" + "colour")) == []
    new = parse(render_document("TestDescribeThings", things, "rid-2", "2016-11-15"))
    assert [e.text for e in new.iter(NS % "2016-11-15" + "colour")] == ["red"]
    assert [e.text for e in new.iter(NS % "2016-11-15" + "item") if e.text] == ["1", "2"]


def test_text_is_escaped_and_characters_xml_cannot_carry_are_replaced() -> None:
    body = render_document("TestDescribeThings", [Thing("<a & b>\x01\x7f")], "r", None)
    name = parse(body).findtext(f".//{NS % '2010-11-15'}name")
    assert name == "<a & b>\ufffd\x7f"


def test_the_renderers_shortcut_set_is_exactly_what_escape_changes() -> None:
    from ec2soap.wire import shapes
    from ec2soap.xmltext import escape
    for code in range(0x10000):
        ch = chr(code)
        assert (shapes._CHANGED_BY_ESCAPE.search(ch) is not None) == (escape(ch) != ch), hex(code)


def test_times_are_written_in_utc_with_milliseconds_whatever_their_zone() -> None:
    from datetime import datetime, timedelta, timezone
    from ec2soap.wire import shapes
    aware = datetime(2026, 1, 2, 5, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    naive = datetime(2026, 1, 2, 3, 4, 5, 678901)
    for _ in range(2):  # written, then from the cache
        assert shapes._datetime_text(aware) == "2026-01-02T03:04:05.678Z"
        assert shapes._datetime_text(naive) == "2026-01-02T03:04:05.678Z"
    assert shapes._datetime_text(0) == "1970-01-01T00:00:00.000Z"
