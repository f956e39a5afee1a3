"""S3 public access block, object ownership controls (browser POST uploads).

Revision ID: 0008_s3_access
Revises: 0007_s3_lifecycle
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008_s3_access"
down_revision = "0007_s3_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
