"""EC2 objects the gateway keeps itself (internet gateways, route tables, VPC security groups): ec2_object.

Revision ID: 0012_ec2_objects
Revises: 0011_double_times
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_ec2_objects"
down_revision = "0011_double_times"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ec2_object",
        sa.Column("cs_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("vpc", sa.String(64), nullable=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("cs_id", name="pk_ec2_object"),
    )
    op.create_index("ix_ec2_object_account_kind", "ec2_object", ["account", "kind"])
    op.create_index("ix_ec2_object_vpc", "ec2_object", ["vpc"])


def downgrade() -> None:
    op.drop_index("ix_ec2_object_vpc", table_name="ec2_object")
    op.drop_index("ix_ec2_object_account_kind", table_name="ec2_object")
    op.drop_table("ec2_object")
