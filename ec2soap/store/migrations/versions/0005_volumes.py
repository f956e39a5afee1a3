"""Snapshots of never-attached volumes, which CloudStack cannot take (no storage yet) and the gateway keeps; tags
callers put on other accounts' images, which CloudStack does not let them tag.

Revision ID: 0005_volumes
Revises: 0004_lifecycle
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_volumes"
down_revision = "0004_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ec2_zero_snapshot",
        sa.Column("cs_id", sa.String(64), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("volume_cs_id", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("tags", sa.Text, nullable=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("cs_id", name="pk_ec2_zero_snapshot"),
    )
    op.create_index("ix_ec2_zero_snapshot_account", "ec2_zero_snapshot", ["account"])
    op.create_table(
        "ec2_tag",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("cs_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ec2_tag"),
        sa.UniqueConstraint("account", "resource_type", "cs_id", "key",
                            name="uq_ec2_tag_account_resource_type_cs_id_key"),
    )


def downgrade() -> None:
    op.drop_table("ec2_tag")
    op.drop_index("ix_ec2_zero_snapshot_account", table_name="ec2_zero_snapshot")
    op.drop_table("ec2_zero_snapshot")
