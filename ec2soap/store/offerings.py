"""The operator's instance-type map: EC2 type → CloudStack compute offering (name or uuid), in the store.

Used before the name match (m1.small ↔ the offering named m1.small). Cached briefly so a change made through
another gateway process is seen within seconds.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from ec2soap.store.tables import offering_map

__all__ = ["OfferingMap"]


def _all_sync(conn: Connection) -> dict[str, str]:
    return {r.ec2_type: r.cs_offering for r in conn.execute(select(offering_map).order_by(offering_map.c.ec2_type))}


def _set_sync(conn: Connection, ec2_type: str, cs_offering: str) -> None:
    if conn.execute(update(offering_map).where(offering_map.c.ec2_type == ec2_type)
                    .values(cs_offering=cs_offering)).rowcount == 0:
        conn.execute(insert(offering_map).values(ec2_type=ec2_type, cs_offering=cs_offering))


def _delete_sync(conn: Connection, ec2_type: str) -> int:
    return conn.execute(delete(offering_map).where(offering_map.c.ec2_type == ec2_type)).rowcount


class OfferingMap:
    def __init__(self, store: Any, *, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.ttl = ttl
        self.clock = clock
        self._cached: tuple[float, dict[str, str]] | None = None

    async def mapping(self) -> dict[str, str]:
        if self._cached and self._cached[0] > self.clock():
            return self._cached[1]
        table = await self.store.run(_all_sync)
        self._cached = (self.clock() + self.ttl, table)
        return table

    async def offering_for(self, instance_type: str) -> str | None:
        """The mapped offering (name or uuid) for an EC2 type, or None to match by name."""
        return (await self.mapping()).get(instance_type)

    async def type_for(self, offering_id: str, offering_name: str) -> str:
        """The EC2 type to report for a VM's offering: a mapped type if one names it, else its name."""
        for ec2_type, target in (await self.mapping()).items():
            if target in (offering_id, offering_name):
                return ec2_type
        return offering_name

    async def set(self, ec2_type: str, cs_offering: str) -> None:
        await self.store.run(_set_sync, ec2_type, cs_offering)
        self._cached = None

    async def remove(self, ec2_type: str) -> bool:
        removed = await self.store.run(_delete_sync, ec2_type)
        self._cached = None
        return bool(removed)
