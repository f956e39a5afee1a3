"""Who holds an access key: the secret for a CloudStack API key, from registration or from CloudStack.

Order: a key registered with SetUserKeys / `ec2soap user register` (secret encrypted at rest with Fernet);
otherwise, when the gateway holds CloudStack admin keys, CloudStack's getUser (cached for a short while).
identity_for(access_key) says whose key it is (account, canonical id, email: auth/identity.py), for S3.
When CloudStack cannot be asked (down, garbage), both raise CredentialsUnavailable: every door answers its
protocol's 503 (Unavailable / ServiceUnavailable), exactly as for a caller whose secret was cached.
No Twisted imports: the SQL work goes through the Store passed in, the CloudStack call through the admin
client passed in; both return awaitables.
"""
from __future__ import annotations

import functools
import hmac
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from ec2soap.auth.certificates import CertificateError, RegisteredCertificate, load_der, load_pem
from ec2soap.auth.identity import Identity, identity_from_user
from ec2soap.cloudstack.errors import CloudStackAuthError, CloudStackBadResponse, CloudStackUnavailable
from ec2soap.store.prepared import Prepared
from ec2soap.store.tables import ec2_credential

__all__ = ["Credentials", "CredentialsUnavailable", "SecretBox", "load_secret_box"]

log = logging.getLogger(__name__)


class CredentialsUnavailable(Exception):
    """CloudStack, which knows who holds a key, could not be asked. Not the caller's fault: a 503."""


class SecretBox:
    """Encrypts secrets for the database. The key is shared by every gateway that shares the database."""

    def __init__(self, key: bytes):
        self._fernet = Fernet(key)
        # Opening is a function of the sealed text alone (no ttl): the last ones opened are kept, so a SOAP request
        # (whose row is read again every time) does not decrypt the same secret again. A removed row is never read,
        # so nothing kept here can outlive it.
        self.open = functools.lru_cache(maxsize=256)(self._open)  # type: ignore[method-assign]

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def _open(self, sealed: str) -> str | None:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            return None


def load_secret_box(key: str, data_dir: str) -> SecretBox:
    """The configured key, or DATA_DIR/encryption.key (created on first use, owner-only)."""
    if key:
        return SecretBox(key.encode("ascii"))
    path = Path(data_dir) / "encryption.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
    return SecretBox(path.read_bytes().strip())


def _get_sync(conn: Connection, access_key: str) -> Any:
    return conn.execute(select(ec2_credential).where(ec2_credential.c.access_key == access_key)).first()


def _put_sync(conn: Connection, access_key: str, sealed: str, now: float) -> None:
    if _get_sync(conn, access_key) is None:
        conn.execute(insert(ec2_credential).values(access_key=access_key, secret_enc=sealed, created=now))
    else:
        conn.execute(update(ec2_credential).where(ec2_credential.c.access_key == access_key)
                     .values(secret_enc=sealed))


def _delete_sync(conn: Connection, access_key: str) -> int:
    return conn.execute(delete(ec2_credential).where(ec2_credential.c.access_key == access_key)).rowcount


def _set_certificate_sync(conn: Connection, access_key: str, cert: RegisteredCertificate) -> bool:
    for row in conn.execute(select(ec2_credential.c.access_key, ec2_credential.c.cert_pem)
                            .where(ec2_credential.c.cert_unique_id == cert.unique_id)):
        if row.access_key != access_key and _same_certificate(row.cert_pem, cert.der):
            raise CertificateError("this certificate is already registered to another access key")
    return bool(conn.execute(update(ec2_credential).where(ec2_credential.c.access_key == access_key)
                             .values(cert_unique_id=cert.unique_id, cert_pem=cert.pem)).rowcount)


def _delete_certificate_sync(conn: Connection, access_key: str) -> bool:
    return bool(conn.execute(update(ec2_credential).where(ec2_credential.c.access_key == access_key)
                             .where(ec2_credential.c.cert_unique_id.is_not(None))
                             .values(cert_unique_id=None, cert_pem=None)).rowcount)


def _by_certificate_sync(conn: Connection, der: bytes) -> list[Any]:
    """The rows whose certificate is exactly these DER bytes (issuer and serial alone can be forged)."""
    wanted = _parsed(der)
    if wanted is None:
        return []
    rows = _BY_CERTIFICATE(conn, {"unique_id": wanted.unique_id})
    return [row for row in rows if _same_certificate(row.cert_pem, wanted.der)]


# Built once and run as store.prepared.Prepared (on SQLite straight through the DBAPI cursor): read for every SOAP
# request, in its own read-only transaction.
_BY_CERTIFICATE = Prepared(select(ec2_credential.c.access_key, ec2_credential.c.secret_enc,
                                  ec2_credential.c.cert_pem).where(
    ec2_credential.c.cert_unique_id == bindparam("unique_id")))


# Parsing a certificate is a function of its bytes alone: the last ones parsed are kept (a SOAP request carries its
# signer's certificate every time, and the registered PEM is read with it). Profiled at concurrency 1: the
# lookup was 14 % of the SOAP-only server samples, most of it x509 parsing of the same two certificates.
@functools.lru_cache(maxsize=512)
def _parsed(certificate: bytes | str) -> RegisteredCertificate | None:
    """DER bytes (the request's token) or PEM text (the registered one) parsed, None when not a certificate."""
    try:
        return load_der(certificate) if isinstance(certificate, bytes) else load_pem(certificate)
    except CertificateError:
        return None


def _same_certificate(pem: str | None, der: bytes) -> bool:
    parsed = _parsed(pem) if pem is not None else None
    return parsed is not None and hmac.compare_digest(parsed.der, der)


def _list_sync(conn: Connection) -> list[Any]:
    return list(conn.execute(select(ec2_credential.c.access_key, ec2_credential.c.cert_unique_id,
                                    ec2_credential.c.created).order_by(ec2_credential.c.created)))


class Credentials:
    """secret_for(access_key) → the secret or None. `admin_cloud` (optional) is a CloudStack client with admin
    keys whose get_user(userapikey=...) returns CloudStack's user object. `cloud_for(key, secret)` (optional)
    gives a client with a user's own keys: without admin keys, identity_for asks CloudStack as the user."""

    def __init__(self, store: Any, box: SecretBox, admin_cloud: Any = None, *, ttl: float = 300.0,
                 negative_ttl: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 cloud_for: Callable[[str, str], Any] | None = None):
        self.store = store
        self.box = box
        self.admin_cloud = admin_cloud
        self.cloud_for = cloud_for
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, str | None]] = {}
        self._identities: dict[str, tuple[float, Identity]] = {}

    async def secret_for(self, access_key: str) -> str | None:
        if not access_key:
            return None
        cached = self._cache.get(access_key)
        if cached and cached[0] > self.clock():
            return cached[1]
        secret = await self._lookup(access_key)
        self._cache[access_key] = (self.clock() + (self.ttl if secret else self.negative_ttl), secret)
        return secret

    async def _lookup(self, access_key: str) -> str | None:
        row = await self.store.run(_get_sync, access_key)
        if row is not None:
            return self.box.open(row.secret_enc)
        if self.admin_cloud is None:
            return None
        user = await self._admin_user(access_key)
        if not user or user.get("state") != "enabled" or not user.get("secretkey"):
            return None
        self._remember(access_key, user)
        return str(user["secretkey"])

    async def _admin_user(self, access_key: str) -> dict | None:
        try:
            return await self.admin_cloud.get_user(userapikey=access_key)
        except (CloudStackUnavailable, CloudStackBadResponse) as exc:
            log.warning("cannot look up an access key: CloudStack did not answer (%s)", exc.__class__.__name__)
            raise CredentialsUnavailable("CloudStack could not be asked who holds this key") from None

    def _remember(self, access_key: str, user: dict) -> Identity | None:
        identity = identity_from_user(access_key, user)
        if identity is not None:
            self._identities[access_key] = (self.clock() + self.ttl, identity)
        return identity

    async def identity_for(self, access_key: str) -> Identity | None:
        """Whose key ACCESS_KEY is (None: no such enabled user), from CloudStack: with the admin keys when the
        gateway holds them, else as the user itself (a registered key). Cached like secrets."""
        cached = self._identities.get(access_key)
        if cached and cached[0] > self.clock():
            return cached[1]
        if self.admin_cloud is not None:
            user = await self._admin_user(access_key)
            return self._remember(access_key, user) if user and user.get("state") == "enabled" else None
        secret = await self.secret_for(access_key)
        if secret is None or self.cloud_for is None:
            return None
        try:
            users = await self.cloud_for(access_key, secret).list_users()
        except CloudStackAuthError:
            return None  # CloudStack no longer takes the registered key
        except (CloudStackUnavailable, CloudStackBadResponse) as exc:
            log.warning("cannot look up an access key's account: CloudStack did not answer (%s)",
                        exc.__class__.__name__)
            raise CredentialsUnavailable("CloudStack could not be asked who holds this key") from None
        # A user sees the users of its own account: its own entry, else any (they share the account).
        users = sorted(users or [], key=lambda u: u.get("apikey") != access_key)
        return self._remember(access_key, users[0]) if users else None

    def forget(self, access_key: str) -> None:
        self._cache.pop(access_key, None)
        self._identities.pop(access_key, None)

    async def register(self, access_key: str, secret_key: str) -> None:
        """Store (or replace) a user's keys. The caller has checked them against CloudStack."""
        await self.store.run(_put_sync, access_key, self.box.seal(secret_key), time.time())
        self.forget(access_key)

    async def remove(self, access_key: str) -> bool:
        removed = await self.store.run(_delete_sync, access_key)
        self.forget(access_key)
        return bool(removed)

    async def registered(self) -> list[Any]:
        return await self.store.run(_list_sync)

    async def set_certificate(self, access_key: str, pem: str) -> bool:
        """Register the PEM certificate for SOAP (WS-Security) requests of this registered key; False when the
        key is not registered. CertificateError: not one RSA certificate, or registered to another key."""
        return await self.store.run(_set_certificate_sync, access_key, load_pem(pem))

    async def delete_certificate(self, access_key: str) -> bool:
        """Forget the key's certificate; False when it had none."""
        return await self.store.run(_delete_certificate_sync, access_key)

    async def caller_for_certificate(self, der: bytes) -> tuple[str, str] | None:
        """The (access key, secret) a certificate is registered to, or None (also when ambiguous)."""
        return self._caller(await self.store.run(_by_certificate_sync, der, readonly=True))

    def caller_for_certificate_sync(self, der: bytes) -> tuple[str, str] | None:
        """caller_for_certificate for code already on a pool thread (wsse.verify_envelope's lookup_cert)."""
        return self._caller(self.store.run_sync(_by_certificate_sync, der, readonly=True))

    def _caller(self, rows: list[Any]) -> tuple[str, str] | None:
        if len(rows) != 1:
            return None
        secret = self.box.open(rows[0].secret_enc)
        return (rows[0].access_key, secret) if secret else None
