"""S3 Object Lock rules: what a bucket's configuration, a version's retention and legal hold mean, and which
writes and deletes they refuse. The operations are s3.locking's; the hooks in the shared write and delete
paths (s3.objects, s3.multipart, s3.buckets, s3.configuration) call the functions here.

Stored forms (JSON columns named object_lock, migration 0009): a bucket's configuration is None (Object Lock
not enabled), {} (enabled, no default) or {"rule": {"mode": M, "days": N} | {"mode": M, "years": N}}; a
version's is None or {"mode": M, "until": epoch seconds, "legal_hold": "ON" | "OFF"} with each part optional.

`is_locked(row, now)` is the one test of whether a version may be removed: the lifecycle sweeper
(s3.lifecycle_sweep) must skip versions for which it is true, as S3 never expires a locked version.

No Twisted, HTTP parsing or XML here. The SQL helpers take a Connection already inside a transaction.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Optional

from sqlalchemy import update

from ec2soap.s3.errors import S3Error
from ec2soap.s3.rules import iso_date
from ec2soap.store.tables import s3_object, s3_upload

__all__ = ["MODES", "is_locked", "enabled_at_creation", "requested_lock", "lock_for_new_version",
           "record_version_lock", "record_upload_lock", "response_headers", "check_version_delete",
           "check_retention_change", "parse_date", "format_date", "default_until", "require_enabled",
           "validate_rule"]

MODES = ("GOVERNANCE", "COMPLIANCE")
MAX_DAYS, MAX_YEARS = 36500, 100  # S3's bounds on a default retention period
_DAY = 86400.0
_MODE, _UNTIL, _HOLD = "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold"


def _lock_of(row: Any) -> Optional[dict]:
    lock = getattr(row, "object_lock", None)
    if isinstance(lock, str):  # a raw s3_object row: the column's JSON text
        lock = json.loads(lock)
    return lock or None


def is_locked(row: Any, now: float) -> bool:
    """Whether the version ROW (an s3.metadata.ObjectVersion or an s3_object row) is protected at NOW: a
    legal hold is ON, or a retention (either mode) has not yet run out."""
    lock = _lock_of(row)
    if lock is None:
        return False
    if lock.get("legal_hold") == "ON":
        return True
    until = lock.get("until")
    return until is not None and float(until) > now


# -- dates ------------------------------------------------------------------------------------------------

def parse_date(value: str, now: float, argument: str = _UNTIL) -> float:
    """An ISO 8601 retain-until date → epoch seconds; it must lie in the future (S3's InvalidArgument)."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise S3Error("InvalidArgument", "The retain until date must be provided in ISO 8601 format",
                      argument_name=argument, argument_value=value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    until = moment.timestamp()
    if until <= now:
        raise S3Error("InvalidArgument", "The retain until date must be in the future!",
                      argument_name=argument, argument_value=value)
    return until


def format_date(until: float) -> str:
    return iso_date(until)


def default_until(rule: Mapping[str, Any], now: float) -> float:
    """The retain-until date a default rule gives a version written at NOW (years are calendar years)."""
    if "days" in rule:
        return now + int(rule["days"]) * _DAY
    moment = datetime.fromtimestamp(now, timezone.utc)
    years = int(rule["years"])
    try:
        later = moment.replace(year=moment.year + years)
    except ValueError:  # 29 February into a year without one
        later = moment.replace(year=moment.year + years, day=28)
    return later.timestamp()


# -- bucket configuration ---------------------------------------------------------------------------------

def enabled_at_creation(headers: Mapping[str, str]) -> Optional[dict]:
    """CreateBucket's x-amz-bucket-object-lock-enabled: true → the configuration to store ({}), else None."""
    value = headers.get("x-amz-bucket-object-lock-enabled")
    if value is None or value.strip().lower() == "false":
        return None
    if value.strip().lower() != "true":
        raise S3Error("InvalidArgument", "Invalid x-amz-bucket-object-lock-enabled header value",
                      argument_name="x-amz-bucket-object-lock-enabled", argument_value=value)
    return {}


def validate_rule(rule: Optional[Mapping[str, Any]]) -> Optional[dict]:
    """A parsed DefaultRetention ({"mode", "days"|"years"}) held to S3's rules; None: no default rule."""
    if rule is None:
        return None
    if rule.get("mode") not in MODES or ("days" in rule) == ("years" in rule):
        raise S3Error("MalformedXML")
    name, bound = ("days", MAX_DAYS) if "days" in rule else ("years", MAX_YEARS)
    try:
        period = int(rule[name])
    except (TypeError, ValueError):
        raise S3Error("MalformedXML") from None
    if period <= 0:
        raise S3Error("InvalidRetentionPeriod")
    if period > bound:
        raise S3Error("InvalidRetentionPeriod", "Default retention period is too large.")
    return {"mode": rule["mode"], name: period}


def require_enabled(bucket: Any) -> None:
    """The retention and legal-hold calls on a bucket without Object Lock: S3's InvalidRequest."""
    if bucket.object_lock is None:
        raise S3Error("InvalidRequest", "Bucket is missing Object Lock Configuration")


# -- writes -----------------------------------------------------------------------------------------------

def requested_lock(headers: Mapping[str, str], now: float, body: bool = False) -> Optional[dict]:
    """The x-amz-object-lock-* headers of a PutObject, CopyObject or CreateMultipartUpload → the lock they ask
    for (None: none). Mode and date come together; BODY: this request carries the object's bytes, which S3
    then wants covered by Content-MD5 or a checksum."""
    mode, until, hold = headers.get(_MODE), headers.get(_UNTIL), headers.get(_HOLD)
    if mode is None and until is None and hold is None:
        return None
    lock: dict = {}
    if (mode is None) != (until is None):
        raise S3Error("InvalidArgument", "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must "
                      "both be supplied", argument_name=_UNTIL if until is None else _MODE,
                      argument_value=mode if until is None else until)
    if mode is not None:
        if mode.strip() not in MODES:
            raise S3Error("InvalidArgument", "Unknown wormMode directive.", argument_name=_MODE,
                          argument_value=mode)
        lock["mode"] = mode.strip()
        lock["until"] = parse_date(until or "", now)
    if hold is not None:
        if hold.strip() not in ("ON", "OFF"):
            raise S3Error("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'", argument_name=_HOLD,
                          argument_value=hold)
        lock["legal_hold"] = hold.strip()
    if body and "content-md5" not in headers and not any(
            name.startswith("x-amz-checksum-") or name in ("x-amz-sdk-checksum-algorithm", "x-amz-trailer")
            for name in headers):
        raise S3Error("InvalidRequest", "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object "
                      "requests with Object Lock parameters")
    return lock


def lock_for_new_version(bucket: Any, requested: Optional[Mapping[str, Any]], now: float,
                         require: Callable[[str], None] | None = None) -> Optional[dict]:
    """The lock a new version of a key in BUCKET carries: what the request asked for, else the bucket's
    default retention. Asking for a lock on a bucket without Object Lock is S3's InvalidRequest; asking for
    a retention or a legal hold needs s3:PutObjectRetention / s3:PutObjectLegalHold (REQUIRE(action) refuses)."""
    config = bucket.object_lock
    if config is None:
        if requested:
            raise S3Error("InvalidRequest", "Bucket is missing ObjectLockConfiguration")
        return None
    if requested and require is not None:
        if "mode" in requested:
            require("s3:PutObjectRetention")
        if "legal_hold" in requested:
            require("s3:PutObjectLegalHold")
    lock = dict(requested or {})
    rule = config.get("rule")
    if "mode" not in lock and rule:
        lock["mode"], lock["until"] = rule["mode"], default_until(rule, now)
    return lock or None


def record_version_lock(conn: Any, version: Any, lock: Optional[dict]) -> None:
    """Store LOCK on the version just written (same transaction) and on the object returned."""
    if not lock:
        return
    conn.execute(update(s3_object).where(s3_object.c.id == version.id)
                 .values(object_lock=json.dumps(lock, sort_keys=True)))
    version.object_lock = dict(lock)


def record_upload_lock(conn: Any, upload: Any, lock: Optional[dict]) -> None:
    if not lock:
        return
    conn.execute(update(s3_upload).where(s3_upload.c.id == upload.id)
                 .values(object_lock=json.dumps(lock, sort_keys=True)))
    upload.object_lock = dict(lock)


def set_version_lock(conn: Any, version: Any, lock: Optional[dict]) -> None:
    """Replace a version's lock (PutObjectRetention, PutObjectLegalHold); an empty lock stores NULL."""
    conn.execute(update(s3_object).where(s3_object.c.id == version.id)
                 .values(object_lock=json.dumps(lock, sort_keys=True) if lock else None))
    version.object_lock = dict(lock) if lock else None


def response_headers(version: Any, may: Callable[[str], bool]) -> dict:
    """The x-amz-object-lock-* headers GET and HEAD answer with. As S3 does, the mode and retain-until date
    only to a caller who could GetObjectRetention, the legal hold only to one who could GetObjectLegalHold:
    MAY(action) says (asked only for what the version carries; the bucket owner's implicitly, anyone else's
    from the bucket policy, s3.context.decide)."""
    lock = _lock_of(version) or {}
    out = {}
    if lock.get("mode") and may("s3:GetObjectRetention"):
        out[_MODE] = lock["mode"]
        out[_UNTIL] = format_date(float(lock["until"]))
    if lock.get("legal_hold") and may("s3:GetObjectLegalHold"):
        out[_HOLD] = lock["legal_hold"]
    return out


# -- what a lock refuses ----------------------------------------------------------------------------------

def check_version_delete(version: Any, may_bypass: Callable[[], bool], now: float) -> None:
    """Deleting VERSION for good (DeleteObject with a versionId): refused while a legal hold is ON or a
    retention runs, except a GOVERNANCE one when the caller asked to bypass it and may (MAY_BYPASS)."""
    lock = _lock_of(version)
    if lock is None or not is_locked(version, now):
        return
    if lock.get("legal_hold") == "ON":
        raise S3Error("AccessDenied", "Access Denied because object protected by object lock.")
    if lock.get("mode") == "GOVERNANCE" and may_bypass():
        return
    raise S3Error("AccessDenied", "Access Denied because object protected by object lock.")


def check_retention_change(current: Optional[Mapping[str, Any]], mode: Optional[str], until: Optional[float],
                           may_bypass: Callable[[], bool], now: float) -> None:
    """PutObjectRetention replacing CURRENT's retention with MODE/UNTIL (None, None: removing it).
    COMPLIANCE can only be extended; GOVERNANCE can be extended freely, and shortened, removed or changed to
    COMPLIANCE only when the caller bypasses it and may."""
    if not current or not current.get("mode") or float(current.get("until") or 0) <= now:
        return
    old_mode, old_until = current["mode"], float(current["until"])
    if old_mode == "COMPLIANCE":
        if mode != "COMPLIANCE" or until is None or until < old_until:
            raise S3Error("AccessDenied", "Access Denied because object protected by object lock.")
        return
    if mode != "GOVERNANCE" or until is None or until < old_until:
        if not may_bypass():
            raise S3Error("AccessDenied", "Access Denied because object protected by object lock.")
