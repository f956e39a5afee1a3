"""S3 object and bucket tagging.

Revision ID: 0006_s3_tagging
Revises: 0005_volumes
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0006_s3_tagging"
down_revision = "0005_volumes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
