"""S3 object lock (retention, legal hold, bucket default) and conditional writes.

Revision ID: 0009_s3_object_lock
Revises: 0008_s3_access
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0009_s3_object_lock"
down_revision = "0008_s3_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
