"""What a bucket's lifecycle rules say about one key: which rule expires its current version and when (the
x-amz-expiration header), and what a sweep must do to its versions now. Pure: rules as s3.xml_lifecycle
parses them, versions as s3.metadata.ObjectVersion (newest first), times in epoch seconds.

S3's clock for lifecycle is whole days: an action due DAYS after a moment is due at the first midnight UTC
after moment + DAYS (S3 "rounds the resulting time to the next day midnight UTC"); a Date is midnight itself.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

__all__ = ["DAY", "due_after", "matches", "current_expiry", "decide", "tags_of", "upload_due",
           "EXPIRE_CURRENT", "REMOVE_VERSION"]

DAY = 86400
EXPIRE_CURRENT = "expire-current"   # a DELETE without version id: delete (unversioned) or a delete marker
REMOVE_VERSION = "remove-version"   # a DELETE of one version (a noncurrent version, an expired delete marker)


def due_after(moment: float, days: int) -> float:
    """The first midnight UTC after MOMENT + DAYS days."""
    return (int(moment // DAY) + days + 1) * DAY


def tags_of(version: Any) -> dict:
    """The object tags a filter is matched against. Object tagging (migration 0006) stores them on the
    version as `tags`; a version without any has none, and a tag filter then does not match it."""
    return dict(getattr(version, "tags", None) or {})


def _prefix(rule: dict) -> str:
    found = rule.get("filter")
    return (rule.get("prefix") or "") if found is None else (found.get("prefix") or "")


def matches(rule: dict, key: str, size: int, tags: dict) -> bool:
    """Whether RULE (enabled) covers an object KEY of SIZE bytes with TAGS: every predicate holds."""
    if rule.get("status") != "Enabled" or not key.startswith(_prefix(rule)):
        return False
    found = rule.get("filter") or {}
    for tag_key, tag_value in found.get("tags") or ():
        if tags.get(tag_key) != tag_value:
            return False
    if found.get("gt") is not None and not size > found["gt"]:
        return False
    if found.get("lt") is not None and not size < found["lt"]:
        return False
    return True


def current_expiry(rules: Sequence[dict], version: Any) -> Optional[tuple[float, str]]:
    """(when, rule id) of the earliest Expiration (Days or Date) covering VERSION as a current version."""
    best: Optional[tuple[float, str]] = None
    if version is None or version.delete_marker:
        return None
    for rule in rules:
        expiration = rule.get("expiration") or {}
        if "days" in expiration:
            at = due_after(version.last_modified, expiration["days"])
        elif "at" in expiration:
            at = expiration["at"]
        else:
            continue
        if matches(rule, version.key, version.size, tags_of(version)) and (best is None or at < best[0]):
            best = (at, rule["id"])
    return best


def decide(rules: Sequence[dict], versions: Sequence[Any], now: float) -> list[tuple[str, Any]]:
    """What the rules do now to one key whose versions (every one, newest first) are VERSIONS.

    - Expiration by Days/Date: the current version, if it is not a delete marker (EXPIRE_CURRENT).
    - ExpiredObjectDeleteMarker: a current delete marker that is the key's only version (REMOVE_VERSION); an
      Expiration by Days removes such a marker too, once it is Days old.
    - NoncurrentVersionExpiration: a noncurrent version (delete markers too) NoncurrentDays after its
      successor was written, beyond the NewerNoncurrentVersions newest noncurrent ones (REMOVE_VERSION).
    A view without a current version (a racing writer between two reads) decides nothing."""
    if not versions or not versions[0].is_latest:
        return []
    actions: list[tuple[str, Any]] = []
    current = versions[0]
    expiry = current_expiry(rules, current)
    if expiry is not None and now >= expiry[0]:
        actions.append((EXPIRE_CURRENT, current))
    if current.delete_marker and len(versions) == 1:
        for rule in rules:
            expiration = rule.get("expiration") or {}
            # ExpiredObjectDeleteMarker removes it at once; an Expiration by Days once it is that old (S3 does
            # the same clean-up for Days rules, "when the delete markers are old enough").
            due = expiration.get("delete_marker") or \
                ("days" in expiration and now >= due_after(current.last_modified, expiration["days"]))
            if due and matches(rule, current.key, 0, {}):
                actions.append((REMOVE_VERSION, current))
                break
    for rank, version in enumerate(versions[1:]):
        successor = versions[rank]
        for rule in rules:
            noncurrent = rule.get("noncurrent")
            if not noncurrent or not matches(rule, version.key, version.size, tags_of(version)):
                continue
            if noncurrent.get("newer") is not None and rank < noncurrent["newer"]:
                continue
            if now >= due_after(successor.last_modified, noncurrent["days"]):
                actions.append((REMOVE_VERSION, version))
                break
    return actions


def upload_due(rules: Sequence[dict], key: str, initiated: float, now: float) -> bool:
    """Whether an AbortIncompleteMultipartUpload rule covers an upload of KEY initiated at INITIATED."""
    return any(rule.get("abort_days") is not None and matches(rule, key, 0, {})
               and now >= due_after(initiated, rule["abort_days"]) for rule in rules)
