"""Every time column becomes an 8-byte float.

Revisions 0001-0007 declared the times (epoch seconds) as a plain Float, which MariaDB and MySQL create as a
4-byte FLOAT: its 24-bit mantissa rounds today's epoch seconds to multiples of 128, so a simulator job fell due
up to two minutes late and every S3 and EC2 time was off by as much. PostgreSQL made them DOUBLE PRECISION and
SQLite stores every REAL in 8 bytes already, so only MariaDB/MySQL change here: each column is widened to
DOUBLE in place, keeping its rows (the values already rounded stay as they were; what is written from now on
keeps its sub-second part). The list is frozen here rather than read from tables.py, as a revision must not
change when the tables do.

Revision ID: 0011_double_times
Revises: 0010_s3_checksums
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_double_times"
down_revision = "0010_s3_checksums"
branch_labels = None
depends_on = None

# (table, column, nullable) of every Float column revisions 0001-0010 created.
TIME_COLUMNS = (
    ("cs_object", "created", False),
    ("cs_object", "removed", True),
    ("cs_job", "created", False),
    ("cs_job", "due", False),
    ("cs_job", "completed", True),
    ("ec2_credential", "created", False),
    ("ec2_id", "created", False),
    ("ec2_instance", "terminated", True),
    ("ec2_client_token", "created", False),
    ("s3_bucket", "created", False),
    ("s3_object", "last_modified", False),
    ("s3_upload", "initiated", False),
    ("s3_part", "last_modified", False),
    ("s3_lifecycle", "swept", True),
    ("ec2_zero_snapshot", "created", False),
)


def _is_mysql() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if not _is_mysql():
        return
    for table, column, nullable in TIME_COLUMNS:
        # MySQL's MODIFY restates the whole column, so its nullability must be given or it would be lost.
        op.alter_column(table, column, type_=sa.Double(), existing_type=sa.Float(), existing_nullable=nullable)


def downgrade() -> None:
    if not _is_mysql():
        return
    for table, column, nullable in TIME_COLUMNS:
        op.alter_column(table, column, type_=sa.Float(), existing_type=sa.Double(), existing_nullable=nullable)
