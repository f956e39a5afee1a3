"""S3 bucket lifecycle configuration and its sweeper's state.

Revision ID: 0007_s3_lifecycle
Revises: 0006_s3_tagging
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007_s3_lifecycle"
down_revision = "0006_s3_tagging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
