"""S3 additional checksums (per object and part) and object attributes.

s3_upload.checksum_type: COMPOSITE or FULL_OBJECT, chosen at CreateMultipartUpload (NULL: no checksum, or an
upload from before this revision, which was COMPOSITE). s3_object.part_checksums: for a completed multipart
object, the JSON list (in part order, beside `manifest`) of each part's checksums, which GetObjectAttributes'
ObjectParts and a GET by partNumber answer with. The object's own checksums stay in s3_object.checksums.

Revision ID: 0010_s3_checksums
Revises: 0009_s3_object_lock
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_s3_checksums"
down_revision = "0009_s3_object_lock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("s3_upload", sa.Column("checksum_type", sa.String(16), nullable=True))
    op.add_column("s3_object", sa.Column("part_checksums", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("s3_object") as batch:
        batch.drop_column("part_checksums")
    with op.batch_alter_table("s3_upload") as batch:
        batch.drop_column("checksum_type")
