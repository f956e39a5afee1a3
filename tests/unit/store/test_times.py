"""Times survive the store on every engine: each float column of tables.py keeps a sub-second epoch time as
written, on a schema built by the migrations (MariaDB once rounded them to 128 s in a 4-byte FLOAT)."""
from __future__ import annotations

import struct
import time
from typing import Any

from alembic import command
from sqlalchemy import Boolean, Float, Integer, LargeBinary, String, Text, inspect, insert, select

from ec2soap.store import Store
from ec2soap.store.db import _alembic_config, migrate
from ec2soap.store.tables import cs_job, metadata


def _float_columns() -> list[Any]:
    return [c for t in metadata.sorted_tables for c in t.columns if isinstance(c.type, Float)]


def _filler(column: Any, parents: dict[str, Any]) -> Any:
    """Some value the column accepts; a foreign key names the row put in its parent table."""
    if column.foreign_keys:
        (fk,) = column.foreign_keys
        return parents[fk.column.table.name]
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, LargeBinary):
        return b"key"
    if isinstance(kind, (String, Text)):
        return "x"
    raise AssertionError(f"no filler for {column.table.name}.{column.name} ({kind!r}): extend this test")


def test_every_float_column_keeps_a_sub_second_time(any_store_url: str) -> None:
    store = Store(any_store_url, threads=2)
    store.migrate()
    columns = _float_columns()
    names = {(c.table.name, c.name) for c in columns}
    # Not vacuous: the times the simulator, EC2 and S3 depend on are all among them.
    assert {("cs_job", "due"), ("cs_object", "created"), ("s3_object", "last_modified"),
            ("ec2_instance", "terminated"), ("s3_lifecycle", "swept")} <= names, names
    # Every one a different sub-second time of today (FLOAT rounds these to 128 s) and one far ahead.
    now = time.time()
    written = {name: now + i * 0.001 + 0.000123 for i, name in enumerate(sorted(names))}
    written[("cs_job", "completed")] = 4102444800.987654  # 2100-01-01, a deadline far off

    def put_and_read(conn: Any) -> dict[tuple[str, str], float]:
        parents: dict[str, Any] = {}
        for table in metadata.sorted_tables:
            row = {}
            for column in table.columns:
                if (table.name, column.name) in written:
                    row[column.name] = written[(table.name, column.name)]
                elif not (column.primary_key and column.autoincrement is True):
                    row[column.name] = _filler(column, parents)
            result = conn.execute(insert(table).values(**row))
            parents[table.name] = result.inserted_primary_key[0]
        read = {}
        for table in metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, Float):
                    read[(table.name, column.name)] = conn.execute(select(column)).scalar_one()
        return read

    try:
        read = store.run_sync(put_and_read)
        wrong = {name: (written[name], read[name]) for name in names if abs(read[name] - written[name]) > 1e-6}
        assert not wrong, wrong
        assert all(type(value) is float for value in read.values()), read
        # The widened columns kept their nullability (MariaDB's MODIFY restates it).
        inspector = inspect(store.engine)
        for column in columns:
            reflected = {c["name"]: c for c in inspector.get_columns(column.table.name)}[column.name]
            assert reflected["nullable"] == column.nullable, (column.table.name, column.name)
    finally:
        store.close()


def test_0011_widens_the_times_in_place_keeping_rows(any_store_url: str) -> None:
    """A job written before 0011 keeps its due time (on MariaDB already rounded: 0011 cannot bring back what
    FLOAT lost), one written after it keeps the sub-second; downgrading and upgrading again keep the rows."""
    store = Store(any_store_url, threads=2)
    migrate(store.engine, "0010_s3_checksums")
    job = {"account_id": "a", "user_id": "u", "command": "deployVirtualMachine", "cmd": "c", "action": "{}"}

    def add(conn: Any, uuid: str, due: float) -> None:
        conn.execute(insert(cs_job).values(uuid=uuid, created=due, due=due, **job))

    def dues(conn: Any) -> dict[str, float]:
        return dict(conn.execute(select(cs_job.c.uuid, cs_job.c.due)).all())

    try:
        store.run_sync(add, "old", 1764647115.5)
        migrate(store.engine)
        # What the column held before: MariaDB's FLOAT is IEEE single precision (and reading it back before
        # 0011 was worse still: its text protocol sends a FLOAT with 6 significant digits, 1.76465e9).
        held = struct.unpack("f", struct.pack("f", 1764647115.5))[0] if store.dialect == "mysql" else 1764647115.5
        before = {"old": held}
        assert store.run_sync(dues) == before
        store.run_sync(add, "new", 1764647115.5)
        assert store.run_sync(dues)["new"] == 1764647115.5
        command.downgrade(_alembic_config(store.engine), "0010_s3_checksums")
        assert set(store.run_sync(dues)) == {"old", "new"}
        migrate(store.engine)
        assert store.run_sync(dues)["old"] == before["old"]
    finally:
        store.close()
