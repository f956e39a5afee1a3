"""S3 account-level settings: s3_account, one row per account that has set its S3 Control PublicAccessBlock
(JSON of the four flags), keyed by the account's canonical id (the owner s3_bucket stores).

Revision ID: 0013_s3_account
Revises: 0012_ec2_objects
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_s3_account"
down_revision = "0012_ec2_objects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "s3_account",
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("public_access_block", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("owner", name="pk_s3_account"),
    )


def downgrade() -> None:
    op.drop_table("s3_account")
