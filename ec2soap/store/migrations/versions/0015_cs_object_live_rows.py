"""The simulator's listings read live rows only: cs_object's index (kind, account_id) becomes (kind, account_id,
removed), and (kind, removed) is added, so `kind = ? [AND account_id = ?] AND removed IS NULL` is an index range
instead of a walk over every row the kind ever had. Removed rows stay (CloudStack resolves their uuids), and a
cloud that has run for a while has many more of them than live ones: with 50 VMs standing after 1,200
Run+Terminate cycles, a listing of the VMs read 1,250 rows (1.4 ms on SQLite) to keep 53.

Revision ID: 0015_cs_object_live_rows
Revises: 0014_s3_completed_upload
"""
from alembic import op

revision = "0015_cs_object_live_rows"
down_revision = "0014_s3_completed_upload"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cs_object_kind_account_id_removed", "cs_object", ["kind", "account_id", "removed"])
    op.create_index("ix_cs_object_kind_removed", "cs_object", ["kind", "removed"])
    op.drop_index("ix_cs_object_kind_account_id", table_name="cs_object")


def downgrade() -> None:
    op.create_index("ix_cs_object_kind_account_id", "cs_object", ["kind", "account_id"])
    op.drop_index("ix_cs_object_kind_removed", table_name="cs_object")
    op.drop_index("ix_cs_object_kind_account_id_removed", table_name="cs_object")
