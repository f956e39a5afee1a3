"""Bounds on what we parse from callers: one place for the size and nesting limits of every JSON and XML body.

Request bodies we parse: S3 bucket policies (JSON) and S3 configuration documents (ACL, CORS, versioning,
CreateBucketConfiguration, Delete, CompleteMultipartUpload), SOAP envelopes (XML). A parser meeting a
10,000-deep document either recurses until Python gives up (json: RecursionError, a 500) or spends its time on
a tree no real document has; so the depth is checked before any parser sees the text (JSON) or while it is
read (XML), and each caller turns `LimitExceeded` into its protocol's error (MalformedPolicy, MalformedXML, a
SOAP fault). No Twisted, no lxml at import time; pure functions.

The limits are far above any real document: an S3 document nests 4 levels, a bucket policy 5, a WS-Security
SOAP envelope about 10 (an EC2 request inside it at most 8 more).
"""
from __future__ import annotations

import json
from typing import Any

__all__ = ["LimitExceeded", "MAX_JSON_DEPTH", "MAX_XML_DEPTH", "MAX_XML_BYTES", "json_depth", "load_json",
           "parse_xml", "xml_depth"]

MAX_JSON_DEPTH = 32
MAX_XML_DEPTH = 64
MAX_XML_BYTES = 1024 * 1024


class LimitExceeded(ValueError):
    """A document over a limit; `what` is "size" or "depth", `limit` the bound it passed."""

    def __init__(self, what: str, limit: int):
        super().__init__(f"the document's {what} is over the limit of {limit}")
        self.what, self.limit = what, limit


def json_depth(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep the arrays and objects of the JSON text DATA nest (0 for a scalar), counting only up to
    LIMIT + 1: one pass over the bytes, never recursing, ignoring brackets inside strings. Not a validator
    (a malformed text still gets a depth; the JSON parser judges it afterwards)."""
    text = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # "
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def load_json(data: bytes | str, *, max_bytes: int, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """DATA parsed as JSON, or LimitExceeded (size or depth), or ValueError (not JSON, not UTF-8)."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise LimitExceeded("size", max_bytes)
    if json_depth(raw, max_depth) > max_depth:
        raise LimitExceeded("depth", max_depth)
    try:
        return json.loads(raw)
    except RecursionError:  # not reachable within the depth limit; kept so a parser change cannot give a 500
        raise LimitExceeded("depth", max_depth) from None


def xml_depth(root: Any, limit: int = MAX_XML_DEPTH) -> int:
    """How deep the elements under the lxml element ROOT nest (1 for a lone root), counting up to LIMIT + 1,
    without recursing."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth + 1) for child in element)
    return deepest


def parse_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES, max_depth: int = MAX_XML_DEPTH,
              remove_comments: bool = True) -> Any:
    """DATA → its root lxml element, with the hardened parser every request body uses: no entities resolved,
    no DTD loaded, no network, libxml2's own size limits kept (huge_tree off); comments and processing
    instructions dropped. LimitExceeded over MAX_BYTES or MAX_DEPTH; lxml's XMLSyntaxError when not
    well-formed. Callers still refuse DOCTYPEs, which only they know how to report."""
    from lxml import etree

    raw = bytes(data)
    if len(raw) > max_bytes:
        raise LimitExceeded("size", max_bytes)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, collect_ids=False, remove_comments=remove_comments,
                             remove_pis=True)
    root = etree.fromstring(raw, parser)
    if xml_depth(root, max_depth) > max_depth:
        raise LimitExceeded("depth", max_depth)
    return root
