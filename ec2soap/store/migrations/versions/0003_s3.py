"""S3 metadata: buckets, object versions, multipart uploads and their parts.

Keys are VARBINARY(1024) on MariaDB/MySQL and BLOB/BYTEA elsewhere (exact byte order and comparison; see
tables.py); the unique (bucket, key, latest) with latest 1-or-NULL keeps one current version per key.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import VARBINARY

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KEY = sa.LargeBinary().with_variant(VARBINARY(1024), "mysql", "mariadb")
ROW_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "s3_bucket",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("location", sa.String(64), nullable=True),
        sa.Column("acl", sa.Text, nullable=False),
        sa.Column("versioning", sa.String(16), nullable=True),
        sa.Column("policy", sa.Text, nullable=True),
        sa.Column("cors", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_s3_bucket"),
        sa.UniqueConstraint("name", name="uq_s3_bucket_name"),
    )
    op.create_index("ix_s3_bucket_owner", "s3_bucket", ["owner"])
    op.create_table(
        "s3_object",
        sa.Column("id", ROW_ID, nullable=False, autoincrement=True),
        sa.Column("bucket_id", sa.Integer, nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("latest", sa.Integer, nullable=True),
        sa.Column("delete_marker", sa.Boolean, nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("last_modified", sa.Float, nullable=False),
        sa.Column("content_type", sa.String(1024), nullable=True),
        sa.Column("headers", sa.Text, nullable=True),
        sa.Column("user_meta", sa.Text, nullable=True),
        sa.Column("acl", sa.Text, nullable=True),
        sa.Column("checksums", sa.Text, nullable=True),
        sa.Column("blob_id", sa.String(32), nullable=True),
        sa.Column("manifest", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_s3_object"),
        sa.ForeignKeyConstraint(["bucket_id"], ["s3_bucket.id"], name="fk_s3_object_bucket_id"),
        sa.UniqueConstraint("bucket_id", "key", "version_id", name="uq_s3_object_bucket_id_key_version_id"),
        sa.UniqueConstraint("bucket_id", "key", "latest", name="uq_s3_object_bucket_id_key_latest"),
    )
    op.create_table(
        "s3_upload",
        sa.Column("id", ROW_ID, nullable=False, autoincrement=True),
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("bucket_id", sa.Integer, nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("initiated", sa.Float, nullable=False),
        sa.Column("content_type", sa.String(1024), nullable=True),
        sa.Column("headers", sa.Text, nullable=True),
        sa.Column("user_meta", sa.Text, nullable=True),
        sa.Column("acl", sa.Text, nullable=True),
        sa.Column("checksum_algorithm", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_s3_upload"),
        sa.ForeignKeyConstraint(["bucket_id"], ["s3_bucket.id"], name="fk_s3_upload_bucket_id"),
        sa.UniqueConstraint("upload_id", name="uq_s3_upload_upload_id"),
    )
    op.create_index("ix_s3_upload_bucket_id_key", "s3_upload", ["bucket_id", "key"])
    op.create_table(
        "s3_part",
        sa.Column("id", ROW_ID, nullable=False, autoincrement=True),
        sa.Column("upload_pk", ROW_ID, nullable=False),
        sa.Column("part_number", sa.Integer, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("last_modified", sa.Float, nullable=False),
        sa.Column("checksums", sa.Text, nullable=True),
        sa.Column("blob_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_s3_part"),
        sa.ForeignKeyConstraint(["upload_pk"], ["s3_upload.id"], name="fk_s3_part_upload_pk"),
        sa.UniqueConstraint("upload_pk", "part_number", name="uq_s3_part_upload_pk_part_number"),
    )


def downgrade() -> None:
    op.drop_table("s3_part")
    op.drop_index("ix_s3_upload_bucket_id_key", table_name="s3_upload")
    op.drop_table("s3_upload")
    op.drop_table("s3_object")
    op.drop_index("ix_s3_bucket_owner", table_name="s3_bucket")
    op.drop_table("s3_bucket")
