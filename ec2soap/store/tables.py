"""Every table, once. Alembic revisions under migrations/versions/ create them; a test checks they agree."""
from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, Double, ForeignKey, Index, Integer, LargeBinary, MetaData,
                        String, Table, Text, UniqueConstraint)
from sqlalchemy.dialects.mysql import VARBINARY

__all__ = ["metadata", "cs_object", "cs_job", "cs_counter", "ec2_credential", "ec2_id", "offering_map"]

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
})

# Times are epoch seconds as 8-byte floats (Double: DOUBLE on MariaDB/MySQL, DOUBLE PRECISION on PostgreSQL,
# REAL affinity on SQLite), never a plain Float: MariaDB makes that a 4-byte FLOAT, whose 24-bit mantissa
# rounds today's epoch seconds to 128 s (migration 0011 widened the columns created before).

# The CloudStack simulator's state. Each CloudStack entity (zone, account, user, VM, volume, ...) is one row:
# its kind, its uuid, the account that owns it, and its CloudStack fields as a JSON document. Rows are kept
# after removal (removed is set) because CloudStack resolves uuids of removed entities too.
cs_object = Table(
    "cs_object", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("account_id", String(36), nullable=True),
    Column("name", String(255), nullable=True),
    Column("data", Text, nullable=False),
    Column("created", Double, nullable=False),
    Column("removed", Double, nullable=True),
    UniqueConstraint("uuid"),
    # Listings ask for live rows (removed IS NULL) of a kind, or of a kind and account: index ranges, however
    # many removed rows the kind has (migration 0015).
    Index(None, "kind", "account_id", "removed"),
    Index(None, "kind", "removed"),
)

# The simulator's async jobs. A job is finished lazily: the first request at or after `due` applies `action`.
cs_job = Table(
    "cs_job", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False),
    Column("account_id", String(36), nullable=False),
    Column("user_id", String(36), nullable=False),
    Column("command", String(64), nullable=False),
    Column("cmd", String(255), nullable=False),
    Column("status", Integer, nullable=False, default=0),
    Column("result_code", Integer, nullable=False, default=0),
    Column("result", Text, nullable=True),
    Column("instance_type", String(32), nullable=True),
    Column("instance_id", String(36), nullable=True),
    Column("action", Text, nullable=False),
    Column("created", Double, nullable=False),
    Column("due", Double, nullable=False),
    Column("completed", Double, nullable=True),
    UniqueConstraint("uuid"),
    Index(None, "status", "due"),
)

# Monotonic counters (simulator IP addresses, VM instance numbers), bumped inside the caller's transaction.
cs_counter = Table(
    "cs_counter", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# -- the gateway (EC2) -------------------------------------------------------------------------------------------

# Users known to the gateway: an access key (= CloudStack API key) and its secret, encrypted at rest, plus the
# X.509 certificate registered for SOAP (unique id = issuer + serial, as the original keyed it).
ec2_credential = Table(
    "ec2_credential", metadata,
    Column("access_key", String(255), primary_key=True),
    Column("secret_enc", Text, nullable=False),
    Column("cert_unique_id", String(768), nullable=True),
    Column("cert_pem", Text, nullable=True),
    Column("created", Double, nullable=False),
    Index(None, "cert_unique_id"),
)

# EC2 ids (i-0123456789abcdef0) ↔ CloudStack uuids, minted the first time a resource is seen.
ec2_id = Table(
    "ec2_id", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("ec2_id", String(32), nullable=False),
    Column("cs_id", String(64), nullable=False),
    Column("created", Double, nullable=False),
    UniqueConstraint("ec2_id"),
    UniqueConstraint("kind", "cs_id"),
)

# Admin mapping EC2 instance type → CloudStack compute offering (name or uuid); takes precedence over names.
offering_map = Table(
    "offering_map", metadata,
    Column("ec2_type", String(64), primary_key=True),
    Column("cs_offering", String(255), nullable=False),
)


# What the gateway keeps about an instance that CloudStack cannot: termination protection, and from
# TerminateInstances on, when it was terminated and the instance as EC2 showed it then (JSON), so it stays
# visible for an hour whatever CloudStack's settings. `account` is the owner's CloudStack account uuid.
ec2_instance = Table(
    "ec2_instance", metadata,
    Column("cs_id", String(64), primary_key=True),
    Column("instance_id", String(32), nullable=False),
    Column("account", String(64), nullable=False),
    Column("disable_api_termination", Boolean, nullable=False),
    Column("terminated", Double, nullable=True),
    Column("facts", Text, nullable=True),
    Index(None, "account", "terminated"),
)

# RunInstances ClientTokens: one row per (account, token); the unique constraint makes two gateways that see
# the same token at once agree on one launch. `instances` (JSON list of VM uuids) is NULL while launching.
ec2_client_token = Table(
    "ec2_client_token", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(64), nullable=False),
    Column("token", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("reservation_id", String(32), nullable=False),
    Column("instances", Text, nullable=True),
    Column("created", Double, nullable=False),
    UniqueConstraint("account", "token"),
)

__all__ += ["ec2_instance", "ec2_client_token"]


# -- S3 ------------------------------------------------------------------------------------------------------------

# S3 keys are stored as their UTF-8 bytes in a binary column: S3 lists keys in byte order and compares them
# exactly (case, trailing spaces), which a binary column gives on every engine without collation settings
# (MariaDB's utf8mb4 collations are case-insensitive or PAD SPACE; PostgreSQL's follow the locale). At most
# 1024 bytes, so an index on (bucket, key, ...) stays under InnoDB's 3072-byte limit without a hash column.
S3_KEY = LargeBinary().with_variant(VARBINARY(1024), "mysql", "mariadb")
# SQLite only autoincrements an INTEGER PRIMARY KEY.
S3_ROW_ID = BigInteger().with_variant(Integer, "sqlite")

s3_bucket = Table(
    "s3_bucket", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False),
    Column("owner", String(255), nullable=False),
    Column("created", Double, nullable=False),
    Column("location", String(64), nullable=True),
    Column("acl", Text, nullable=False),
    Column("versioning", String(16), nullable=True),
    Column("policy", Text, nullable=True),
    Column("cors", Text, nullable=True),
    # S3 access controls (s3/access.py): PublicAccessBlock as JSON, ObjectOwnership (None: ObjectWriter).
    Column("public_access_block", Text, nullable=True),
    Column("ownership", String(32), nullable=True),
    # S3 tagging (s3/tagging.py): the bucket's tag set as JSON, NULL without one.
    Column("tags", Text, nullable=True),
    # S3 object lock (s3/object_lock.py): the Object Lock configuration as JSON, NULL: not enabled.
    Column("object_lock", Text, nullable=True),
    UniqueConstraint("name"),
    Index(None, "owner"),
)

# One row per object version (a delete marker is a version without bytes). `latest` is 1 on the current
# version of a key and NULL on the others: the unique (bucket, key, latest) lets at most one version be
# current even when two processes race to create a key (NULLs never collide in a unique index). The bytes are
# one blob (blob_id) or, after a multipart upload, the part blobs listed in `manifest` (JSON [[id, size]...]).
s3_object = Table(
    "s3_object", metadata,
    Column("id", S3_ROW_ID, primary_key=True, autoincrement=True),
    Column("bucket_id", Integer, ForeignKey("s3_bucket.id", name="fk_s3_object_bucket_id"), nullable=False),
    Column("key", S3_KEY, nullable=False),
    Column("version_id", String(64), nullable=False),
    Column("latest", Integer, nullable=True),
    Column("delete_marker", Boolean, nullable=False),
    Column("owner", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("last_modified", Double, nullable=False),
    Column("content_type", String(1024), nullable=True),
    Column("headers", Text, nullable=True),
    Column("user_meta", Text, nullable=True),
    Column("acl", Text, nullable=True),
    Column("checksums", Text, nullable=True),
    Column("blob_id", String(32), nullable=True),
    Column("manifest", Text, nullable=True),
    # A multipart object's per-part checksums (JSON list beside manifest; migration 0010).
    Column("part_checksums", Text, nullable=True),
    # S3 tagging (s3/tagging.py): this version's tag set as JSON ({"key": "value"}), NULL without tags.
    Column("tags", Text, nullable=True),
    # S3 object lock (s3/object_lock.py): this version's retention and legal hold as JSON, NULL: none.
    Column("object_lock", Text, nullable=True),
    UniqueConstraint("bucket_id", "key", "version_id"),
    UniqueConstraint("bucket_id", "key", "latest"),
)

# Multipart uploads in progress, with what the completed object will carry.
s3_upload = Table(
    "s3_upload", metadata,
    Column("id", S3_ROW_ID, primary_key=True, autoincrement=True),
    Column("upload_id", String(64), nullable=False),
    Column("bucket_id", Integer, ForeignKey("s3_bucket.id", name="fk_s3_upload_bucket_id"), nullable=False),
    Column("key", S3_KEY, nullable=False),
    Column("owner", String(255), nullable=False),
    Column("initiated", Double, nullable=False),
    Column("content_type", String(1024), nullable=True),
    Column("headers", Text, nullable=True),
    Column("user_meta", Text, nullable=True),
    Column("acl", Text, nullable=True),
    Column("checksum_algorithm", String(16), nullable=True),
    Column("checksum_type", String(16), nullable=True),  # COMPOSITE or FULL_OBJECT (migration 0010)
    # S3 tagging: the x-amz-tagging of CreateMultipartUpload (JSON), given to the completed object.
    Column("tags", Text, nullable=True),
    # S3 object lock: the x-amz-object-lock-* of CreateMultipartUpload (JSON), given to the completed object.
    Column("object_lock", Text, nullable=True),
    UniqueConstraint("upload_id"),
    Index(None, "bucket_id", "key"),
)

s3_part = Table(
    "s3_part", metadata,
    Column("id", S3_ROW_ID, primary_key=True, autoincrement=True),
    Column("upload_pk", S3_ROW_ID, ForeignKey("s3_upload.id", name="fk_s3_part_upload_pk"), nullable=False),
    Column("part_number", Integer, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("last_modified", Double, nullable=False),
    Column("checksums", Text, nullable=True),
    Column("blob_id", String(32), nullable=False),
    UniqueConstraint("upload_pk", "part_number"),
)

# A bucket's lifecycle configuration (s3/lifecycle.py: its rules as JSON) and the sweeper's place in it
# (s3/lifecycle_sweep.py): `cursor` is the last key the current pass has swept (NULL: the next pass starts at
# the first key), `swept` when a sweep last worked on it (buckets take turns by it); every gateway process
# resumes where any of them stopped.
s3_lifecycle = Table(
    "s3_lifecycle", metadata,
    Column("bucket_id", Integer, ForeignKey("s3_bucket.id", name="fk_s3_lifecycle_bucket_id"), primary_key=True,
           autoincrement=False),
    Column("rules", Text, nullable=False),
    Column("cursor", S3_KEY, nullable=True),
    Column("swept", Double, nullable=True),
)

# Account-level S3 settings (s3/account_store.py): the S3 Control PublicAccessBlock of an account as JSON,
# keyed by the account's canonical id (what s3_bucket.owner stores), enforced with each bucket's own.
s3_account = Table(
    "s3_account", metadata,
    Column("owner", String(255), primary_key=True),
    Column("public_access_block", Text, nullable=True),
)

# Multipart uploads that completed (s3/multipart.py), so that a retried CompleteMultipartUpload answers as the
# first did while the version it made (`object_id`, an s3_object.id) is there: its initiator, the parts list
# it completed with (JSON [[number, etag], ...]) and when (rows older than a day are dropped).
s3_completed_upload = Table(
    "s3_completed_upload", metadata,
    Column("upload_id", String(64), primary_key=True),
    Column("bucket_id", Integer, ForeignKey("s3_bucket.id", name="fk_s3_completed_upload_bucket_id"),
           nullable=False),
    Column("key", S3_KEY, nullable=False),
    Column("owner", String(255), nullable=False),
    Column("object_id", S3_ROW_ID, nullable=False),
    Column("parts", Text, nullable=False),
    Column("completed", Double, nullable=False),
    Index(None, "completed"),
)

__all__ += ["s3_bucket", "s3_object", "s3_upload", "s3_part", "s3_lifecycle", "s3_account", "s3_completed_upload"]

# Snapshots of volumes CloudStack has no storage for yet (never attached: CloudStack allocates a volume's storage
# on its first attach and cannot snapshot it before). Such a volume holds only zeros, so the gateway keeps the
# snapshot itself: `cs_id` is a uuid it minted (the IdMap gives it its snap- id like any other), `size` in GiB,
# `tags` a JSON object (CloudStack cannot tag what it does not have). Gone when deleted.
ec2_zero_snapshot = Table(
    "ec2_zero_snapshot", metadata,
    Column("cs_id", String(64), primary_key=True),
    Column("account", String(64), nullable=False),
    Column("volume_cs_id", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("description", Text, nullable=True),
    Column("tags", Text, nullable=True),
    Column("created", Double, nullable=False),
    Index(None, "account"),
)

__all__ += ["ec2_zero_snapshot"]

# Tags a caller put on a resource CloudStack does not let them tag: another account's public or shared image
# (EC2 lets anyone tag an AMI they can launch; the tags are theirs alone). One row per (account, resource, key).
ec2_tag = Table(
    "ec2_tag", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(64), nullable=False),
    Column("resource_type", String(32), nullable=False),
    Column("cs_id", String(64), nullable=False),
    Column("key", String(128), nullable=False),
    Column("value", String(255), nullable=False),
    UniqueConstraint("account", "resource_type", "cs_id", "key"),
)

__all__ += ["ec2_tag"]


# EC2 objects CloudStack has no counterpart for, kept by the gateway: internet gateways (a CloudStack VPC reaches
# the internet through its virtual router), route tables and their associations, security groups of a VPC
# (4.18 tiers have no security groups). `cs_id` is a uuid minted here, so the IdMap gives each its EC2 id like
# any other resource; `vpc` the CloudStack uuid of the VPC it belongs to (NULL: none yet, e.g. a detached
# gateway); `data` the kind's own fields as JSON; `version` is bumped by every update, which names the version
# it read, so two requests changing one object cannot both win.
ec2_object = Table(
    "ec2_object", metadata,
    Column("cs_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("account", String(64), nullable=False),
    Column("vpc", String(64), nullable=True),
    Column("data", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created", Double, nullable=False),
    Index(None, "account", "kind"),
    Index(None, "vpc"),
)
