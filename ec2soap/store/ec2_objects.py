"""EC2 objects the gateway keeps itself (store/tables.py ec2_object says which and why), always scoped to one
account. SQL runs on the store's thread pool; methods return awaitables the core awaits.

An update names the version it read: `update` answers False when another request changed the object meanwhile,
and the caller reads it again and decides again (compare-and-set, the same on SQLite, PostgreSQL and MariaDB).
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Sequence

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import Connection

from ec2soap.store.tables import ec2_object

__all__ = ["ObjectRecords", "ObjectRecord"]


@dataclass
class ObjectRecord:
    cs_id: str
    kind: str
    account: str
    vpc: str | None
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    created: float = 0.0


def _record(row: Any) -> ObjectRecord:
    return ObjectRecord(cs_id=row.cs_id, kind=row.kind, account=row.account, vpc=row.vpc,
                        data=json.loads(row.data), version=row.version, created=row.created)


def _mine(kind: str, account: str) -> list[Any]:
    return [ec2_object.c.kind == kind, ec2_object.c.account == account]


def _create_sync(conn: Connection, record: ObjectRecord) -> None:
    conn.execute(insert(ec2_object).values(cs_id=record.cs_id, kind=record.kind, account=record.account,
                                           vpc=record.vpc, data=json.dumps(record.data), version=record.version,
                                           created=record.created))


def _list_sync(conn: Connection, kind: str, account: str, vpc: str | None,
               cs_ids: list[str] | None) -> list[ObjectRecord]:
    where = _mine(kind, account)
    if vpc is not None:
        where.append(ec2_object.c.vpc == vpc)
    if cs_ids is not None:
        where.append(ec2_object.c.cs_id.in_(cs_ids))
    rows = conn.execute(select(ec2_object).where(and_(*where)).order_by(ec2_object.c.created, ec2_object.c.cs_id))
    return [_record(row) for row in rows]


def _update_sync(conn: Connection, kind: str, account: str, cs_id: str, version: int, vpc: Any,
                 data: dict[str, Any]) -> bool:
    values: dict[str, Any] = {"data": json.dumps(data), "version": version + 1}
    if vpc is not _KEEP:
        values["vpc"] = vpc
    where = and_(*_mine(kind, account), ec2_object.c.cs_id == cs_id, ec2_object.c.version == version)
    return bool(conn.execute(update(ec2_object).where(where).values(**values)).rowcount)


def _delete_sync(conn: Connection, kind: str, account: str, cs_id: str, version: int | None) -> bool:
    where = [*_mine(kind, account), ec2_object.c.cs_id == cs_id]
    if version is not None:
        where.append(ec2_object.c.version == version)
    return bool(conn.execute(delete(ec2_object).where(and_(*where))).rowcount)


_KEEP: Any = object()


class ObjectRecords:
    """ec2_object rows. KIND is the caller's own short name ("igw", "rtb", "sg", ...)."""

    KEEP = _KEEP  # update(vpc=KEEP): leave the object's VPC as it is

    def __init__(self, store: Any, clock: Any = time.time):
        self.store, self.clock = store, clock

    async def create(self, kind: str, account: str, data: dict[str, Any], vpc: str | None = None,
                     cs_id: str | None = None) -> ObjectRecord:
        """A new object (its cs_id minted unless given: the IdMap then gives it an EC2 id)."""
        record = ObjectRecord(cs_id=cs_id or str(uuid.uuid4()), kind=kind, account=account, vpc=vpc,
                              data=dict(data), version=1, created=self.clock())
        await self.store.run(_create_sync, record)
        return record

    async def list(self, kind: str, account: str, vpc: str | None = None,
                   cs_ids: Sequence[str] | None = None) -> list[ObjectRecord]:
        """ACCOUNT's objects of KIND, oldest first; only VPC's, or only CS_IDS', when given."""
        if cs_ids is not None and not cs_ids:
            return []
        return await self.store.run(_list_sync, kind, account, vpc,
                                    list(cs_ids) if cs_ids is not None else None, readonly=True)

    async def get(self, kind: str, account: str, cs_id: str) -> ObjectRecord | None:
        found = await self.list(kind, account, cs_ids=[cs_id])
        return found[0] if found else None

    async def update(self, record: ObjectRecord, data: dict[str, Any], vpc: Any = _KEEP) -> bool:
        """Replace RECORD's data (and its VPC unless KEEP) if nobody changed it since RECORD was read; on
        success RECORD holds what was written."""
        done = await self.store.run(_update_sync, record.kind, record.account, record.cs_id, record.version, vpc,
                                    dict(data))
        if done:
            record.data, record.version = dict(data), record.version + 1
            if vpc is not _KEEP:
                record.vpc = vpc
        return done

    async def delete(self, record: ObjectRecord, any_version: bool = False) -> bool:
        """Remove RECORD if unchanged since read (or whatever its version, with ANY_VERSION)."""
        return await self.store.run(_delete_sync, record.kind, record.account, record.cs_id,
                                    None if any_version else record.version)
