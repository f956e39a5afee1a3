"""The one place text becomes XML: every document ec2soap writes (EC2 Query responses and errors, SOAP answers
and faults, S3 responses and error documents) passes its text through here.

XML 1.0 cannot carry most C0 control characters (NUL included), lone surrogates, U+FFFE and U+FFFF, not even
as character references; a document holding one is not XML and every client's parser refuses it. Names,
keys, tag values and messages echo what the caller sent, so such characters reach us in requests: they are
replaced with U+FFFD (REPLACEMENT CHARACTER), and the rest is escaped as element or attribute text.

No imports from the rest of ec2soap; lxml writers use `clean` (lxml escapes, but refuses these characters),
string writers use `escape`.
"""
from __future__ import annotations

import re
from typing import Any

__all__ = ["clean", "escape", "REPLACEMENT"]

REPLACEMENT = "\ufffd"
# Everything outside XML 1.0's Char production: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] |
# [#x10000-#x10FFFF]. (Surrogates only appear in a str as lone ones, e.g. from "surrogateescape".)
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_SPECIALS = re.compile("[&<>\r]")
_ATTR_SPECIALS = re.compile("[&<>\"\t\n\r]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;",
             "\r": "&#13;"}


def clean(value: Any) -> str:
    """VALUE as text XML 1.0 can carry: characters it cannot are replaced with U+FFFD (nothing else changes;
    for lxml's `.text` and attributes, which escape by themselves)."""
    text = value if isinstance(value, str) else str(value)
    return _INVALID.sub(REPLACEMENT, text)


def escape(value: Any, *, attribute: bool = False) -> str:
    """VALUE as the text of an element (or, with ATTRIBUTE, of a double-quoted attribute value): cleaned as
    `clean` does and with XML's specials escaped. Carriage returns (and, in attributes, tabs and newlines) are
    written as character references, so that a parser's end-of-line normalisation gives back exactly VALUE."""
    text = clean(value)
    specials = _ATTR_SPECIALS if attribute else _TEXT_SPECIALS
    if specials.search(text) is None:
        return text
    return specials.sub(lambda match: _ENTITIES[match.group()], text)
