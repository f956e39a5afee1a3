"""Tags the gateway keeps for a caller on resources CloudStack does not let them tag (another account's public or
shared image: EC2 lets anyone tag an AMI they may launch, and those tags are the tagger's alone). SQL runs on the
store's thread pool; methods return awaitables the core awaits.
"""
from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ec2soap.store.prepared import savepoint
from ec2soap.store.tables import ec2_tag

__all__ = ["TagRecords"]


def _list_sync(conn: Connection, account: str, resource_type: str | None,
               cs_ids: list[str] | None) -> list[tuple[str, str, str, str]]:
    where = [ec2_tag.c.account == account]
    if resource_type is not None:
        where.append(ec2_tag.c.resource_type == resource_type)
    if cs_ids is not None:
        where.append(ec2_tag.c.cs_id.in_(cs_ids))
    rows = conn.execute(select(ec2_tag.c.resource_type, ec2_tag.c.cs_id, ec2_tag.c.key, ec2_tag.c.value)
                        .where(and_(*where)).order_by(ec2_tag.c.cs_id, ec2_tag.c.key))
    return [(r.resource_type, r.cs_id, r.key, r.value) for r in rows]


def _put_sync(conn: Connection, account: str, resource_type: str, cs_id: str, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        mine = and_(ec2_tag.c.account == account, ec2_tag.c.resource_type == resource_type,
                    ec2_tag.c.cs_id == cs_id, ec2_tag.c.key == key)
        if conn.execute(update(ec2_tag).where(mine).values(value=value)).rowcount:
            continue
        try:
            with savepoint(conn):
                conn.execute(insert(ec2_tag).values(account=account, resource_type=resource_type, cs_id=cs_id,
                                                    key=key, value=value))
        except IntegrityError:
            # Another request inserted the key meanwhile: ours is the later value.
            conn.execute(update(ec2_tag).where(mine).values(value=value))


def _remove_sync(conn: Connection, account: str, resource_type: str, cs_id: str,
                 pairs: list[tuple[str, str | None]]) -> None:
    base = [ec2_tag.c.account == account, ec2_tag.c.resource_type == resource_type, ec2_tag.c.cs_id == cs_id]
    if not pairs:
        conn.execute(delete(ec2_tag).where(and_(*base)))
        return
    for key, value in pairs:
        where = base + [ec2_tag.c.key == key] + ([ec2_tag.c.value == value] if value is not None else [])
        conn.execute(delete(ec2_tag).where(and_(*where)))


class TagRecords:
    """ec2_tag rows, always scoped to one account (CloudStack account uuid)."""

    def __init__(self, store: Any):
        self.store = store

    async def list(self, account: str, resource_type: str | None = None,
                   cs_ids: Sequence[str] | None = None) -> list[tuple[str, str, str, str]]:
        """[(resource type, cs id, key, value)] of ACCOUNT's kept tags."""
        if cs_ids is not None and not cs_ids:
            return []
        return await self.store.run(_list_sync, account, resource_type,
                                    list(cs_ids) if cs_ids is not None else None, readonly=True)

    async def put(self, account: str, resource_type: str, cs_id: str, tags: dict[str, str]) -> None:
        await self.store.run(_put_sync, account, resource_type, cs_id, dict(tags))

    async def remove(self, account: str, resource_type: str, cs_id: str,
                     pairs: Sequence[tuple[str, str | None]] = ()) -> None:
        """Remove PAIRS (a None value: whatever the value), or every tag of the resource when PAIRS is empty."""
        await self.store.run(_remove_sync, account, resource_type, cs_id, list(pairs))
