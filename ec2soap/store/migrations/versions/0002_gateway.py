"""Gateway state: credentials and certificates, EC2 id map, offering map.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ec2_credential",
        sa.Column("access_key", sa.String(255), nullable=False),
        sa.Column("secret_enc", sa.Text, nullable=False),
        sa.Column("cert_unique_id", sa.String(768), nullable=True),
        sa.Column("cert_pem", sa.Text, nullable=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("access_key", name="pk_ec2_credential"),
    )
    op.create_index("ix_ec2_credential_cert_unique_id", "ec2_credential", ["cert_unique_id"])
    op.create_table(
        "ec2_id",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ec2_id", sa.String(32), nullable=False),
        sa.Column("cs_id", sa.String(64), nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ec2_id"),
        sa.UniqueConstraint("ec2_id", name="uq_ec2_id_ec2_id"),
        sa.UniqueConstraint("kind", "cs_id", name="uq_ec2_id_kind_cs_id"),
    )
    op.create_table(
        "offering_map",
        sa.Column("ec2_type", sa.String(64), nullable=False),
        sa.Column("cs_offering", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("ec2_type", name="pk_offering_map"),
    )


def downgrade() -> None:
    op.drop_table("offering_map")
    op.drop_table("ec2_id")
    op.drop_index("ix_ec2_credential_cert_unique_id", table_name="ec2_credential")
    op.drop_table("ec2_credential")
