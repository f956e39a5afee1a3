"""EC2 ids ↔ CloudStack uuids: `i-0123456789abcdef0` is minted the first time a CloudStack resource is seen.

Ids never change once minted, so every process keeps a cache; the database's unique constraints make two
processes that mint at once agree on one id. SQL runs on the store's thread pool (methods return Deferreds).
"""
from __future__ import annotations

import re
import secrets
import time
from typing import Any, Iterable

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ec2soap.store.prepared import savepoint
from ec2soap.store.tables import ec2_id

__all__ = ["IdMap", "ID_PREFIXES", "looks_like_uuid", "ec2_id_kind"]

# EC2 prefix per kind (moto's EC2_RESOURCE_TO_PREFIX).
ID_PREFIXES = {
    "instance": "i",
    "image": "ami",
    "volume": "vol",
    "snapshot": "snap",
    "security-group": "sg",
    "allocation": "eipalloc",
    "association": "eipassoc",
    "reservation": "r",
    "vpc": "vpc",
    "subnet": "subnet",
    "internet-gateway": "igw",
    "route-table": "rtb",
    "route-table-association": "rtbassoc",
    "network-acl": "acl",
    "network-acl-association": "aclassoc",
    "network-interface": "eni",
    "placement-group": "pg",
}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EC2 = re.compile(r"^([a-z]+)-([0-9a-f]{8}|[0-9a-f]{17})$")


def looks_like_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def ec2_id_kind(value: str) -> str | None:
    """The kind an EC2-style id names, or None when it is not one."""
    match = _EC2.match(value or "")
    if not match:
        return None
    return next((kind for kind, prefix in ID_PREFIXES.items() if prefix == match.group(1)), None)


def _mint_sync(conn: Connection, kind: str, cs_ids: list[str]) -> dict[str, str]:
    # Most ids asked here are new (a VM just deployed): inserted at once in one statement, and only when another
    # process minted one of them first (or a random id repeats) read and minted one by one below.
    fresh = {cs_id: f"{ID_PREFIXES[kind]}-{secrets.token_hex(9)[:17]}" for cs_id in cs_ids}
    created = time.time()
    try:
        with savepoint(conn):
            conn.execute(insert(ec2_id), [{"kind": kind, "ec2_id": e, "cs_id": c, "created": created}
                                          for c, e in fresh.items()])
        return fresh
    except IntegrityError:
        pass
    known = {row.cs_id: row.ec2_id for row in conn.execute(
        select(ec2_id.c.cs_id, ec2_id.c.ec2_id).where(ec2_id.c.kind == kind, ec2_id.c.cs_id.in_(cs_ids)))}
    for cs_id in cs_ids:
        if cs_id in known:
            continue
        candidate = f"{ID_PREFIXES[kind]}-{secrets.token_hex(9)[:17]}"
        try:
            with savepoint(conn):
                conn.execute(insert(ec2_id).values(kind=kind, ec2_id=candidate, cs_id=cs_id, created=time.time()))
            known[cs_id] = candidate
        except IntegrityError:
            # Another process minted this resource's id first (or, astronomically rarely, the same random id):
            # take whatever is stored now.
            stored = conn.execute(select(ec2_id.c.ec2_id).where(ec2_id.c.kind == kind,
                                                                ec2_id.c.cs_id == cs_id)).scalar()
            if stored is None:
                raise
            known[cs_id] = stored
    return known


def _lookup_sync(conn: Connection, kind: str, ec2_ids: list[str]) -> dict[str, str]:
    return {row.ec2_id: row.cs_id for row in conn.execute(
        select(ec2_id.c.ec2_id, ec2_id.c.cs_id).where(ec2_id.c.kind == kind, ec2_id.c.ec2_id.in_(ec2_ids)))}


class IdMap:
    """Translate ids both ways. `store` is an ec2soap.store.Store."""

    def __init__(self, store: Any):
        self.store = store
        self._to_ec2: dict[tuple[str, str], str] = {}
        self._to_cs: dict[tuple[str, str], str] = {}

    def _remember(self, kind: str, pairs: dict[str, str]) -> None:
        for cs_id, value in pairs.items():
            self._to_ec2[(kind, cs_id)] = value
            self._to_cs[(kind, value)] = cs_id

    async def to_ec2_many(self, kind: str, cs_ids: Iterable[str]) -> dict[str, str]:
        """{cs uuid: ec2 id} for every uuid, minting the missing ones in one transaction."""
        wanted = list(dict.fromkeys(c for c in cs_ids if c))
        missing = [c for c in wanted if (kind, c) not in self._to_ec2]
        if missing:
            self._remember(kind, await self.store.run(_mint_sync, kind, missing))
        return {c: self._to_ec2[(kind, c)] for c in wanted}

    async def to_ec2(self, kind: str, cs_id: str) -> str:
        return (await self.to_ec2_many(kind, [cs_id]))[cs_id]

    async def to_cloudstack_many(self, kind: str, values: Iterable[str]) -> dict[str, str | None]:
        """{value: cs uuid or None}. A CloudStack uuid given as the value is accepted as it is (the original's
        users pass uuids); an EC2 id that was never minted maps to None."""
        values = list(dict.fromkeys(values))
        out: dict[str, str | None] = {}
        unknown = []
        for value in values:
            if looks_like_uuid(value):
                out[value] = value.lower()
            elif (kind, value) in self._to_cs:
                out[value] = self._to_cs[(kind, value)]
            else:
                unknown.append(value)
        if unknown:
            found = await self.store.run(_lookup_sync, kind, unknown)
            self._remember(kind, {cs: e for e, cs in found.items()})
            for value in unknown:
                out[value] = found.get(value)
        return out

    async def to_cloudstack(self, kind: str, value: str) -> str | None:
        return (await self.to_cloudstack_many(kind, [value]))[value]
