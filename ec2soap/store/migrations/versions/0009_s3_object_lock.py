"""S3 object lock (retention, legal hold, bucket default) and conditional writes.

Three nullable JSON columns named object_lock (NULL: none): s3_bucket.object_lock is the bucket's Object Lock
configuration ({} when enabled without a default rule, {"rule": {"mode": ..., "days"|"years": n}} with one;
NULL: Object Lock not enabled), s3_object.object_lock a version's retention and legal hold ({"mode": ...,
"until": epoch seconds, "legal_hold": "ON"|"OFF"}, each optional) and s3_upload.object_lock what
CreateMultipartUpload's x-amz-object-lock-* headers asked for, given to the completed object. Conditional
writes need no column: they check the current version inside the write's transaction.

Revision ID: 0009_s3_object_lock
Revises: 0008_s3_access
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_s3_object_lock"
down_revision = "0008_s3_access"
branch_labels = None
depends_on = None

_TABLES = ("s3_bucket", "s3_object", "s3_upload")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("object_lock", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("object_lock")
