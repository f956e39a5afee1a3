"""S3 multipart uploads remembered after CompleteMultipartUpload: s3_completed_upload, one row per upload that
completed, keyed by its upload id, naming the object row it made (s3_object.id, no foreign key: the version may
be deleted since), its initiator, the parts list it completed with (JSON [[number, etag], ...]) and when. A
retried Complete answers from it while that row is there (s3.multipart); rows older than a day are dropped.

Revision ID: 0014_s3_completed_upload
Revises: 0013_s3_account
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import VARBINARY

revision = "0014_s3_completed_upload"
down_revision = "0013_s3_account"
branch_labels = None
depends_on = None

KEY = sa.LargeBinary().with_variant(VARBINARY(1024), "mysql", "mariadb")
ROW_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "s3_completed_upload",
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("bucket_id", sa.Integer, nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("object_id", ROW_ID, nullable=False),
        sa.Column("parts", sa.Text, nullable=False),
        sa.Column("completed", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("upload_id", name="pk_s3_completed_upload"),
        sa.ForeignKeyConstraint(["bucket_id"], ["s3_bucket.id"], name="fk_s3_completed_upload_bucket_id"),
    )
    op.create_index("ix_s3_completed_upload_completed", "s3_completed_upload", ["completed"])


def downgrade() -> None:
    op.drop_index("ix_s3_completed_upload_completed", table_name="s3_completed_upload")
    op.drop_table("s3_completed_upload")
