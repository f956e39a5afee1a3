"""S3 public access block, object ownership controls (browser POST uploads need no schema).

Two nullable columns on s3_bucket: public_access_block (JSON of the four PublicAccessBlock flags) and
ownership (ObjectOwnership; NULL is ObjectWriter, S3's behaviour before ownership controls existed).

Revision ID: 0008_s3_access
Revises: 0007_s3_lifecycle
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_s3_access"
down_revision = "0007_s3_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("s3_bucket", sa.Column("public_access_block", sa.Text(), nullable=True))
    op.add_column("s3_bucket", sa.Column("ownership", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("s3_bucket") as batch:
        batch.drop_column("ownership")
        batch.drop_column("public_access_block")
