"""S3 owners stored before canonical ids existed (they were access keys): found and upgraded in place.

A scan at start lists them; each is rewritten to its account's canonical id as soon as CloudStack says whose
key it is (at start, or when its user next calls), in the owner columns and in every stored ACL, so nothing
is lost after an upgrade. Grants by email stored before they were resolved at write time (AmazonCustomerByEmail)
become the CanonicalUser of the one account a user with that email belongs to, as S3 stores them, when the
gateway has CloudStack admin keys (an email no user has, or users of several accounts have, is left as it is and
still matched by the caller's email). `Owners.principal` turns a checked access key into the request's Principal.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Iterable, Optional

from sqlalchemy import select, update
from twisted.internet.defer import Deferred, ensureDeferred
from sqlalchemy.engine import Connection

from ec2soap.auth.identity import Identity, canonical_id, is_canonical_id
from ec2soap.s3.principal import ANONYMOUS, Principal, remember_key, remember_name
from ec2soap.store.tables import s3_bucket, s3_completed_upload, s3_object, s3_upload

__all__ = ["Owners", "scan_sync", "rewrite_sync", "scan_emails_sync", "rewrite_emails_sync"]

log = logging.getLogger(__name__)

_TABLES = (s3_bucket, s3_object, s3_upload)
_CANONICAL_GRANT = '"type":"CanonicalUser"'  # as metadata.py writes ACLs (compact, sorted keys)
_EMAIL_GRANT = '"type":"AmazonCustomerByEmail"'
NAMES_REFRESH = 300.0  # seconds between two readings of the account names (with admin keys)


# -- the upgrade ----------------------------------------------------------------------------------------------

def _legacy(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and value != ANONYMOUS and not is_canonical_id(value)


def _acl_ids(acl: Any) -> Iterable[str]:
    if not isinstance(acl, dict):
        return
    yield acl.get("owner")
    for grant in acl.get("grants") or ():
        if isinstance(grant, dict) and grant.get("type") == "CanonicalUser":
            yield grant.get("grantee")


def scan_sync(conn: Connection) -> set[str]:
    """Every stored owner or CanonicalUser grantee that is no canonical id (an access key of old).

    An ACL's owner is its row's owner, so only ACLs with a second CanonicalUser grant can name anyone else:
    those alone are read (most objects carry the canned private ACL, one grant to the owner)."""
    found: set[str] = set()
    for table in _TABLES:
        for (owner,) in conn.execute(select(table.c.owner).distinct()):
            if _legacy(owner):
                found.add(owner)
        several = f"%{_CANONICAL_GRANT}%{_CANONICAL_GRANT}%"
        for (text,) in conn.execute(select(table.c.acl).where(table.c.acl.like(several))):
            try:
                acl = json.loads(text)
            except ValueError:
                continue
            found.update(v for v in _acl_ids(acl) if _legacy(v))
    return found


def _escape_like(value: str) -> str:
    # '/' rather than a backslash: MySQL/MariaDB read backslashes in string literals themselves.
    return value.replace("/", "//").replace("%", "/%").replace("_", "/_")


def rewrite_sync(conn: Connection, old: str, new: str) -> int:
    """OLD (a stored access key) → NEW (its canonical id) in the owner columns and in every stored ACL."""
    changed = 0
    for table in _TABLES:
        changed += conn.execute(update(table).where(table.c.owner == old).values(owner=new)).rowcount or 0
        rows = conn.execute(select(table.c.id, table.c.acl)
                            .where(table.c.acl.like(f"%{_escape_like(old)}%", escape="/"))
                            .with_for_update()).all()  # no ACL change in between is lost
        for row_id, text in rows:
            try:
                acl = json.loads(text)
            except ValueError:
                continue
            if not isinstance(acl, dict):
                continue
            if acl.get("owner") == old:
                acl["owner"] = new
            for grant in acl.get("grants") or ():
                if isinstance(grant, dict) and grant.get("type") == "CanonicalUser" and grant.get("grantee") == old:
                    grant["grantee"] = new
            conn.execute(update(table).where(table.c.id == row_id)
                         .values(acl=json.dumps(acl, separators=(",", ":"), sort_keys=True)))
            changed += 1
    # A completed upload's initiator (s3.multipart: a retried Complete), kept with the upload's owner as stored.
    changed += conn.execute(update(s3_completed_upload).where(s3_completed_upload.c.owner == old)
                            .values(owner=new)).rowcount or 0
    return changed


def _email_grants(acl: Any) -> Iterable[dict]:
    if isinstance(acl, dict):
        for grant in acl.get("grants") or ():
            if isinstance(grant, dict) and grant.get("type") == "AmazonCustomerByEmail" \
                    and isinstance(grant.get("grantee"), str):
                yield grant


def scan_emails_sync(conn: Connection) -> set[str]:
    """Every email (lower-case) a stored AmazonCustomerByEmail grant names; only ACLs holding one are read."""
    found: set[str] = set()
    for table in _TABLES:
        for (text,) in conn.execute(select(table.c.acl).where(table.c.acl.like(f"%{_EMAIL_GRANT}%"))):
            try:
                acl = json.loads(text)
            except ValueError:
                continue
            found.update(grant["grantee"].strip().lower() for grant in _email_grants(acl))
    return found


def rewrite_emails_sync(conn: Connection, accounts: dict[str, str]) -> int:
    """Email grants naming a key of ACCOUNTS (lower-case email → canonical id) → that CanonicalUser grant."""
    changed = 0
    for table in _TABLES:
        rows = conn.execute(select(table.c.id, table.c.acl).where(table.c.acl.like(f"%{_EMAIL_GRANT}%"))
                            .with_for_update()).all()
        for row_id, text in rows:
            try:
                acl = json.loads(text)
            except ValueError:
                continue
            grants = [grant for grant in _email_grants(acl) if grant["grantee"].strip().lower() in accounts]
            for grant in grants:
                grant["type"], grant["grantee"] = "CanonicalUser", accounts[grant["grantee"].strip().lower()]
            if grants:
                conn.execute(update(table).where(table.c.id == row_id)
                             .values(acl=json.dumps(acl, separators=(",", ":"), sort_keys=True)))
                changed += 1
    return changed


class Owners:
    """The S3 door's view of who calls. RUN(fn, *args) runs fn on the pool (a Deferred); STORE has run_sync;
    CREDENTIALS has identity_for (which raises CredentialsUnavailable when CloudStack cannot be asked)."""

    def __init__(self, store: Any, run: Callable[..., Any], credentials: Any,
                 clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.run = run
        self.credentials = credentials
        self._pending: set[str] | None = None  # stored access keys still to upgrade; None: not scanned yet
        self._scanning: Any = None
        self._starting = False
        self._waiters: list[Deferred] = []
        self.clock = clock
        self._names_read = float("-inf")

    def begin(self) -> Deferred:
        """start() in the background; callers wait for it (a bounded wait: it stops at CloudStack's first
        failure), so what they are shown is already upgraded."""
        self._starting = True

        def done(result: Any) -> Any:
            self._starting = False
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                waiter.callback(None)
            return result
        return ensureDeferred(self.start()).addBoth(done)

    async def start(self) -> None:
        """Scan for stored access keys, then upgrade every one CloudStack can name now (the rest are upgraded
        when their user next calls). Failures are logged: the scan is retried by the next caller."""
        await self.refresh_names()
        await self._resolve_email_grants()
        await self._scan()
        for key in sorted(self._pending or ()):
            try:
                identity = await self.credentials.identity_for(key)
            except Exception as exc:  # CloudStack down: this key waits for its user's next request
                log.warning("S3 owner upgrade: cannot resolve a stored access key now (%s)", exc.__class__.__name__)
                return
            if identity is not None:
                remember_name(identity.canonical_id, identity.display_name)
                remember_key(key, identity.canonical_id)
                await self._upgrade(key, identity)

    async def refresh_names(self) -> None:
        """With the gateway's admin keys, every account's name for DisplayName (so every gateway process
        shows the same names, not only those of callers it has seen). Without them: the callers' own."""
        admin = getattr(self.credentials, "admin_cloud", None)
        if admin is None:
            return
        self._names_read = self.clock()
        try:
            accounts = await admin.list_accounts(listall=True)
        except Exception as exc:  # names are a courtesy: never fail a request for them
            log.warning("S3 owners: cannot read the account names now (%s)", exc.__class__.__name__)
            return
        for account in accounts or ():
            if account.get("id") and account.get("name"):
                remember_name(canonical_id(str(account["id"])), str(account["name"]))

    async def _resolve_email_grants(self) -> None:
        """Stored email grants → their accounts' CanonicalUser grants (with admin keys; a failure is logged and
        the grants stay email grants, honoured as before, until the next start)."""
        admin = getattr(self.credentials, "admin_cloud", None)
        if admin is None:
            return
        try:
            emails = await self.run(self.store.run_sync, scan_emails_sync)
            if not emails:
                return
            owners: dict[str, set[str]] = {}
            for user in await admin.list_users(listall=True) or ():
                email = str(user.get("email") or "").strip().lower()
                if email in emails and user.get("accountid"):
                    owners.setdefault(email, set()).add(canonical_id(str(user["accountid"])))
            accounts = {email: found.pop() for email, found in owners.items() if len(found) == 1}
            changed = await self.run(self.store.run_sync, rewrite_emails_sync, accounts) if accounts else 0
        except Exception as exc:  # CloudStack or the database down: the next start tries again
            log.warning("S3 email grant upgrade: not now (%s)", exc.__class__.__name__)
            return
        log.info("S3 email grant upgrade: %d of %d email(s) resolved to accounts (%d rows)", len(accounts),
                 len(emails), changed)

    async def _scan(self) -> None:
        if self._pending is not None:
            return
        if self._scanning is None:
            self._scanning = self.run(self.store.run_sync, scan_sync)
        try:
            found = await self._scanning
        except Exception:
            self._scanning = None
            raise
        if self._pending is None:
            self._pending = set(found)
            if found:
                log.info("S3 owner upgrade: %d stored access key(s) to turn into canonical ids", len(found))

    async def _upgrade(self, key: str, identity: Identity) -> None:
        if self._pending is None or key not in self._pending:
            return
        changed = await self.run(self.store.run_sync, rewrite_sync, key, identity.canonical_id)
        self._pending.discard(key)
        log.info("S3 owner upgrade: one access key → canonical id %s (%d rows)", identity.canonical_id, changed)

    async def principal(self, access_key: str) -> Optional[Principal]:
        """The caller whose signature has been checked; None when CloudStack names no account for the key."""
        if self._starting:
            waiter: Deferred = Deferred()
            self._waiters.append(waiter)
            await waiter
        identity = await self.credentials.identity_for(access_key)
        if identity is None:
            return None
        remember_name(identity.canonical_id, identity.display_name)
        remember_key(access_key, identity.canonical_id)
        if self.clock() - self._names_read > NAMES_REFRESH:
            ensureDeferred(self.refresh_names())  # in the background: this request does not wait
        await self._scan()
        await self._upgrade(access_key, identity)
        return Principal(identity)
