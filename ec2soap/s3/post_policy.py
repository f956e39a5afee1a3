"""The policy document of an S3 browser-based (POST) upload: its parse and S3's check of a form against it.

A policy is base64 JSON `{"expiration": ISO 8601, "conditions": [...]}`; each condition is `{"field": "value"}`
(exact), `["eq", "$field", "value"]`, `["starts-with", "$field", "prefix"]` or `["content-length-range", min,
max]`. S3 refuses a form whose fields a condition does not cover, as it refuses one a condition fails, and says
which in the message ("Invalid according to Policy: ..."), which is what this module raises (AccessDenied); a
policy S3 cannot read is InvalidPolicyDocument. Field names are compared case-insensitively (lower case here),
condition operators too; values exactly.

Pure: no Twisted, SQL or XML here.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from ec2soap.limits import LimitExceeded, load_json
from ec2soap.s3.errors import S3Error

__all__ = ["PostPolicy", "parse_policy", "check_form", "check_fields", "check_size", "with_filename", "EXEMPT_FIELDS"]

MAX_POLICY_BYTES = 20 * 1024  # S3's cap on the form fields before the file, of which the policy is one
# Fields no condition needs to name (S3's "Creating a POST policy": the signature fields, the file, the policy).
EXEMPT_FIELDS = frozenset({"policy", "signature", "awsaccesskeyid", "x-amz-signature", "file"})
_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")


@dataclass(frozen=True)
class Condition:
    """OP ("eq", "starts-with", "content-length-range") on FIELD (lower case, no `$`) with VALUE, or for a
    range, LOW..HIGH bytes. SOURCE is the condition as written, for the messages."""
    op: str
    field: str = ""
    value: str = ""
    low: int = 0
    high: int = 0
    source: str = ""


@dataclass(frozen=True)
class PostPolicy:
    expiration: datetime
    conditions: tuple[Condition, ...]

    @property
    def length_range(self) -> Optional[tuple[int, int]]:
        for condition in self.conditions:
            if condition.op == "content-length-range":
                return condition.low, condition.high
        return None


def _invalid(detail: str) -> S3Error:
    return S3Error("InvalidPolicyDocument", "Invalid Policy: " + detail)


def parse_policy(encoded: str) -> PostPolicy:
    """The policy of a form's base64 `policy` field; InvalidPolicyDocument when S3 could not read it."""
    try:
        raw = base64.b64decode(encoded.encode("ascii"), validate=False)
        document = load_json(raw, max_bytes=MAX_POLICY_BYTES)
    except (binascii.Error, ValueError, UnicodeError, LimitExceeded):
        raise _invalid("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise _invalid("Invalid JSON.")
    for name in document:
        if name not in ("expiration", "conditions"):
            raise _invalid(f"Unexpected field: '{name}'.")
    if "expiration" not in document:
        raise _invalid("Policy missing expiration.")
    expiration = document["expiration"]
    if not isinstance(expiration, str) or not _DATE.fullmatch(expiration):
        raise _invalid(f"Invalid 'expiration' value: '{expiration}'.")
    try:
        when = datetime.strptime(expiration[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        raise _invalid(f"Invalid 'expiration' value: '{expiration}'.") from None
    if "conditions" not in document:
        raise _invalid("Policy missing conditions.")
    if not isinstance(document["conditions"], list):
        raise _invalid("Invalid 'conditions' value: must be a list.")
    return PostPolicy(when, tuple(_condition(item) for item in document["conditions"]))


def _condition(item: Any) -> Condition:
    source = json.dumps(item, separators=(", ", ": "))
    if isinstance(item, dict):
        if len(item) != 1:
            raise _invalid("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
        (name, value), = item.items()
        if not isinstance(value, str):
            raise _invalid(f"Invalid Simple-Condition: value of '{name}' must be a string.")
        return Condition("eq", name.lower().lstrip("$"), value, source=source)
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        raise _invalid(f"Invalid Condition: {source}.")
    op = item[0].lower()
    if op == "content-length-range":
        if len(item) != 3 or not all(isinstance(n, int) and not isinstance(n, bool) for n in item[1:]):
            raise _invalid("Invalid content-length-range: must be [\"content-length-range\", min, max].")
        low, high = item[1], item[2]
        if low < 0 or high < 0 or low > high:
            raise _invalid(f"Invalid content-length-range: {low}, {high}.")
        return Condition(op, low=low, high=high, source=source)
    if op not in ("eq", "starts-with"):
        raise _invalid(f"Invalid Condition operator: '{item[0]}'.")
    if len(item) != 3 or not isinstance(item[1], str) or not isinstance(item[2], str) \
            or not item[1].startswith("$"):
        raise _invalid(f"Invalid {op} condition: {source}.")
    return Condition(op, item[1][1:].lower(), item[2], source=source)


def _failed(condition: Condition) -> S3Error:
    return S3Error("AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition.source}")


def with_filename(fields: Mapping[str, str], filename: Optional[str]) -> dict:
    """FIELDS with `${filename}` in the `key` field replaced by FILENAME, the file part's name (empty when it
    has none), as S3 does before it checks the policy's conditions or names the object."""
    out = dict(fields)
    if "key" in out:
        out["key"] = out["key"].replace("${filename}", filename or "")
    return out


def check_form(policy: PostPolicy, fields: Mapping[str, str], bucket: str, size: int,
               now: Optional[datetime] = None) -> None:
    """FIELDS (names lower case; `key` after `${filename}` is replaced: with_filename) of a POST to BUCKET, with
    a file of SIZE bytes, against POLICY at NOW (when the file began); S3's refusal otherwise."""
    check_fields(policy, fields, bucket, now)
    check_size(policy, size)


def check_fields(policy: PostPolicy, fields: Mapping[str, str], bucket: str,
                 now: Optional[datetime] = None) -> None:
    """What S3 checks when the file part begins: the expiration at NOW and every condition but the length,
    against the FIELDS before the file (the only ones S3 reads)."""
    now = now or datetime.now(timezone.utc)
    if policy.expiration <= now:
        raise S3Error("AccessDenied", "Invalid according to Policy: Policy expired.")
    covered = set()
    values = dict(fields)
    values["bucket"] = bucket  # the bucket is the URL's, whether or not the form repeats it
    for condition in policy.conditions:
        if condition.op == "content-length-range":
            continue
        covered.add(condition.field)
        value = values.get(condition.field)
        if value is None:
            raise _failed(condition)
        if condition.op == "eq" and value != condition.value:
            raise _failed(condition)
        if condition.op == "starts-with" and not value.startswith(condition.value):
            raise _failed(condition)
    extra = [name for name in fields
             if name not in covered and name not in EXEMPT_FIELDS and not name.startswith("x-ignore-")]
    if extra:
        raise S3Error("AccessDenied", "Invalid according to Policy: Extra input fields: " + ", ".join(extra))


def check_size(policy: PostPolicy, size: int) -> None:
    """A file of SIZE bytes against the policy's content-length-range (EntityTooLarge, EntityTooSmall)."""
    limits = policy.length_range
    if limits is not None:
        low, high = limits
        if size > high:
            raise S3Error("EntityTooLarge", proposed_size=size, max_size_allowed=high)
        if size < low:
            raise S3Error("EntityTooSmall", proposed_size=size, min_size_allowed=low)
