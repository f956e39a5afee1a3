"""The read of an account's terminated records: index searches in SQLite's plan (the embedded default's
database), never a scan of every record the account kept for the retention, and the same records, oldest first,
as a plain filter over all of them."""
from __future__ import annotations

import random
import sqlite3
from typing import Any

import pytest
from sqlalchemy.dialects import sqlite

from ec2soap.store import Store
from ec2soap.store.instance_records import _record_sync, _terminated_queries, _terminated_sync

NOW = 1_800_000_000.0
HOUR = 3600.0


@pytest.mark.parametrize("cs_ids", [[], ["vm-1"], ["vm-1", "vm-2", "vm-3"]])
def test_the_plan_is_index_searches_only(tmp_path: Any, cs_ids: list[str]) -> None:
    store = Store(f"sqlite:///{tmp_path}/records.db", threads=1)
    store.migrate()
    store.close()
    steps = []
    for query in _terminated_queries("acct", NOW - HOUR, cs_ids):
        if query is None:
            continue
        compiled = query.compile(dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params()
        with sqlite3.connect(f"{tmp_path}/records.db") as db:
            steps += [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + str(compiled),
                                                   [params[name] for name in compiled.positiontup])]
    reads = [step for step in steps if step.startswith(("SCAN", "SEARCH"))]
    assert reads and all(step.startswith("SEARCH") for step in reads), steps
    # One search of the account's recent records; the named ones by their key, not the account's index.
    assert sum("(account=? AND terminated>?)" in step for step in reads) == 1, steps
    assert sum("(cs_id=?)" in step for step in reads) == (1 if cs_ids else 0), steps
    assert len(reads) == (2 if cs_ids else 1), steps


def test_answers_are_a_plain_filter_over_every_record(tmp_path: Any) -> None:
    store = Store(f"sqlite:///{tmp_path}/records.db", threads=1)
    store.migrate()
    try:
        rng = random.Random(14)
        kept: list[tuple[str, str, float]] = []  # (account, cs_id, terminated)
        for n in range(200):
            account, at = rng.choice(["acct", "other"]), NOW - rng.uniform(0, 30 * 24 * HOUR)
            store.run_sync(_record_sync, account, [(f"vm-{n}", f"i-{n}", "{}")], at)
            kept.append((account, f"vm-{n}", at))
        for _ in range(200):
            account = rng.choice(["acct", "other"])
            since = rng.choice([NOW - rng.uniform(0, 40 * 24 * HOUR), 2.0 ** 62])
            named = [f"vm-{rng.randrange(220)}" for _ in range(rng.randint(0, 5))]  # some never recorded
            got = [(r.cs_id, r.terminated) for r in store.run_sync(_terminated_sync, account, since, named,
                                                                    readonly=True)]
            want = sorted(((cs_id, at) for who, cs_id, at in kept
                           if who == account and (at >= since or cs_id in named)), key=lambda pair: pair[1])
            assert got == want, (account, since, named)
    finally:
        store.close()
