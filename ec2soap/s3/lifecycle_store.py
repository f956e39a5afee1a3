"""SQL of S3 lifecycle: a bucket's rules and sweep cursor (s3_lifecycle), and the reads a sweep makes of the
object versions and uploads it judges. Every function takes a Connection inside a transaction; no Twisted."""
from __future__ import annotations

import json
from typing import Optional

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from ec2soap.s3.metadata import ObjectVersion, Upload
from ec2soap.store.tables import s3_bucket, s3_lifecycle, s3_object, s3_upload

__all__ = ["get_rules", "set_rules", "delete_rules", "swept_buckets", "move_cursor", "keys_after",
           "versions_between", "versions_of", "old_uploads"]


# Read by every GET of a current version (s3.lifecycle.expiration_header): built once, parameters bound.
_RULES = select(s3_lifecycle.c.rules).where(s3_lifecycle.c.bucket_id == bindparam("bucket_id"))


def get_rules(conn: Connection, bucket_id: int) -> Optional[list]:
    row = conn.execute(_RULES, {"bucket_id": bucket_id}).first()
    return json.loads(row.rules) if row else None


def set_rules(conn: Connection, bucket_id: int, rules: list) -> None:
    """Store RULES (replacing a configuration: its pass starts over, as the rules it judged by are gone)."""
    text = json.dumps(rules, separators=(",", ":"), sort_keys=True)
    done = conn.execute(update(s3_lifecycle).where(s3_lifecycle.c.bucket_id == bucket_id)
                        .values(rules=text, cursor=None))
    if not done.rowcount:
        conn.execute(insert(s3_lifecycle).values(bucket_id=bucket_id, rules=text))


def delete_rules(conn: Connection, bucket_id: int) -> None:
    conn.execute(delete(s3_lifecycle).where(s3_lifecycle.c.bucket_id == bucket_id))


def swept_buckets(conn: Connection) -> list[tuple[int, str, Optional[bytes]]]:
    """(bucket id, name, cursor) of every bucket with rules, the longest unswept first."""
    rows = conn.execute(select(s3_lifecycle.c.bucket_id, s3_bucket.c.name, s3_lifecycle.c.cursor)
                        .join(s3_bucket, s3_bucket.c.id == s3_lifecycle.c.bucket_id)
                        .order_by(s3_lifecycle.c.swept.is_not(None), s3_lifecycle.c.swept, s3_lifecycle.c.bucket_id))
    return [(row.bucket_id, row.name, None if row.cursor is None else bytes(row.cursor)) for row in rows]


def move_cursor(conn: Connection, bucket_id: int, expected: Optional[bytes], new: Optional[bytes],
                now: float) -> bool:
    """Advance the cursor from EXPECTED to NEW (None: the pass is over), stamping the sweep's time NOW (so
    buckets take turns), unless another sweeper moved it meanwhile; → whether it was moved."""
    condition = s3_lifecycle.c.cursor.is_(None) if expected is None else s3_lifecycle.c.cursor == expected
    done = conn.execute(update(s3_lifecycle).where(s3_lifecycle.c.bucket_id == bucket_id, condition)
                        .values(cursor=new, swept=now))
    return bool(done.rowcount)


def keys_after(conn: Connection, bucket_id: int, after: Optional[bytes], limit: int) -> list[bytes]:
    """Up to LIMIT distinct keys of the bucket after AFTER, in byte order."""
    stmt = select(s3_object.c.key).where(s3_object.c.bucket_id == bucket_id).distinct()
    if after is not None:
        stmt = stmt.where(s3_object.c.key > after)
    return [bytes(row.key) for row in conn.execute(stmt.order_by(s3_object.c.key).limit(limit))]


def versions_between(conn: Connection, bucket_id: int, first: bytes, last: bytes,
                     limit: Optional[int] = None) -> list[ObjectVersion]:
    """The versions of the keys FIRST..LAST (inclusive), by key, newest first: every one, or the first LIMIT."""
    stmt = select(s3_object).where(s3_object.c.bucket_id == bucket_id, s3_object.c.key >= first,
                                   s3_object.c.key <= last).order_by(s3_object.c.key, s3_object.c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return [ObjectVersion.from_row(row) for row in conn.execute(stmt)]


def versions_of(conn: Connection, bucket_id: int, key: bytes) -> list[ObjectVersion]:
    """Every version of KEY, newest first, locked (SELECT ... FOR UPDATE)."""
    stmt = select(s3_object).where(s3_object.c.bucket_id == bucket_id, s3_object.c.key == key) \
        .order_by(s3_object.c.id.desc()).with_for_update()
    return [ObjectVersion.from_row(row) for row in conn.execute(stmt)]


def old_uploads(conn: Connection, bucket_id: int, low: Optional[bytes], high: Optional[bytes],
                initiated_before: float, limit: int) -> list[Upload]:
    """Uploads with LOW <= key < HIGH (None: unbounded) initiated before INITIATED_BEFORE, oldest first."""
    stmt = select(s3_upload).where(s3_upload.c.bucket_id == bucket_id, s3_upload.c.initiated < initiated_before)
    if low:
        stmt = stmt.where(s3_upload.c.key >= low)
    if high is not None:
        stmt = stmt.where(s3_upload.c.key < high)
    return [Upload.from_row(row) for row in conn.execute(stmt.order_by(s3_upload.c.id).limit(limit))]


