"""S3 bucket lifecycle configuration and its sweeper's state: s3_lifecycle, one row per bucket with a
lifecycle configuration (its rules as JSON, the key the sweep has reached, when a pass last finished).

Revision ID: 0007_s3_lifecycle
Revises: 0006_s3_tagging
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import VARBINARY

revision = "0007_s3_lifecycle"
down_revision = "0006_s3_tagging"
branch_labels = None
depends_on = None

KEY = sa.LargeBinary().with_variant(VARBINARY(1024), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "s3_lifecycle",
        sa.Column("bucket_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("rules", sa.Text, nullable=False),
        sa.Column("cursor", KEY, nullable=True),
        sa.Column("swept", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("bucket_id", name="pk_s3_lifecycle"),
        sa.ForeignKeyConstraint(["bucket_id"], ["s3_bucket.id"], name="fk_s3_lifecycle_bucket_id"),
    )


def downgrade() -> None:
    op.drop_table("s3_lifecycle")
