"""S3 conditional writes: If-Match and If-None-Match on PutObject, CopyObject and CompleteMultipartUpload.

The check runs inside the one metadata transaction that makes the new version current, on the very
current version that transaction locks and replaces (s3.metadata's put_version calls it), so no other
writer of the key can slip in between the check and the insert: two creators racing on an absent key
collide on the unique (bucket, key, latest) index, the loser's transaction is run again (OpsContext._txn)
and then sees the winner (412). A check made on a separate earlier read would not do: under READ COMMITTED
each statement sees what committed before it, so a row created after the check would simply be replaced.
One race the lock cannot show: on PostgreSQL a writer that waited for the lock finds the row it waited for
no longer current; if its successor is not visible to the locked read, an If-Match answers S3's 409
ConditionalRequestConflict.

No Twisted, HTTP parsing or XML here; the functions take a Connection already inside a transaction.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

from ec2soap.s3.errors import S3Error

__all__ = ["check_headers", "checker", "is_conditional"]


def _conditions(headers: Mapping[str, str]) -> tuple[Optional[str], Optional[str]]:
    if_match = headers.get("if-match")
    if_none_match = headers.get("if-none-match")
    return (if_match.strip() if if_match is not None else None,
            if_none_match.strip() if if_none_match is not None else None)


def is_conditional(headers: Mapping[str, str]) -> bool:
    return "if-match" in headers or "if-none-match" in headers


def check_headers(headers: Mapping[str, str]) -> None:
    """What can be refused before the body is read: S3 takes only '*' in If-None-Match on a write (an ETag
    there is NotImplemented, as S3 answers it) and a non-empty If-Match."""
    if_match, if_none_match = _conditions(headers)
    if if_none_match is not None and if_none_match != "*":
        raise S3Error("NotImplemented")
    if if_match is not None and not if_match:
        raise S3Error("InvalidArgument", "If-Match must not be empty", argument_name="If-Match",
                      argument_value="")


def _matches(condition: str, etag: str) -> bool:
    for item in condition.split(","):
        item = item.strip()
        if item.startswith("W/"):
            item = item[2:]
        if item == "*" or item.strip('"') == etag:
            return True
    return False


def checker(meta: Any, conn: Any, bucket: Any, key: str,
            headers: Mapping[str, str]) -> Optional[Callable[[Any], None]]:
    """The check s3.metadata's put_version runs on the current version of KEY it has locked (None without
    conditions): If-None-Match: * → 412 PreconditionFailed when a current version exists (a delete marker is
    none); If-Match: ETAG → 404 NoSuchKey without one, 412 when its ETag differs."""
    if not is_conditional(headers):
        return None
    check_headers(headers)
    if_match, if_none_match = _conditions(headers)

    def check(current: Any) -> None:
        if current is not None and current.delete_marker:
            current = None
        if if_none_match is not None and current is not None:
            raise S3Error("PreconditionFailed", condition="If-None-Match")
        if if_match is None:
            return
        if current is None:
            seen = meta.get_object(conn, bucket.id, key)
            if seen is not None and not seen.delete_marker:
                # Current to a plain read but not under the lock: another writer replaced it meanwhile.
                raise S3Error("ConditionalRequestConflict")
            raise S3Error("NoSuchKey", key=key)
        if not _matches(if_match, current.etag):
            raise S3Error("PreconditionFailed", condition="If-Match")
    return check
