"""The simulator's listings of live rows cost what the live rows cost, however many removed rows a kind has:
removed rows stay (CloudStack resolves removed uuids), and after 1,200 Run+Terminate cycles the VM kind held
1,250 rows for 53 live ones, every listing reading all of them. Every shape of Ctx.find's query that leaves the
removed rows out must be an index range on `removed` in SQLite's plan (the embedded default's database), and
answer the same as before."""
from __future__ import annotations

import itertools
import sqlite3
from typing import Any

import pytest
from sqlalchemy.dialects import sqlite

from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from ec2soap.cloudstack.simulator.context import Ctx, _find_query
from tests.conftest import make_store

SHAPES = [(by_account, by_name, by_text) for by_account, by_name, by_text in
          itertools.product([False, True], repeat=3)]


@pytest.mark.parametrize("by_account,by_name,by_text", SHAPES)
def test_every_live_rows_query_is_an_index_range_on_removed(tmp_path: Any, by_account: bool, by_name: bool,
                                                            by_text: bool) -> None:
    url = f"sqlite:///{tmp_path}/sim.db"
    make_store(url).close()  # the schema as the migrations make it
    statement = _find_query(by_account, by_name, False, by_text).statement
    compiled = statement.compile(dialect=sqlite.dialect())
    args = [{"kind": "vm", "account_id": "a", "name": "n", "pattern": "%x%"}[name] for name in compiled.positiontup]
    with sqlite3.connect(f"{tmp_path}/sim.db") as db:
        plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + str(compiled), args))
    assert "USING INDEX" in plan and "removed=?" in plan, plan


def test_listings_skip_many_removed_rows_and_answer_the_live_ones(tmp_path: Any) -> None:
    store = make_store(f"sqlite:///{tmp_path}/sim.db")
    sim = Simulator(store, SimulatorConfig())
    try:
        def work(conn: Any) -> tuple[list, list, list]:
            ctx = Ctx(sim, conn, None, "test", 1000.0)  # type: ignore[arg-type]
            live = []
            for n in range(600):
                doc = ctx.insert("probe", {"n": n, "name": f"p{n % 7}"}, account_id=f"a{n % 2}")
                if n % 12:
                    ctx.remove("probe", doc["id"])
                else:
                    live.append(doc)
            one = live[1]["id"]
            return (live, ctx.find("probe"), ctx.find("probe", account_id="a0", contains=one,
                                                      where=lambda d: d["id"] == one))
        live, found, by_account = store.run_sync(work)
        assert found == live and len(found) == 50 and all(d["n"] % 12 == 0 for d in found)
        assert by_account == [live[1]]
    finally:
        store.close()
