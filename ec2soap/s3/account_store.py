"""SQL of S3's account-level settings (s3_account): an account's S3 Control PublicAccessBlock, keyed by the
account's canonical id. Every function takes a Connection inside a transaction; no Twisted.

Access decisions do not call get_block: s3.metadata loads an account's block with each bucket it owns
(MetadataStore.get_bucket), so whoever loads a bucket gets it; get_block serves S3 Control's GetPublicAccessBlock."""
from __future__ import annotations

import json
from typing import Optional

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from ec2soap.store.tables import s3_account

__all__ = ["get_block", "set_block", "delete_block"]


def get_block(conn: Connection, owner: str) -> Optional[dict]:
    """The PublicAccessBlock flags of account OWNER, None when it has none."""
    row = conn.execute(select(s3_account.c.public_access_block).where(s3_account.c.owner == owner)).first()
    return json.loads(row.public_access_block) if row and row.public_access_block else None


def set_block(conn: Connection, owner: str, flags: dict) -> None:
    """Store FLAGS as OWNER's block (two first writers racing: one insert fails, and its transaction is run
    again as an update by s3.context's retry)."""
    text = json.dumps(flags, separators=(",", ":"), sort_keys=True)
    done = conn.execute(update(s3_account).where(s3_account.c.owner == owner).values(public_access_block=text))
    if not done.rowcount:
        conn.execute(insert(s3_account).values(owner=owner, public_access_block=text))


def delete_block(conn: Connection, owner: str) -> None:
    conn.execute(delete(s3_account).where(s3_account.c.owner == owner))
