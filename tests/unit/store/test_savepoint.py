"""store.prepared.savepoint keeps what a block did when it ends and undoes it, and only it, when it raises, on
every database: random trees of nested blocks, each inserting rows, some failing on a duplicate key (the
IntegrityError the callers catch) or on an error of their own, compared after the commit with a model of what
must remain. On SQLite it must not be SQLAlchemy's NestedTransaction (the point of it)."""
from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.exc import IntegrityError

from ec2soap.store.prepared import savepoint
from ec2soap.store.tables import cs_object
from tests.conftest import make_store


class _Failed(Exception):
    pass


def _row(uuid: str) -> dict:
    return {"uuid": uuid, "kind": "probe", "name": None, "account_id": None, "data": "{}", "created": 1.0}


@pytest.mark.parametrize("seed", range(4))
def test_nested_savepoints_keep_and_undo_as_a_model_says(any_store_url: str, seed: int) -> None:
    rng = random.Random(seed)
    store = make_store(any_store_url)
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_rest: statements.append(statement))
    counter = iter(range(10 ** 6))

    def block(conn: Any, depth: int, kept: set[str]) -> None:
        """Inserts rows and runs nested blocks; raises (after its work) one time in three. KEPT: the rows that
        must survive if this block does."""
        mine: set[str] = set()
        for _ in range(rng.randint(1, 3)):
            uuid = f"u{seed}-{next(counter)}"
            conn.execute(insert(cs_object).values(**_row(uuid)))
            mine.add(uuid)
            if depth < 3 and rng.random() < 0.5:
                try:
                    with savepoint(conn):
                        block(conn, depth + 1, mine)
                except (_Failed, IntegrityError):
                    pass
        fate = rng.random()
        if fate < 0.17:
            raise _Failed()
        if fate < 0.34:
            conn.execute(insert(cs_object).values(**_row(rng.choice(sorted(mine)))))  # a duplicate uuid
        kept |= mine

    try:
        def work(conn: Any) -> set[str]:
            kept: set[str] = set()
            for _ in range(12):
                try:
                    with savepoint(conn):
                        block(conn, 0, kept)
                except (_Failed, IntegrityError):
                    pass
            conn.execute(insert(cs_object).values(**_row(f"u{seed}-outer")))  # the transaction goes on
            kept.add(f"u{seed}-outer")
            return kept

        kept = store.run_sync(work)
        stored = set(store.run_sync(lambda conn: list(conn.execute(
            select(cs_object.c.uuid).where(cs_object.c.kind == "probe")).scalars())))
        assert stored == kept
        assert len(kept) > 12  # some blocks were kept, and (below) some undone
        assert next(counter) > len(kept)
        if store.is_sqlite:
            assert not [s for s in statements if "sa_savepoint" in s.lower()]
        else:
            assert [s for s in statements if "SAVEPOINT" in s.upper()]
    finally:
        store.close()


def test_an_error_that_ends_the_transaction_is_not_hidden(tmp_path: Any) -> None:
    store = make_store(f"sqlite:///{tmp_path}/sp.db")
    try:
        def work(conn: Any) -> None:
            with savepoint(conn):
                conn.exec_driver_sql("ROLLBACK")  # as SQLite does itself on a full disk or an I/O error
                raise _Failed()

        with pytest.raises(_Failed):
            store.run_sync(work)
    finally:
        store.close()
