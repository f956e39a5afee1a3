"""S3 Object Lock XML: ObjectLockConfiguration, Retention and LegalHold, read (through s3.xml's hardened
parser and its bounds) and written in the 2006-03-01 namespace. Anything S3 would not accept is MalformedXML."""
from __future__ import annotations

from typing import Any, Optional

from ec2soap.s3.errors import S3Error
from ec2soap.s3.object_lock import MODES, format_date
from ec2soap.s3.xml import _children, _el, _one, _parse, _root, document

__all__ = ["object_lock_configuration", "retention", "legal_hold", "parse_object_lock_configuration",
           "parse_retention", "parse_legal_hold"]


def object_lock_configuration(config: dict) -> bytes:
    root = _root("ObjectLockConfiguration")
    _el(root, "ObjectLockEnabled", "Enabled")
    rule = config.get("rule")
    if rule:
        default = _el(_el(root, "Rule"), "DefaultRetention")
        _el(default, "Mode", rule["mode"])
        if "days" in rule:
            _el(default, "Days", rule["days"])
        else:
            _el(default, "Years", rule["years"])
    return document(root)


def retention(mode: str, until: float) -> bytes:
    root = _root("Retention")
    _el(root, "Mode", mode)
    _el(root, "RetainUntilDate", format_date(until))
    return document(root)


def legal_hold(status: str) -> bytes:
    root = _root("LegalHold")
    _el(root, "Status", status)
    return document(root)


def parse_object_lock_configuration(body: bytes) -> Optional[dict]:
    """ObjectLockConfiguration → its DefaultRetention as {"mode", "days"|"years"} (strings checked by
    s3.object_lock.validate_rule), or None without a Rule. ObjectLockEnabled must say Enabled."""
    root = _parse(body, "ObjectLockConfiguration")
    if _one(root, "ObjectLockEnabled", required=False) != "Enabled":
        raise S3Error("MalformedXML")
    rules = _children(root, "Rule")
    if not rules:
        return None
    if len(rules) > 1:
        raise S3Error("MalformedXML")
    defaults = _children(rules[0], "DefaultRetention")
    if len(defaults) != 1:
        raise S3Error("MalformedXML")
    found: dict[str, Any] = {"mode": _one(defaults[0], "Mode", required=False)}
    for name in ("Days", "Years"):
        value = _one(defaults[0], name, required=False)
        if value is not None:
            if not value.lstrip("-").isdigit():
                raise S3Error("MalformedXML")
            found[name.lower()] = int(value)
    if found["mode"] not in MODES:
        raise S3Error("MalformedXML")
    return found


def parse_retention(body: bytes) -> tuple[Optional[str], Optional[str]]:
    """Retention → (Mode, RetainUntilDate text); (None, None) is an empty Retention (removing it)."""
    root = _parse(body, "Retention")
    mode = _one(root, "Mode", required=False)
    until = _one(root, "RetainUntilDate", required=False)
    if (mode is None) != (until is None) or (mode is not None and mode not in MODES):
        raise S3Error("MalformedXML")
    return mode, until


def parse_legal_hold(body: bytes) -> str:
    status = _one(_parse(body, "LegalHold"), "Status", required=False)
    if status not in ("ON", "OFF"):
        raise S3Error("MalformedXML")
    return status
