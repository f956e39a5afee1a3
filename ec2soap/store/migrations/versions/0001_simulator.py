"""CloudStack simulator state: objects, async jobs, counters.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cs_object",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("removed", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cs_object"),
        sa.UniqueConstraint("uuid", name="uq_cs_object_uuid"),
    )
    op.create_index("ix_cs_object_kind_account_id", "cs_object", ["kind", "account_id"])
    op.create_table(
        "cs_job",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("command", sa.String(64), nullable=False),
        sa.Column("cmd", sa.String(255), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("result_code", sa.Integer, nullable=False),
        sa.Column("result", sa.Text, nullable=True),
        sa.Column("instance_type", sa.String(32), nullable=True),
        sa.Column("instance_id", sa.String(36), nullable=True),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("due", sa.Float, nullable=False),
        sa.Column("completed", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_cs_job"),
        sa.UniqueConstraint("uuid", name="uq_cs_job_uuid"),
    )
    op.create_index("ix_cs_job_status_due", "cs_job", ["status", "due"])
    op.create_table(
        "cs_counter",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_cs_counter"),
    )


def downgrade() -> None:
    op.drop_table("cs_counter")
    op.drop_index("ix_cs_job_status_due", table_name="cs_job")
    op.drop_table("cs_job")
    op.drop_index("ix_cs_object_kind_account_id", table_name="cs_object")
    op.drop_table("cs_object")
