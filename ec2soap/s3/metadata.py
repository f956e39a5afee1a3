"""S3 metadata in SQL: buckets, object versions, multipart uploads and parts.

Every function takes a SQLAlchemy Connection already inside a transaction (Store.run / run_sync) and is
synchronous. No Twisted, no HTTP, nothing from ec2soap.core here.

Concurrency: a write locks the rows it replaces (SELECT ... FOR UPDATE; SQLite serializes writers with
BEGIN IMMEDIATE) and the unique constraints catch the one race locks cannot, two processes creating the same
key or part at once. The loser gets IntegrityError (or a deadlock error on MariaDB) and the caller retries the
whole transaction (`is_retryable`). Functions that drop rows pointing at blobs return those blob ids; the
caller deletes the files only after the transaction has committed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from ec2soap.s3.rules import opaque_token
from ec2soap.store.tables import (s3_account, s3_bucket, s3_completed_upload, s3_lifecycle, s3_object, s3_part,
                                  s3_upload)

__all__ = ["MetadataStore", "Bucket", "ObjectVersion", "Upload", "Part", "CompletedUpload", "is_retryable", "new_version_id"]

NULL_VERSION = "null"


def new_version_id() -> str:
    # Opaque like S3's; URL-safe so clients can pass it back in ?versionId= without trouble.
    return opaque_token(24)


def is_retryable(exc: BaseException) -> bool:
    """A transaction that lost a race and can simply be run again: a unique-key collision, a deadlock,
    a serialization failure, a lock timeout, SQLite's 'database is locked'."""
    if isinstance(exc, IntegrityError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in ("40001", "40P01", "55P03"):
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in (1205, 1213):  # MariaDB lock wait timeout / deadlock
        return True
    return "database is locked" in str(orig)


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)


def _loads(value: str | None, default: Any = None) -> Any:
    return default if value is None else json.loads(value)


class _Row:
    """Column values by attribute, as a result row gives them (ObjectVersion.from_row of an inserted row)."""

    def __init__(self, values: dict):
        self.__dict__.update(values)


def _key(value: Any) -> str:
    return bytes(value).decode("utf-8")


@dataclass
class Bucket:
    id: int
    name: str
    owner: str
    created: float
    location: str | None
    acl: dict
    versioning: str | None
    policy: str | None
    cors: list | None
    # s3.access: the PublicAccessBlock flags ({"BlockPublicAcls": bool, ...}) and ObjectOwnership, or None.
    public_access_block: dict | None = None
    ownership: str | None = None
    # s3.object_lock: the Object Lock configuration ({} or {"rule": {...}}), None: Object Lock not enabled.
    object_lock: dict | None = None
    # The owner's account-level PublicAccessBlock (S3 Control, s3_account), loaded with the bucket by
    # MetadataStore.get_bucket; s3.public enforces each flag as the OR of this and the bucket's own.
    account_public_access_block: dict | None = None
    # s3.lifecycle's rules (s3_lifecycle), read in the same query by MetadataStore.get_bucket; RULES_LOADED
    # False: not read with this bucket (s3.lifecycle.expiration_header then reads them itself).
    lifecycle_rules: list | None = None
    rules_loaded: bool = False

    @classmethod
    def from_row(cls, row: Any) -> "Bucket":
        bucket = cls(row.id, row.name, row.owner, row.created, row.location, _loads(row.acl, {}),
                     row.versioning, row.policy, _loads(row.cors))
        bucket.public_access_block, bucket.ownership = _loads(row.public_access_block), row.ownership
        bucket.object_lock = _loads(row.object_lock)
        bucket.account_public_access_block = _loads(getattr(row, _ACCOUNT_BLOCK))
        bucket.lifecycle_rules, bucket.rules_loaded = _loads(getattr(row, _LIFECYCLE_RULES)), True
        return bucket


@dataclass
class ObjectVersion:
    """One version of a key (or a delete marker). `etag` is bare (no quotes); `headers` holds the kept
    HTTP headers other than Content-Type (Content-Disposition, Cache-Control, ...)."""
    id: int
    bucket_id: int
    key: str
    version_id: str
    is_latest: bool
    delete_marker: bool
    owner: str
    size: int
    etag: str
    last_modified: float
    content_type: str | None = None
    headers: dict = field(default_factory=dict)
    user_meta: dict = field(default_factory=dict)
    acl: dict | None = None
    checksums: dict = field(default_factory=dict)
    blob_id: str | None = None
    manifest: list | None = None
    tags: dict = field(default_factory=dict)  # s3.tagging: the version's tag set (key → value)
    part_checksums: list | None = None  # s3.checksums: a multipart object's per-part checksums, in part order
    object_lock: dict | None = None  # s3.object_lock: retention ({"mode", "until"}) and "legal_hold", or None

    @property
    def layout(self) -> list[tuple[str, int]]:
        """The (blob id, size) list whose concatenation is this version's bytes."""
        if self.manifest is not None:
            return [(blob_id, size) for blob_id, size in self.manifest]
        if self.blob_id is not None:
            return [(self.blob_id, self.size)]
        return []

    @property
    def blob_ids(self) -> list[str]:
        return [blob_id for blob_id, _ in self.layout]

    @classmethod
    def from_row(cls, row: Any) -> "ObjectVersion":
        return cls(row.id, row.bucket_id, _key(row.key), row.version_id, row.latest == 1, bool(row.delete_marker),
                   row.owner, row.size, row.etag, row.last_modified, row.content_type, _loads(row.headers, {}),
                   _loads(row.user_meta, {}), _loads(row.acl), _loads(row.checksums, {}), row.blob_id,
                   _loads(row.manifest), _loads(row.tags, {}), part_checksums=_loads(row.part_checksums),
                   object_lock=_loads(row.object_lock))


@dataclass
class Upload:
    id: int
    upload_id: str
    bucket_id: int
    key: str
    owner: str
    initiated: float
    content_type: str | None
    headers: dict
    user_meta: dict
    acl: dict | None
    checksum_algorithm: str | None
    checksum_type: str | None = None  # COMPOSITE or FULL_OBJECT (s3.checksums)
    object_lock: dict | None = None  # s3.object_lock: the lock the completed object will carry

    @classmethod
    def from_row(cls, row: Any) -> "Upload":
        return cls(row.id, row.upload_id, row.bucket_id, _key(row.key), row.owner, row.initiated, row.content_type,
                   _loads(row.headers, {}), _loads(row.user_meta, {}), _loads(row.acl), row.checksum_algorithm,
                   checksum_type=row.checksum_type, object_lock=_loads(row.object_lock))


@dataclass
class Part:
    part_number: int
    size: int
    etag: str
    last_modified: float
    blob_id: str
    checksums: dict

    @classmethod
    def from_row(cls, row: Any) -> "Part":
        return cls(row.part_number, row.size, row.etag, row.last_modified, row.blob_id, _loads(row.checksums, {}))


@dataclass
class CompletedUpload:
    """A multipart upload that completed: the object row it made and the parts [(number, etag)] it used."""
    upload_id: str
    bucket_id: int
    key: str
    owner: str
    object_id: int
    parts: list[tuple[int, str]]
    completed: float


@dataclass
class NewVersion:
    """What a PUT, copy or multipart completion records for a key."""
    owner: str
    size: int
    etag: str
    last_modified: float
    content_type: str | None = None
    headers: dict = field(default_factory=dict)
    user_meta: dict = field(default_factory=dict)
    acl: dict | None = None
    checksums: dict = field(default_factory=dict)
    blob_id: str | None = None
    manifest: list | None = None
    part_checksums: list | None = None
    tags: dict = field(default_factory=dict)  # s3.tagging: the tag set the write gives the version


def _locked(stmt: Any, lock: bool) -> Any:
    return stmt.with_for_update() if lock else stmt


_ACCOUNT_BLOCK = "account_public_access_block"
_LIFECYCLE_RULES = "lifecycle_rules"
# The bucket owner's account block and the bucket's lifecycle rules, as correlated subqueries beside the bucket's
# row: one query (a GET and a PUT need both: the access decision and x-amz-expiration), and a locking read of
# the bucket locks no s3_account or s3_lifecycle row (PostgreSQL locks only the FROM tables; MySQL and MariaDB
# do not lock a subquery's rows unless it says FOR UPDATE itself), so PutPublicAccessBlock never waits on buckets.
_WITH_ACCOUNT_BLOCK = select(s3_bucket, select(s3_account.c.public_access_block)
                             .where(s3_account.c.owner == s3_bucket.c.owner)
                             .scalar_subquery().label(_ACCOUNT_BLOCK),
                             select(s3_lifecycle.c.rules).where(s3_lifecycle.c.bucket_id == s3_bucket.c.id)
                             .scalar_subquery().label(_LIFECYCLE_RULES))
# The reads every GET and PUT makes, built once with bound parameters: SQLAlchemy then neither rebuilds the
# expression nor recomputes its cache key per call (a third of a GET's lookup on the pool, by cProfile).
_BUCKET_BY_NAME = _WITH_ACCOUNT_BLOCK.where(s3_bucket.c.name == bindparam("name"))
_BUCKET_BY_NAME_LOCKED = _BUCKET_BY_NAME.with_for_update()
_LATEST = select(s3_object).where(s3_object.c.bucket_id == bindparam("bucket_id"),
                                  s3_object.c.key == bindparam("key"), s3_object.c.latest == 1)
_LATEST_LOCKED = _LATEST.with_for_update()
_VERSION = select(s3_object).where(s3_object.c.bucket_id == bindparam("bucket_id"),
                                   s3_object.c.key == bindparam("key"),
                                   s3_object.c.version_id == bindparam("version_id"))
_VERSION_LOCKED = _VERSION.with_for_update()
_INSERT_VERSION = insert(s3_object)  # every column given as a parameter (_insert_version)
# A GET's or HEAD's one read: the bucket's row as _BUCKET_BY_NAME gives it, and beside it (an outer join, all
# NULL when there is none) the key's latest version or the version named, its columns prefixed "o_".
_O = "o_"


def _bucket_and_version(by_version: bool) -> Any:
    which = s3_object.c.version_id == bindparam("version_id") if by_version else s3_object.c.latest == 1
    joined = s3_bucket.outerjoin(s3_object, and_(s3_object.c.bucket_id == s3_bucket.c.id,
                                                 s3_object.c.key == bindparam("key"), which))
    return _WITH_ACCOUNT_BLOCK.add_columns(*[c.label(_O + c.name) for c in s3_object.c]).select_from(joined) \
        .where(s3_bucket.c.name == bindparam("name"))


_BUCKET_AND_LATEST = _bucket_and_version(False)
_BUCKET_AND_VERSION = _bucket_and_version(True)


class _Prefixed:
    """The columns of ROW named PREFIX + name, by name (ObjectVersion.from_row of a joined row)."""

    def __init__(self, row: Any, prefix: str):
        self._row, self._prefix = row, prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)


class MetadataStore:
    """The queries. Stateless: one instance can serve every thread."""

    # -- buckets --------------------------------------------------------------------------------------------

    def get_bucket(self, conn: Connection, name: str, lock: bool = False) -> Bucket | None:
        """Bucket NAME with its owner's account block (the one place every access decision gets it from), or
        None. LOCK: FOR UPDATE on the bucket's row."""
        row = conn.execute(_BUCKET_BY_NAME_LOCKED if lock else _BUCKET_BY_NAME, {"name": name}).first()
        return Bucket.from_row(row) if row else None

    def insert_bucket(self, conn: Connection, name: str, owner: str, created: float, location: str | None,
                      acl: dict) -> Bucket:
        """Raises IntegrityError if the name is taken (possibly by a racing request)."""
        conn.execute(insert(s3_bucket).values(name=name, owner=owner, created=created, location=location,
                                              acl=_dumps(acl)))
        return self.get_bucket(conn, name)  # type: ignore[return-value]

    def list_buckets(self, conn: Connection, owner: str) -> list[Bucket]:
        rows = conn.execute(_WITH_ACCOUNT_BLOCK.where(s3_bucket.c.owner == owner).order_by(s3_bucket.c.name))
        return [Bucket.from_row(row) for row in rows]

    def update_bucket(self, conn: Connection, bucket_id: int, **values: Any) -> None:
        """Set ACL (dict), versioning, policy (str), cors (list or None), public_access_block (dict or None),
        ownership (str or None)."""
        for name in ("acl", "cors", "public_access_block", "object_lock"):
            if name in values:
                values[name] = _dumps(values[name])
        conn.execute(update(s3_bucket).where(s3_bucket.c.id == bucket_id).values(**values))

    def bucket_has_objects(self, conn: Connection, bucket_id: int) -> bool:
        # Any version counts, delete markers included: S3 refuses to delete a bucket that still has them.
        return conn.execute(select(s3_object.c.id).where(s3_object.c.bucket_id == bucket_id).limit(1)).first() \
            is not None

    def delete_bucket(self, conn: Connection, bucket_id: int) -> list[str]:
        """Drop an empty bucket and its unfinished multipart uploads; → the part blobs to delete."""
        uploads = [row.id for row in conn.execute(select(s3_upload.c.id).where(s3_upload.c.bucket_id == bucket_id))]
        freed: list[str] = []
        if uploads:
            freed = [row.blob_id for row in conn.execute(select(s3_part.c.blob_id)
                                                         .where(s3_part.c.upload_pk.in_(uploads)))]
            conn.execute(delete(s3_part).where(s3_part.c.upload_pk.in_(uploads)))
            conn.execute(delete(s3_upload).where(s3_upload.c.id.in_(uploads)))
        conn.execute(delete(s3_lifecycle).where(s3_lifecycle.c.bucket_id == bucket_id))  # s3.lifecycle's rules
        conn.execute(delete(s3_completed_upload).where(s3_completed_upload.c.bucket_id == bucket_id))
        conn.execute(delete(s3_bucket).where(s3_bucket.c.id == bucket_id))
        return freed

    # -- objects --------------------------------------------------------------------------------------------

    def get_object(self, conn: Connection, bucket_id: int, key: str, version_id: str | None = None,
                   lock: bool = False) -> ObjectVersion | None:
        """The latest version of KEY (maybe a delete marker), or version VERSION_ID."""
        if version_id is None:
            row = conn.execute(_LATEST_LOCKED if lock else _LATEST, {"bucket_id": bucket_id, "key": key.encode()})
        else:
            row = conn.execute(_VERSION_LOCKED if lock else _VERSION, {"bucket_id": bucket_id, "key": key.encode(),
                                                                         "version_id": version_id})
        row = row.first()
        return ObjectVersion.from_row(row) if row else None

    def get_bucket_and_object(self, conn: Connection, name: str, key: str, version_id: str | None = None
                              ) -> tuple[Bucket | None, ObjectVersion | None]:
        """get_bucket(NAME) and get_object(its id, KEY, VERSION_ID) in one query (no locks): a read's lookup."""
        params = {"name": name, "key": key.encode()}
        if version_id is not None:
            params["version_id"] = version_id
        row = conn.execute(_BUCKET_AND_VERSION if version_id is not None else _BUCKET_AND_LATEST, params).first()
        if row is None:
            return None, None
        found = _Prefixed(row, _O)
        return Bucket.from_row(row), (ObjectVersion.from_row(found) if found.id is not None else None)

    def _insert_version(self, conn: Connection, bucket_id: int, key: str, version_id: str, new: NewVersion,
                        delete_marker: bool = False) -> ObjectVersion:
        """Insert the row; → the version as a read of it would give (its JSON columns decoded from the very
        text stored, its id the one the insert returned): no SELECT after the INSERT."""
        values = dict(
            bucket_id=bucket_id, key=key.encode(), version_id=version_id, latest=1, delete_marker=delete_marker,
            owner=new.owner, size=new.size, etag=new.etag, last_modified=new.last_modified,
            content_type=new.content_type, headers=_dumps(new.headers or None),
            user_meta=_dumps(new.user_meta or None), acl=_dumps(new.acl), checksums=_dumps(new.checksums or None),
            blob_id=new.blob_id, manifest=_dumps(new.manifest), part_checksums=_dumps(new.part_checksums),
            tags=_dumps(new.tags or None))
        result = conn.execute(_INSERT_VERSION, values)
        key_of = result.inserted_primary_key
        if not key_of or key_of[0] is None:  # a driver that cannot tell: read it back
            return self.get_object(conn, bucket_id, key, version_id)  # type: ignore[return-value]
        values["id"], values["object_lock"] = key_of[0], None  # a lock is recorded after (s3.object_lock)
        return ObjectVersion.from_row(_Row(values))

    def _make_room(self, conn: Connection, bucket: Bucket, key: str, new_version: str,
                   check: Callable[[ObjectVersion | None], None] | None = None) -> list[str]:
        """Before a new current version: demote the current one and, when the new one is the null version,
        drop the old null version. → blob ids that no row references any more. CHECK(current) may refuse the
        write on the very rows this transaction locks (s3.conditional)."""
        current = self.get_object(conn, bucket.id, key, lock=True)
        if check is not None:
            check(current)
        freed: list[str] = []
        old_null = None
        if new_version == NULL_VERSION:
            old_null = current if current and current.version_id == NULL_VERSION else \
                self.get_object(conn, bucket.id, key, NULL_VERSION, lock=True)
            if check is not None and current is None and old_null is not None and old_null.is_latest:
                # PostgreSQL's first locked read skipped a row replaced meanwhile; this one sees its successor.
                check(old_null)
        if current is not None and current is not old_null:
            conn.execute(update(s3_object).where(s3_object.c.id == current.id).values(latest=None))
        if old_null is not None:
            conn.execute(delete(s3_object).where(s3_object.c.id == old_null.id))
            freed.extend(old_null.blob_ids)
        return freed

    def put_version(self, conn: Connection, bucket: Bucket, key: str, new: NewVersion,
                    check: Callable[[ObjectVersion | None], None] | None = None) -> tuple[ObjectVersion, list[str]]:
        """Make NEW the current version of KEY, atomically; → (the version, blob ids now unreferenced).

        Unversioned and Suspended buckets replace the null version; Enabled ones add a version. CHECK
        (current version or None) runs on the locked current version first and may raise to refuse."""
        version_id = new_version_id() if bucket.versioning == "Enabled" else NULL_VERSION
        freed = self._make_room(conn, bucket, key, version_id, check)
        return self._insert_version(conn, bucket.id, key, version_id, new), freed

    def delete_object(self, conn: Connection, bucket: Bucket, key: str, version_id: str | None, owner: str,
                      now: float) -> tuple[ObjectVersion | None, bool, list[str]]:
        """DELETE semantics; → (the version removed or the delete marker created, whether the result is a
        delete marker, blob ids now unreferenced)."""
        if version_id is not None:
            target = self.get_object(conn, bucket.id, key, version_id, lock=True)
            if target is None:
                return None, False, []
            conn.execute(delete(s3_object).where(s3_object.c.id == target.id))
            if target.is_latest:
                self._promote(conn, bucket.id, key)
            return target, target.delete_marker, target.blob_ids
        if bucket.versioning is None:
            current = self.get_object(conn, bucket.id, key, lock=True)
            if current is None:
                return None, False, []
            conn.execute(delete(s3_object).where(s3_object.c.id == current.id))
            return current, False, current.blob_ids
        marker_version = new_version_id() if bucket.versioning == "Enabled" else NULL_VERSION
        freed = self._make_room(conn, bucket, key, marker_version)
        marker = self._insert_version(conn, bucket.id, key, marker_version,
                                      NewVersion(owner=owner, size=0, etag="", last_modified=now),
                                      delete_marker=True)
        return marker, True, freed

    def _promote(self, conn: Connection, bucket_id: int, key: str) -> None:
        # The newest remaining version becomes current; row ids grow with time, so the highest id is newest.
        newest = conn.execute(select(func.max(s3_object.c.id)).where(
            s3_object.c.bucket_id == bucket_id, s3_object.c.key == key.encode())).scalar()
        if newest is not None:
            conn.execute(update(s3_object).where(s3_object.c.id == newest).values(latest=1))

    def list_latest(self, conn: Connection, bucket_id: int, after: bytes | None, below: bytes | None,
                    limit: int, inclusive: bool = False) -> list[ObjectVersion]:
        """Current, non-deleted versions with AFTER < key (<= if INCLUSIVE) < BELOW, in key byte order."""
        stmt = select(s3_object).where(s3_object.c.bucket_id == bucket_id, s3_object.c.latest == 1,
                                       s3_object.c.delete_marker == False)  # noqa: E712
        if after is not None:
            stmt = stmt.where(s3_object.c.key >= after if inclusive else s3_object.c.key > after)
        if below is not None:
            stmt = stmt.where(s3_object.c.key < below)
        rows = conn.execute(stmt.order_by(s3_object.c.key).limit(limit))
        return [ObjectVersion.from_row(row) for row in rows]

    def list_versions(self, conn: Connection, bucket_id: int, after_key: bytes | None, after_id: int | None,
                      below: bytes | None, limit: int, inclusive: bool = False) -> list[ObjectVersion]:
        """All versions (delete markers too) in (key ascending, newest first) order, starting after
        (AFTER_KEY, AFTER_ID): the versions of AFTER_KEY older than AFTER_ID, then later keys."""
        stmt = select(s3_object).where(s3_object.c.bucket_id == bucket_id)
        if after_key is not None:
            if after_id is not None:
                stmt = stmt.where(or_(s3_object.c.key > after_key,
                                      and_(s3_object.c.key == after_key, s3_object.c.id < after_id)))
            else:
                stmt = stmt.where(s3_object.c.key >= after_key if inclusive else s3_object.c.key > after_key)
        if below is not None:
            stmt = stmt.where(s3_object.c.key < below)
        rows = conn.execute(stmt.order_by(s3_object.c.key, s3_object.c.id.desc()).limit(limit))
        return [ObjectVersion.from_row(row) for row in rows]

    def set_object_acl(self, conn: Connection, object_id: int, acl: dict) -> None:
        conn.execute(update(s3_object).where(s3_object.c.id == object_id).values(acl=_dumps(acl)))

    # -- multipart uploads ----------------------------------------------------------------------------------

    def create_upload(self, conn: Connection, bucket_id: int, key: str, owner: str, initiated: float,
                      content_type: str | None, headers: dict, user_meta: dict, acl: dict | None,
                      checksum_algorithm: str | None, checksum_type: str | None = None) -> Upload:
        upload_id = opaque_token(32)
        conn.execute(insert(s3_upload).values(
            upload_id=upload_id, bucket_id=bucket_id, key=key.encode(), owner=owner, initiated=initiated,
            content_type=content_type, headers=_dumps(headers or None), user_meta=_dumps(user_meta or None),
            acl=_dumps(acl), checksum_algorithm=checksum_algorithm, checksum_type=checksum_type))
        return self.get_upload(conn, upload_id)  # type: ignore[return-value]

    def get_upload(self, conn: Connection, upload_id: str, lock: bool = False) -> Upload | None:
        row = conn.execute(_locked(select(s3_upload).where(s3_upload.c.upload_id == upload_id), lock)).first()
        return Upload.from_row(row) if row else None

    def put_part(self, conn: Connection, upload: Upload, part: Part) -> list[str]:
        """Record PART, replacing an earlier upload of the same number; → blob ids now unreferenced."""
        old = conn.execute(select(s3_part).where(s3_part.c.upload_pk == upload.id,
                                                 s3_part.c.part_number == part.part_number)
                           .with_for_update()).first()
        values = dict(size=part.size, etag=part.etag, last_modified=part.last_modified, blob_id=part.blob_id,
                      checksums=_dumps(part.checksums or None))
        if old is None:
            conn.execute(insert(s3_part).values(upload_pk=upload.id, part_number=part.part_number, **values))
            return []
        conn.execute(update(s3_part).where(s3_part.c.id == old.id).values(**values))
        return [old.blob_id]

    def list_parts(self, conn: Connection, upload_pk: int, after: int = 0, limit: int | None = None) -> list[Part]:
        stmt = select(s3_part).where(s3_part.c.upload_pk == upload_pk, s3_part.c.part_number > after) \
            .order_by(s3_part.c.part_number)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [Part.from_row(row) for row in conn.execute(stmt)]

    def list_uploads(self, conn: Connection, bucket_id: int, after_key: bytes | None, after_id: int | None,
                     below: bytes | None, limit: int, inclusive: bool = False) -> list[Upload]:
        """Uploads in (key, initiation) order, after (AFTER_KEY, upload row AFTER_ID)."""
        stmt = select(s3_upload).where(s3_upload.c.bucket_id == bucket_id)
        if after_key is not None:
            if after_id is not None:
                stmt = stmt.where(or_(s3_upload.c.key > after_key,
                                      and_(s3_upload.c.key == after_key, s3_upload.c.id > after_id)))
            else:
                stmt = stmt.where(s3_upload.c.key >= after_key if inclusive else s3_upload.c.key > after_key)
        if below is not None:
            stmt = stmt.where(s3_upload.c.key < below)
        rows = conn.execute(stmt.order_by(s3_upload.c.key, s3_upload.c.id).limit(limit))
        return [Upload.from_row(row) for row in rows]

    def delete_upload(self, conn: Connection, upload: Upload, keep: Iterable[str] = ()) -> list[str]:
        """Drop an upload and its parts; → their blob ids except those in KEEP (now owned by an object)."""
        kept = set(keep)
        blobs = [row.blob_id for row in conn.execute(select(s3_part.c.blob_id)
                                                     .where(s3_part.c.upload_pk == upload.id))]
        conn.execute(delete(s3_part).where(s3_part.c.upload_pk == upload.id))
        conn.execute(delete(s3_upload).where(s3_upload.c.id == upload.id))
        return [blob_id for blob_id in blobs if blob_id not in kept]

    def remember_completed(self, conn: Connection, upload: Upload, version: ObjectVersion,
                           parts: Sequence[tuple[int, str]], keep: float) -> None:
        """Record that UPLOAD completed into VERSION with PARTS [(number, etag)] (a retried Complete answers
        from it), at VERSION's last_modified (which tells that row from a later one given its id); rows older
        than KEEP seconds go at the same time."""
        now = version.last_modified
        conn.execute(delete(s3_completed_upload).where(s3_completed_upload.c.completed < now - keep))
        conn.execute(insert(s3_completed_upload).values(
            upload_id=upload.upload_id, bucket_id=upload.bucket_id, key=upload.key.encode(), owner=upload.owner,
            object_id=version.id, parts=json.dumps([[number, etag] for number, etag in parts]), completed=now))

    def completed_upload(self, conn: Connection, upload_id: str) -> CompletedUpload | None:
        row = conn.execute(select(s3_completed_upload).where(s3_completed_upload.c.upload_id == upload_id)).first()
        if row is None:
            return None
        return CompletedUpload(row.upload_id, row.bucket_id, _key(row.key), row.owner, row.object_id,
                               [(number, etag) for number, etag in json.loads(row.parts)], row.completed)

    def get_version_row(self, conn: Connection, object_id: int) -> ObjectVersion | None:
        row = conn.execute(select(s3_object).where(s3_object.c.id == object_id)).first()
        return ObjectVersion.from_row(row) if row else None

    # -- housekeeping ---------------------------------------------------------------------------------------

    def referenced_blobs(self, conn: Connection) -> set[str]:
        """Every blob id some row points at (object versions, manifests, parts): cleanup keeps these."""
        found: set[str] = set()
        for blob_id, manifest in conn.execute(select(s3_object.c.blob_id, s3_object.c.manifest)):
            if blob_id:
                found.add(blob_id)
            if manifest:
                found.update(entry[0] for entry in json.loads(manifest))
        found.update(row.blob_id for row in conn.execute(select(s3_part.c.blob_id)))
        return found


def blob_ids_of(versions: Sequence[ObjectVersion]) -> list[str]:
    return [blob_id for version in versions for blob_id in version.blob_ids]
