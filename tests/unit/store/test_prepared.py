"""store.prepared.Prepared answers exactly as conn.execute does, on every database: random rows written and read
back through the statement shapes the simulator prepares (selects with bound and fixed values, an aggregate, an
insert given its column set, updates with their rowcount, NULLs, integers given for Double columns), each result
compared with SQLAlchemy's own over the same transaction. On SQLite the prepared path must actually be taken."""
from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import bindparam, func, insert, select, update

from ec2soap.store.prepared import Prepared
from ec2soap.store.tables import cs_job, cs_object
from tests.conftest import make_store

_BY_KIND = select(cs_object.c.id, cs_object.c.uuid, cs_object.c.data, cs_object.c.removed, cs_object.c.created).where(
    cs_object.c.kind == bindparam("kind"), cs_object.c.removed.is_(None)).order_by(cs_object.c.id)
_BY_UUID = select(cs_object.c.id, cs_object.c.account_id, cs_object.c.data, cs_object.c.removed).where(
    cs_object.c.uuid == bindparam("uuid"), cs_object.c.kind == bindparam("kind"))
_REMOVE = update(cs_object).where(cs_object.c.uuid == bindparam("b_uuid")).values(removed=bindparam("b_removed"))
_FIRST_DUE = select(func.min(cs_job.c.due)).where(cs_job.c.status == 0)
_DUE = select(cs_job).where(cs_job.c.status == 0, cs_job.c.due <= bindparam("b_now")).order_by(cs_job.c.due,
                                                                                                cs_job.c.id)
_FINISH = update(cs_job).where(cs_job.c.id == bindparam("b_id")).values(status=bindparam("b_status"))


def _rows(result: Any) -> list[tuple]:
    return [tuple(row) for row in result]


@pytest.mark.parametrize("seed", range(3))
def test_prepared_answers_as_sqlalchemy(any_store_url: str, seed: int) -> None:
    rng = random.Random(seed)
    store = make_store(any_store_url)
    prepared = {name: Prepared(statement) for name, statement in [
        ("by_kind", _BY_KIND), ("by_uuid", _BY_UUID), ("remove", _REMOVE), ("first_due", _FIRST_DUE),
        ("due", _DUE), ("finish", _FINISH), ("insert_object", insert(cs_object)), ("insert_job", insert(cs_job))]}
    try:
        def work(conn: Any) -> int:
            uuids: list[str] = []
            compared = 0
            for step in range(120):
                choice = rng.choice(["object", "object", "job", "remove", "finish", "read", "read"])
                if choice == "object":
                    uuid = f"u-{seed}-{step}"
                    row = {"uuid": uuid, "kind": rng.choice(["vm", "volume"]), "name": rng.choice([None, "n"]),
                           "account_id": rng.choice([None, "a1", "a2"]), "data": '{"k": %d}' % step,
                           "created": rng.choice([step, step + 0.5])}  # an int for a Double column too
                    inserted = prepared["insert_object"](conn, row)
                    if store.is_sqlite:  # PostgreSQL's INSERT .. RETURNING id reports no rowcount to SQLAlchemy
                        assert inserted.rowcount == 1
                    uuids.append(uuid)
                elif choice == "job":
                    prepared["insert_job"](conn, dict(
                        uuid=f"j-{seed}-{step}", account_id="a1", user_id="u1", command="c", cmd="C", status=0,
                        result_code=0, result=None, instance_type=None, instance_id=rng.choice([None, "vm"]),
                        action="{}", created=float(step), due=step + rng.random(), completed=None))
                elif choice == "remove" and uuids:
                    count = prepared["remove"](conn, {"b_uuid": rng.choice(uuids + ["none"]), "b_removed": step})
                    assert count.rowcount in (0, 1)
                elif choice == "finish":
                    due = prepared["due"](conn, {"b_now": step}).fetchall()
                    assert _rows(due) == _rows(conn.execute(_DUE, {"b_now": step}))
                    for job in due[:2]:
                        assert prepared["finish"](conn, {"b_id": job.id, "b_status": 1}).rowcount == 1
                else:
                    kind = rng.choice(["vm", "volume"])
                    assert _rows(prepared["by_kind"](conn, {"kind": kind})) == _rows(
                        conn.execute(_BY_KIND, {"kind": kind}))
                    uuid = rng.choice(uuids + ["none"])
                    mine = prepared["by_uuid"](conn, {"uuid": uuid, "kind": kind}).first()
                    theirs = conn.execute(_BY_UUID, {"uuid": uuid, "kind": kind}).first()
                    assert (mine is None) == (theirs is None) and (mine is None or (
                        tuple(mine) == tuple(theirs) and mine.data == theirs.data and mine.removed == theirs.removed))
                    assert prepared["first_due"](conn).scalar() == conn.execute(_FIRST_DUE).scalar()
                    compared += 1
            return compared
        assert store.run_sync(work) > 10
        if store.is_sqlite:  # the prepared path, not conn.execute, answered
            assert all(plan is not None for p in prepared.values() for plan in p._plans.values())
            assert all(p._plans for p in prepared.values())
    finally:
        store.close()
