"""Every table, once. Alembic revisions under migrations/versions/ create them; a test checks they agree."""
from __future__ import annotations

from sqlalchemy import (BigInteger, Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint)

__all__ = ["metadata", "cs_object", "cs_job", "cs_counter", "ec2_credential", "ec2_id", "offering_map"]

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
})

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
    Column("created", Float, nullable=False),
    Column("removed", Float, nullable=True),
    UniqueConstraint("uuid"),
    Index(None, "kind", "account_id"),
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
    Column("created", Float, nullable=False),
    Column("due", Float, nullable=False),
    Column("completed", Float, nullable=True),
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
    Column("created", Float, nullable=False),
    Index(None, "cert_unique_id"),
)

# EC2 ids (i-0123456789abcdef0) ↔ CloudStack uuids, minted the first time a resource is seen.
ec2_id = Table(
    "ec2_id", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("ec2_id", String(32), nullable=False),
    Column("cs_id", String(64), nullable=False),
    Column("created", Float, nullable=False),
    UniqueConstraint("ec2_id"),
    UniqueConstraint("kind", "cs_id"),
)

# Admin mapping EC2 instance type → CloudStack compute offering (name or uuid); takes precedence over names.
offering_map = Table(
    "offering_map", metadata,
    Column("ec2_type", String(64), primary_key=True),
    Column("cs_offering", String(255), nullable=False),
)
