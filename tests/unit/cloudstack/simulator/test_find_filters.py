"""Ctx.find's filters and Ctx.scan read fewer rows and decode fewer documents than the whole kind, and must
answer exactly as the whole kind filtered in Python does, on every database: `contains` (a LIKE prefilter in
SQL) with needles holding LIKE's wildcards, its escape character, case variants MariaDB's LIKE confuses and
characters JSON escapes; `where` run on the shared decoded documents; `scan` sharing them. A caller changing
what find returned must change nothing another caller sees."""
from __future__ import annotations

import random
from typing import Any

import pytest

from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from ec2soap.cloudstack.simulator.engine import Ctx
from tests.conftest import make_store

NEEDLES = ["5f0c3a9e-1d2b-4c6a-9e8f-0a1b2c3d4e5f", "a%b", "a_b", "A_B", "aXb", "x/y", "x//y", "100%", "_", "%", "/",
           'q"uote', "back\\slash", "tab\there", "ünï", "Ünï", "plain", "PLAIN"]


@pytest.mark.parametrize("seed", range(2))
def test_filters_answer_as_the_whole_kind_filtered(any_store_url: str, seed: int) -> None:
    rng = random.Random(seed)
    store = make_store(any_store_url)
    sim = Simulator(store, SimulatorConfig())
    accounts = [None, "a1", "a2"]
    try:
        def work(conn: Any) -> int:
            ctx = Ctx(sim, conn, None, "test", 1000.0)  # type: ignore[arg-type]
            made = []
            for step in range(90):
                doc: dict[str, Any] = {"n": step, "note": "".join(rng.sample("abc%_/xy", 4)) + rng.choice(NEEDLES)}
                if rng.random() < 0.8:
                    doc["ref"] = rng.choice(NEEDLES)
                made.append(ctx.insert("probe", doc, account_id=rng.choice(accounts))["id"])
                if rng.random() < 0.2:
                    ctx.remove("probe", made[-1])
            compared = 0
            for needle in NEEDLES:
                for account in accounts:
                    for removed in (False, True):
                        whole = ctx.find("probe", account_id=account, removed=removed)
                        exact = [d for d in whole if d.get("ref") == needle]
                        assert ctx.find("probe", account_id=account, removed=removed, contains=needle,
                                        where=lambda d: d.get("ref") == needle) == exact, (needle, account)
                        inside = [d for d in whole if needle in d["note"]]
                        assert ctx.find("probe", account_id=account, removed=removed, contains=needle,
                                        where=lambda d: needle in d["note"]) == inside, (needle, account)
                        ids = rng.sample(made, 30)
                        among = [d for d in whole if d["id"] in ids and d.get("ref") == needle]
                        assert ctx.find("probe", account_id=account, removed=removed, ids=ids, contains=needle,
                                        where=lambda d: d.get("ref") == needle) == among
                        compared += len(exact) + len(inside) + len(among)
                    live = [d for d in ctx.find("probe", account_id=account) if d.get("ref") == needle]
                    assert ctx.scan("probe", account_id=account, contains=needle,
                                    where=lambda d: d.get("ref") == needle) == live
            # What find returns is the caller's own: changing it changes neither scan's nor a later find's.
            before = ctx.scan("probe")
            for doc in ctx.find("probe", where=lambda d: True):
                doc["ref"] = "changed"
                doc.clear()
            assert ctx.scan("probe") == before == ctx.find("probe")
            assert all("changed" != d.get("ref") for d in before)
            return compared
        assert store.run_sync(work) > 0
    finally:
        store.close()
