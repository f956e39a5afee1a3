"""S3 object and bucket tagging.

Three nullable columns holding a tag set as JSON ({"key": "value", ...}; NULL: no tags): s3_object.tags (per
version, so tags go with the version), s3_upload.tags (x-amz-tagging of CreateMultipartUpload, carried to
the completed object) and s3_bucket.tags.

Revision ID: 0006_s3_tagging
Revises: 0005_volumes
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_s3_tagging"
down_revision = "0005_volumes"
branch_labels = None
depends_on = None


_TABLES = ("s3_object", "s3_upload", "s3_bucket")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("tags", sa.Text(), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tags")
