"""Instance life cycle facts CloudStack cannot keep: termination protection, terminated instances as EC2 shows
them for an hour after TerminateInstances, and RunInstances ClientTokens (unique per account: a race between
two gateways ends with one launch).

Revision ID: 0004_lifecycle
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_lifecycle"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ec2_instance",
        sa.Column("cs_id", sa.String(64), nullable=False),
        sa.Column("instance_id", sa.String(32), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("disable_api_termination", sa.Boolean, nullable=False),
        sa.Column("terminated", sa.Float, nullable=True),
        sa.Column("facts", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("cs_id", name="pk_ec2_instance"),
    )
    op.create_index("ix_ec2_instance_account_terminated", "ec2_instance", ["account", "terminated"])
    op.create_table(
        "ec2_client_token",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("reservation_id", sa.String(32), nullable=False),
        sa.Column("instances", sa.Text, nullable=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ec2_client_token"),
        sa.UniqueConstraint("account", "token", name="uq_ec2_client_token_account_token"),
    )


def downgrade() -> None:
    op.drop_table("ec2_client_token")
    op.drop_index("ix_ec2_instance_account_terminated", table_name="ec2_instance")
    op.drop_table("ec2_instance")
