"""S3 LifecycleConfiguration: the hardened parse of a PutBucketLifecycleConfiguration body, S3's validation of
its rules, and the GetBucketLifecycleConfiguration document.

A parsed rule is a plain dict (stored as JSON with the bucket): "id", "status", either "prefix" (the legacy
rule-level <Prefix>) or "filter" ({"prefix", "tags": [[key, value]...], "gt", "lt", "and"}: "and" when the
members came in an <And>, so the document is given back in the form it was put), and the actions
"expiration" ({"days"} | {"date": ISO text, "at": epoch seconds} | {"delete_marker": bool}), "noncurrent"
({"days", "newer"}) and "abort_days". The parser reuses s3.xml's bounded parser; nothing here touches SQL.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional, Sequence

from ec2soap.s3.errors import S3Error
from ec2soap.s3.rules import opaque_token
from ec2soap.s3.xml import _children, _el, _one, _parse, _root, document

__all__ = ["parse_lifecycle", "lifecycle_configuration", "MAX_RULES", "MAX_ID"]

MAX_RULES = 1000
MAX_ID = 255
_RULE_ELEMENTS = {"ID", "Status", "Filter", "Prefix", "Expiration", "NoncurrentVersionExpiration",
                  "AbortIncompleteMultipartUpload", "Transition", "NoncurrentVersionTransition"}


def _local(element: Any) -> str:
    from lxml import etree

    return etree.QName(element).localname


def _only(element: Any, allowed: set[str]) -> None:
    """Unknown children are MalformedXML, as S3's schema check answers them."""
    for child in element:
        if isinstance(child.tag, str) and _local(child) not in allowed:
            raise S3Error("MalformedXML")


def _positive(text: Optional[str], message: str) -> int:
    if text is None or not text.lstrip("-").isdigit() or not text.isascii():
        raise S3Error("MalformedXML")
    value = int(text)
    if value <= 0:
        raise S3Error("InvalidArgument", message)
    return value


def _size(text: Optional[str]) -> int:
    if text is None or not text.isascii() or not text.lstrip("-").isdigit():
        raise S3Error("MalformedXML")
    value = int(text)
    if value < 0:
        raise S3Error("InvalidArgument", "ObjectSize must be a non-negative integer")
    return value


def _tag(element: Any) -> list[str]:
    _only(element, {"Key", "Value"})
    key = _one(element, "Key")
    value = _one(element, "Value", required=False)
    if not key:
        raise S3Error("InvalidArgument", "Tag key cannot be empty")
    return [key, value or ""]


def _filter(element: Any) -> dict:
    """<Filter>: at most one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan or And (empty: all)."""
    _only(element, {"Prefix", "Tag", "And", "ObjectSizeGreaterThan", "ObjectSizeLessThan"})
    members = [child for child in element if isinstance(child.tag, str)]
    if len(members) > 1:
        raise S3Error("MalformedXML")
    out: dict = {"prefix": None, "tags": [], "gt": None, "lt": None, "and": False}
    if not members:
        return out
    member = members[0]
    name = _local(member)
    if name == "Prefix":
        out["prefix"] = (member.text or "")
    elif name == "Tag":
        out["tags"] = [_tag(member)]
    elif name == "ObjectSizeGreaterThan":
        out["gt"] = _size((member.text or "").strip())
    elif name == "ObjectSizeLessThan":
        out["lt"] = _size((member.text or "").strip())
    else:
        _only(member, {"Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan"})
        out["and"] = True
        prefixes = _children(member, "Prefix")
        if len(prefixes) > 1:
            raise S3Error("MalformedXML")
        if prefixes:
            out["prefix"] = prefixes[0].text or ""
        out["tags"] = [_tag(tag) for tag in _children(member, "Tag")]
        for field, tag in (("gt", "ObjectSizeGreaterThan"), ("lt", "ObjectSizeLessThan")):
            value = _one(member, tag, required=False)
            if value is not None:
                out[field] = _size(value)
        if len(out["tags"]) != len({key for key, _ in out["tags"]}):
            raise S3Error("InvalidRequest", "Duplicate Tag Keys are not allowed.")
        members_given = (out["prefix"] is not None) + len(out["tags"]) + (out["gt"] is not None) + \
            (out["lt"] is not None)
        if members_given < 2:
            # S3: an <And> combines at least two predicates (a prefix and a tag, two tags, ...).
            raise S3Error("MalformedXML")
    if out["gt"] is not None and out["lt"] is not None and out["gt"] >= out["lt"]:
        raise S3Error("InvalidArgument", "ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
    return out


def _midnight(text: str) -> float:
    """A lifecycle Date: ISO 8601, midnight UTC (S3 refuses any other time of day)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise S3Error("InvalidArgument", "Invalid date: %s" % text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        raise S3Error("InvalidArgument", "'Date' must be at midnight GMT")
    return moment.timestamp()


def _expiration(element: Any) -> dict:
    _only(element, {"Days", "Date", "ExpiredObjectDeleteMarker"})
    days = _one(element, "Days", required=False)
    date = _one(element, "Date", required=False)
    marker = _one(element, "ExpiredObjectDeleteMarker", required=False)
    if sum(value is not None for value in (days, date, marker)) != 1:
        # Days with Date, or ExpiredObjectDeleteMarker with either, or nothing at all.
        raise S3Error("MalformedXML")
    if days is not None:
        return {"days": _positive(days, "'Days' for Expiration action must be a positive integer")}
    if date is not None:
        at = _midnight(date)
        return {"date": datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"), "at": at}
    if marker not in ("true", "false"):
        raise S3Error("MalformedXML")
    return {"delete_marker": marker == "true"}


def _noncurrent(element: Any) -> dict:
    _only(element, {"NoncurrentDays", "NewerNoncurrentVersions"})
    days = _positive(_one(element, "NoncurrentDays"),
                     "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
    newer = _one(element, "NewerNoncurrentVersions", required=False)
    out = {"days": days, "newer": None}
    if newer is not None:
        count = _positive(newer, "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a "
                                 "positive integer")
        if count > 100:
            raise S3Error("InvalidArgument", "'NewerNoncurrentVersions' for NoncurrentVersionExpiration action "
                                             "must not exceed 100")
        out["newer"] = count
    return out


def _rule(element: Any) -> dict:
    _only(element, _RULE_ELEMENTS)
    if _children(element, "Transition") or _children(element, "NoncurrentVersionTransition"):
        raise S3Error("NotImplemented", "Lifecycle transitions are not implemented by this gateway: it keeps "
                                        "every object in one storage class (STANDARD).")
    rule_id = _one(element, "ID", required=False)
    if rule_id is not None and len(rule_id) > MAX_ID:
        raise S3Error("InvalidArgument", "ID length should not exceed allowed limit of 255")
    status = _one(element, "Status", required=False)
    if status not in ("Enabled", "Disabled"):
        raise S3Error("MalformedXML")
    filters, prefixes = _children(element, "Filter"), _children(element, "Prefix")
    if len(filters) + len(prefixes) != 1:
        # Filter or the legacy Prefix: exactly one of them (S3's schema).
        raise S3Error("MalformedXML")
    rule: dict = {"id": rule_id or opaque_token(36)[:48], "status": status}
    if prefixes:
        rule["prefix"] = prefixes[0].text or ""
        rule["filter"] = None
    else:
        rule["filter"] = _filter(filters[0])
    expirations = _children(element, "Expiration")
    noncurrents = _children(element, "NoncurrentVersionExpiration")
    aborts = _children(element, "AbortIncompleteMultipartUpload")
    if len(expirations) > 1 or len(noncurrents) > 1 or len(aborts) > 1:
        raise S3Error("MalformedXML")
    rule["expiration"] = _expiration(expirations[0]) if expirations else None
    rule["noncurrent"] = _noncurrent(noncurrents[0]) if noncurrents else None
    rule["abort_days"] = None
    if aborts:
        _only(aborts[0], {"DaysAfterInitiation"})
        rule["abort_days"] = _positive(_one(aborts[0], "DaysAfterInitiation"),
                                       "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be "
                                       "a positive integer")
    if rule["expiration"] is None and rule["noncurrent"] is None and rule["abort_days"] is None:
        raise S3Error("InvalidRequest", "At least one action needs to be specified in a rule")
    tagged = bool(rule["filter"] and rule["filter"]["tags"])
    sized = bool(rule["filter"] and (rule["filter"]["gt"] is not None or rule["filter"]["lt"] is not None))
    if rule["abort_days"] is not None and (tagged or sized):
        raise S3Error("InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags."
                      if tagged else "AbortIncompleteMultipartUpload cannot be specified with an object size "
                                     "filter.")
    if tagged and rule["expiration"] is not None and "delete_marker" in rule["expiration"]:
        raise S3Error("InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with Tags.")
    return rule


def parse_lifecycle(body: bytes) -> list[dict]:
    """LifecycleConfiguration → its rules, validated as S3 validates them (see the module docstring)."""
    root = _parse(body, "LifecycleConfiguration")
    _only(root, {"Rule"})
    elements = _children(root, "Rule")
    if not elements or len(elements) > MAX_RULES:
        raise S3Error("MalformedXML")
    rules = [_rule(element) for element in elements]
    ids = [rule["id"] for rule in rules]
    if len(set(ids)) != len(ids):
        raise S3Error("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule")
    return rules


# -- the document ------------------------------------------------------------------------------------------

def _render_filter(parent: Any, found: dict) -> None:
    element = _el(parent, "Filter")
    target = _el(element, "And") if found["and"] else element
    if found["prefix"] is not None:
        _el(target, "Prefix", found["prefix"])
    for key, value in found["tags"]:
        tag = _el(target, "Tag")
        _el(tag, "Key", key)
        _el(tag, "Value", value)
    if found["gt"] is not None:
        _el(target, "ObjectSizeGreaterThan", found["gt"])
    if found["lt"] is not None:
        _el(target, "ObjectSizeLessThan", found["lt"])


def lifecycle_configuration(rules: Sequence[dict]) -> bytes:
    """The GetBucketLifecycleConfiguration document: each rule as it was put (Filter or legacy Prefix)."""
    root = _root("LifecycleConfiguration")
    for rule in rules:
        entry = _el(root, "Rule")
        _el(entry, "ID", rule["id"])
        if rule.get("filter") is None:
            _el(entry, "Prefix", rule.get("prefix") or "")
        else:
            _render_filter(entry, rule["filter"])
        _el(entry, "Status", rule["status"])
        expiration = rule.get("expiration")
        if expiration:
            element = _el(entry, "Expiration")
            if "days" in expiration:
                _el(element, "Days", expiration["days"])
            elif "date" in expiration:
                _el(element, "Date", expiration["date"])
            else:
                _el(element, "ExpiredObjectDeleteMarker", "true" if expiration["delete_marker"] else "false")
        noncurrent = rule.get("noncurrent")
        if noncurrent:
            element = _el(entry, "NoncurrentVersionExpiration")
            _el(element, "NoncurrentDays", noncurrent["days"])
            if noncurrent.get("newer") is not None:
                _el(element, "NewerNoncurrentVersions", noncurrent["newer"])
        if rule.get("abort_days") is not None:
            _el(_el(entry, "AbortIncompleteMultipartUpload"), "DaysAfterInitiation", rule["abort_days"])
    return document(root)
