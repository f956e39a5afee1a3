"""S3 additional checksums (per object and part) and object attributes.

Revision ID: 0010_s3_checksums
Revises: 0009_s3_object_lock
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0010_s3_checksums"
down_revision = "0009_s3_object_lock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
