"""What the gateway keeps about instances that CloudStack cannot: termination protection, terminated instances
(as EC2 showed them, for the hour EC2 keeps them visible) and RunInstances ClientTokens.

SQL runs on the store's thread pool (methods return Deferreds, awaited by the core). The facts are JSON text
written and read by the core; this module does not look inside them.

Every DescribeInstances reads the account's terminated records (`terminated`): each process keeps the last answer
per account for TERMINATED_TTL seconds (profiled: the lookup through the pool was ~11% of the gateway's CPU per
DescribeInstances of 50 instances). See `InstanceRecords.terminated` for what keeps it exact.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ec2soap.store.prepared import savepoint
from ec2soap.store.tables import ec2_client_token, ec2_instance

__all__ = ["InstanceRecords", "TerminatedRecord", "TokenRecord"]

# Terminated rows are kept this long (EC2 shows them for an hour; the rest lets a VM CloudStack still lists
# as Destroyed be recognised as one we terminated, so it stays hidden after that hour).
KEEP_TERMINATED = 30 * 86400.0
# ClientTokens are kept a week (EC2 promises idempotency for retries, not forever; SDKs send a fresh token with
# every new request, so the table would otherwise only grow). Old ones are dropped at most once an hour.
KEEP_TOKENS = 7 * 86400.0
PURGE_EVERY = 3600.0
# How long one process answers an account's terminated records from its cache (a second process's
# TerminateInstances is seen within this; this process's own at once). Shorter than any destroy takes to make a
# VM vanish from its owner's listing (CloudStack stops the VM first: seconds; the simulator's shortest job in the
# tests: 0.2-0.3 s), so an instance another process terminates is read again before it could be missed. At
# 50-100 DescribeInstances a second it still saves 90-95% of the reads.
TERMINATED_TTL = 0.2
# Cached accounts beyond this many drop their expired entries when another is added.
_CACHE_SWEEP = 256
_CARRY = 1000


class TerminatedRecord:
    __slots__ = ("cs_id", "instance_id", "terminated", "facts")

    def __init__(self, cs_id: str, instance_id: str, terminated: float, facts: dict):
        self.cs_id, self.instance_id, self.terminated, self.facts = cs_id, instance_id, terminated, facts


class _Terminated:
    """One account's cached answer: every record terminated at or after SINCE, and those of the CHECKED VMs,
    as the database held them when read; until EXPIRES (the records' monotonic clock)."""
    __slots__ = ("expires", "since", "checked", "rows", "ids")

    def __init__(self, expires: float, since: float, checked: Iterable[str], rows: list[TerminatedRecord]):
        self.expires, self.since, self.rows = expires, since, tuple(rows)
        self.checked = frozenset(checked)
        self.ids = frozenset(r.cs_id for r in rows)

    def answer(self, now: float, since: float, cs_ids: list[str]) -> list[TerminatedRecord] | None:
        """What the database query would have answered when this was read, or None when this cannot tell."""
        if now >= self.expires or since < self.since:
            return None
        for cs_id in cs_ids:
            if cs_id not in self.checked and cs_id not in self.ids:
                return None
        return _select(self.rows, since, cs_ids)


def _select(rows: Iterable[TerminatedRecord], since: float, cs_ids: list[str]) -> list[TerminatedRecord]:
    """ROWS as _terminated_sync(since, cs_ids) would have chosen them (ROWS: a superset, in its order)."""
    gone = set(cs_ids)
    return [r for r in rows if r.terminated >= since or r.cs_id in gone]


class TokenRecord:
    __slots__ = ("fingerprint", "reservation_id", "instances", "claimed")

    def __init__(self, fingerprint: str, reservation_id: str, instances: list[str] | None, claimed: bool):
        self.fingerprint, self.reservation_id, self.instances = fingerprint, reservation_id, instances
        self.claimed = claimed


def _protected_sync(conn: Connection, cs_ids: list[str]) -> set[str]:
    return {r.cs_id for r in conn.execute(select(ec2_instance.c.cs_id).where(
        ec2_instance.c.cs_id.in_(cs_ids), ec2_instance.c.disable_api_termination.is_(True)))}


def _upsert(conn: Connection, cs_id: str, values: dict) -> None:
    if conn.execute(update(ec2_instance).where(ec2_instance.c.cs_id == cs_id).values(**values)).rowcount:
        return
    try:
        with savepoint(conn):
            conn.execute(insert(ec2_instance).values(cs_id=cs_id, **{"disable_api_termination": False, **values}))
    except IntegrityError:
        # Another gateway inserted the row between our update and insert: update it now.
        conn.execute(update(ec2_instance).where(ec2_instance.c.cs_id == cs_id).values(**values))


def _set_protection_sync(conn: Connection, cs_id: str, instance_id: str, account: str, flag: bool) -> None:
    _upsert(conn, cs_id, {"instance_id": instance_id, "account": account, "disable_api_termination": flag})


def _record_sync(conn: Connection, account: str, rows: list[tuple[str, str, str]], now: float,
                 unless_protected: Iterable[str] = (), purge: bool = True) -> set[str]:
    if unless_protected:
        protected = _protected_sync(conn, list(unless_protected))
        if protected:
            return protected
    for cs_id, instance_id, facts in rows:
        _upsert(conn, cs_id, {"instance_id": instance_id, "account": account, "terminated": now,
                              "facts": facts, "disable_api_termination": False})
    if purge:
        conn.execute(delete(ec2_instance).where(ec2_instance.c.terminated < now - KEEP_TERMINATED))
    return set()


def _terminated_sync(conn: Connection, account: str, since: float, cs_ids: list[str]) -> list[Any]:
    recent, named = _terminated_queries(account, since, cs_ids)
    rows = {row.cs_id: row for row in conn.execute(recent)}
    if named is not None:
        for row in conn.execute(named):
            if row.account == account and row.terminated is not None and row.cs_id not in rows:
                rows[row.cs_id] = row
    return sorted(rows.values(), key=lambda row: row.terminated)


def _terminated_queries(account: str, since: float, cs_ids: list[str]) -> tuple[Any, Any]:
    """The account's records terminated since SINCE (a search of the (account, terminated) index), and the
    records of CS_IDS (by primary key; None when there are none), whose account and termination the caller checks.
    As one WHERE with `... OR cs_id IN (...)`, SQLite searched the index on the account alone and read every
    record the account keeps for the retention (one per instance it ever terminated, for 30 days) to find one
    named instance: at 5,000 records 1.8 ms per transaction against 0.8 ms now, paid by each TerminateInstances
    and DescribeInstances by id. As a UNION of the two, its planner still chose the account's index for the named
    half when it had no statistics; two statements have one plan each."""
    columns = (ec2_instance.c.cs_id, ec2_instance.c.instance_id, ec2_instance.c.terminated, ec2_instance.c.facts,
               ec2_instance.c.account)
    recent = select(*columns).where(ec2_instance.c.account == account, ec2_instance.c.terminated >= since)
    named = select(*columns).where(ec2_instance.c.cs_id.in_(cs_ids)) if cs_ids else None
    return recent, named


def _token_row(conn: Connection, account: str, token: str) -> Any:
    return conn.execute(select(ec2_client_token).where(ec2_client_token.c.account == account,
                                                       ec2_client_token.c.token == token)).first()


def _as_token(row: Any, claimed: bool) -> TokenRecord:
    return TokenRecord(row.fingerprint, row.reservation_id,
                       json.loads(row.instances) if row.instances is not None else None, claimed)


def _claim_sync(conn: Connection, account: str, token: str, fingerprint: str, reservation_id: str,
                now: float) -> TokenRecord:
    row = _token_row(conn, account, token)
    if row is not None:
        return _as_token(row, False)
    try:
        with savepoint(conn):
            conn.execute(insert(ec2_client_token).values(account=account, token=token, fingerprint=fingerprint,
                                                         reservation_id=reservation_id, instances=None,
                                                         created=now))
    except IntegrityError:
        # Another gateway claimed the token first: its launch is the one.
        row = _token_row(conn, account, token)
        if row is None:
            raise
        return _as_token(row, False)
    return TokenRecord(fingerprint, reservation_id, None, True)


def _purge_tokens_sync(conn: Connection, before: float) -> int:
    return conn.execute(delete(ec2_client_token).where(ec2_client_token.c.created < before)).rowcount


def _token_sync(conn: Connection, account: str, token: str) -> TokenRecord | None:
    row = _token_row(conn, account, token)
    return _as_token(row, False) if row is not None else None


def _fill_sync(conn: Connection, account: str, token: str, reservation_id: str, instances: list[str]) -> None:
    conn.execute(update(ec2_client_token).where(ec2_client_token.c.account == account,
                                                ec2_client_token.c.token == token)
                 .values(reservation_id=reservation_id, instances=json.dumps(instances)))


def _release_sync(conn: Connection, account: str, token: str) -> None:
    conn.execute(delete(ec2_client_token).where(ec2_client_token.c.account == account,
                                                ec2_client_token.c.token == token,
                                                ec2_client_token.c.instances.is_(None)))


class InstanceRecords:
    """The gateway's own instance facts. `store` is an ec2soap.store.Store."""

    def __init__(self, store: Any, *, terminated_ttl: float = TERMINATED_TTL,
                 clock: Callable[[], float] = time.monotonic):
        self.store = store
        # access key → CloudStack account uuid: never changes for a key, so each process remembers it.
        self.accounts: dict[str, str] = {}
        self._purged = 0.0
        self._purged_terminated = 0.0
        self.terminated_ttl = terminated_ttl
        self.clock = clock
        self._terminated: dict[str, _Terminated] = {}
        # Bumped by every write of ec2_instance: a read that began before a write is not cached.
        self._writes = 0

    def _forget_terminated(self) -> None:
        self._writes += 1
        self._terminated.clear()

    async def protected(self, cs_ids: Iterable[str]) -> set[str]:
        """The VMs among CS_IDS with termination protection on."""
        wanted = list(dict.fromkeys(cs_ids))
        return await self.store.run(_protected_sync, wanted, readonly=True) if wanted else set()

    async def set_protection(self, cs_id: str, instance_id: str, account: str, flag: bool) -> None:
        try:
            await self.store.run(_set_protection_sync, cs_id, instance_id, account, flag)
        finally:
            self._forget_terminated()

    async def record_terminated(self, account: str, rows: list[tuple[str, str, dict]], now: float, *,
                                unless_protected: Iterable[str] = ()) -> set[str]:
        """ROWS: (VM uuid, EC2 id, facts) of instances just terminated. With UNLESS_PROTECTED (VM uuids), in the
        same transaction: when any of them has termination protection on, nothing is recorded and those are
        answered (one pool hop and one transaction for TerminateInstances' check and record). Rows older than
        KEEP_TERMINATED are dropped at most once per PURGE_EVERY in each process."""
        purge = now - self._purged_terminated >= PURGE_EVERY
        if purge:
            self._purged_terminated = now
        try:
            return await self.store.run(_record_sync, account, [(c, i, json.dumps(f)) for c, i, f in rows], now,
                                        list(dict.fromkeys(unless_protected)), purge)
        finally:
            # After the commit (or a failure): the next read in this process goes to the database.
            self._forget_terminated()

    async def terminated(self, account: str, since: float, cs_ids: Iterable[str] = ()) -> list[TerminatedRecord]:
        """The account's instances terminated at or after SINCE, and any terminated ones among CS_IDS (the VMs
        CloudStack lists as destroyed). The records are shared with later calls: read them, never change them.

        Answered from this process's cache while it can tell: for terminated_ttl seconds after a read, for a
        SINCE no earlier than that read's, and for CS_IDS that read covered. What keeps it exact:
        - this process's writes (record_terminated, set_protection) empty the cache after they commit, and a
          read that began before a write is not kept;
        - another process on the same database records an instance before it starts the destroy
          (terminations.terminate_instances), so a VM CloudStack first shows destroyed after that commit; such a
          VM is a CS_ID no cached read covered, and the database is read again;
        - what is left is bounded by terminated_ttl: for up to that long after another process's
          TerminateInstances, an instance whose destroy is still in flight shows the state CloudStack gives
          it (shutting-down while the caller can see the destroy job), and one CloudStack no longer lists
          (destroyed out of the caller's view, or expunged) would be missing from this process's answer; the
          TTL is kept below the time a destroy takes for the latter (see TERMINATED_TTL).
          terminated_ttl=0 turns the cache off."""
        wanted = list(cs_ids)
        now = self.clock()
        cached = self._terminated.get(account)
        ask = wanted
        if cached is not None and now < cached.expires:
            answer = cached.answer(now, since, wanted)
            if answer is not None:
                return answer
            # A VM newly listed as destroyed: read it with the ones the fresh read covered, in one query (up to
            # _CARRY of them: refills chained within the TTL never grow the query without bound).
            if len(cached.checked) <= _CARRY:
                asked = set(wanted)
                ask = wanted + [c for c in cached.checked if c not in asked]
        writes = self._writes
        rows = await self.store.run(_terminated_sync, account, since, ask, readonly=True)
        records = [TerminatedRecord(r.cs_id, r.instance_id, r.terminated, json.loads(r.facts or "{}"))
                   for r in rows]
        if self.terminated_ttl > 0 and writes == self._writes:
            # The TTL counts from before the read: the answer is never older than that when served.
            if len(self._terminated) >= _CACHE_SWEEP:
                for key in [k for k, v in self._terminated.items() if v.expires <= now]:
                    del self._terminated[key]
            self._terminated[account] = _Terminated(now + self.terminated_ttl, since, ask, records)
        return _select(records, since, wanted) if ask is not wanted else records

    async def claim_token(self, account: str, token: str, fingerprint: str, reservation_id: str,
                          now: float) -> TokenRecord:
        """The token's record: a new one (claimed=True: launch now) or the one another request made."""
        if now - self._purged >= PURGE_EVERY:
            self._purged = now
            await self.store.run(_purge_tokens_sync, now - KEEP_TOKENS)
        return await self.store.run(_claim_sync, account, token, fingerprint, reservation_id, now)

    async def token(self, account: str, token: str) -> TokenRecord | None:
        return await self.store.run(_token_sync, account, token, readonly=True)

    async def fill_token(self, account: str, token: str, reservation_id: str, instances: list[str]) -> None:
        await self.store.run(_fill_sync, account, token, reservation_id, instances)

    async def wait_token(self, account: str, token: str, timeout: float) -> TokenRecord | None:
        """The token's record once its launch has finished (instances set), or is gone (the launch failed),
        or as it is after TIMEOUT seconds. Each read runs on the pool and the pauses on the reactor, so a
        retry racing its original holds no database thread while it waits."""
        deadline = time.monotonic() + timeout
        while True:
            record = await self.store.run(_token_sync, account, token, readonly=True)
            if record is None or record.instances is not None or time.monotonic() >= deadline:
                return record
            await self.store.sleep(0.1)

    async def release_token(self, account: str, token: str) -> None:
        """Forget a claim whose launch failed, so that a retry may launch."""
        await self.store.run(_release_sync, account, token)
