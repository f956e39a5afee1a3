"""The snapshots the gateway keeps itself: those of volumes CloudStack has no storage for yet (core/zero_snapshots.py
says why). SQL runs on the store's thread pool; methods return awaitables the core awaits.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from ec2soap.store.tables import ec2_zero_snapshot

__all__ = ["SnapshotRecords", "ZeroSnapshotRecord"]


@dataclass
class ZeroSnapshotRecord:
    cs_id: str
    account: str
    volume_cs_id: str
    size: int
    created: float
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def _record(row: Any) -> ZeroSnapshotRecord:
    return ZeroSnapshotRecord(cs_id=row.cs_id, account=row.account, volume_cs_id=row.volume_cs_id, size=row.size,
                              created=row.created, description=row.description,
                              tags=json.loads(row.tags) if row.tags else {})


def _add_sync(conn: Connection, record: ZeroSnapshotRecord) -> None:
    conn.execute(insert(ec2_zero_snapshot).values(
        cs_id=record.cs_id, account=record.account, volume_cs_id=record.volume_cs_id, size=record.size,
        description=record.description, tags=json.dumps(record.tags) if record.tags else None,
        created=record.created))


def _list_sync(conn: Connection, account: str, cs_ids: list[str] | None) -> list[ZeroSnapshotRecord]:
    query = select(ec2_zero_snapshot).where(ec2_zero_snapshot.c.account == account)
    if cs_ids is not None:
        query = query.where(ec2_zero_snapshot.c.cs_id.in_(cs_ids))
    return [_record(r) for r in conn.execute(query.order_by(ec2_zero_snapshot.c.created))]


def _delete_sync(conn: Connection, account: str, cs_id: str) -> bool:
    return bool(conn.execute(delete(ec2_zero_snapshot).where(ec2_zero_snapshot.c.account == account,
                                                             ec2_zero_snapshot.c.cs_id == cs_id)).rowcount)


def _change_tags_sync(conn: Connection, account: str, cs_id: str, add: dict[str, str],
                      remove: list[tuple[str, str | None]]) -> dict[str, str] | None:
    row = conn.execute(select(ec2_zero_snapshot.c.tags).where(
        ec2_zero_snapshot.c.account == account, ec2_zero_snapshot.c.cs_id == cs_id)).first()
    if row is None:
        return None
    tags = json.loads(row.tags) if row.tags else {}
    tags.update(add)
    for key, value in remove:
        if key in tags and (value is None or tags[key] == value):
            del tags[key]
    conn.execute(update(ec2_zero_snapshot).where(ec2_zero_snapshot.c.cs_id == cs_id).values(
        tags=json.dumps(tags) if tags else None))
    return tags


class SnapshotRecords:
    """ec2_zero_snapshot rows, always scoped to one account (CloudStack account uuid)."""

    def __init__(self, store: Any):
        self.store = store

    async def add(self, **fields: Any) -> ZeroSnapshotRecord:
        record = ZeroSnapshotRecord(**fields)
        await self.store.run(_add_sync, record)
        return record

    async def list(self, account: str, cs_ids: list[str] | None = None) -> list[ZeroSnapshotRecord]:
        if cs_ids is not None and not cs_ids:
            return []
        return await self.store.run(_list_sync, account, cs_ids, readonly=True)

    async def get(self, account: str, cs_id: str) -> ZeroSnapshotRecord | None:
        found = await self.list(account, [cs_id])
        return found[0] if found else None

    async def delete(self, account: str, cs_id: str) -> bool:
        return await self.store.run(_delete_sync, account, cs_id)

    async def change_tags(self, account: str, cs_id: str, add: dict[str, str] | None = None,
                          remove: list[tuple[str, str | None]] | None = None) -> dict[str, str] | None:
        """Add (or overwrite) and remove tags in one transaction → the tags after, None if no such snapshot."""
        return await self.store.run(_change_tags_sync, account, cs_id, dict(add or {}), list(remove or []))
