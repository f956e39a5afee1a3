"""The store on SQLite, PostgreSQL and MariaDB: migrations, schema checks, the thread pool, persistence."""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import inspect, select

from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
from ec2soap.store import Store, StoreError
from ec2soap.store.db import head_revision, schema_revision
from ec2soap.store.tables import cs_counter, metadata
from tests.conftest import cs


def test_migrations_create_every_table_and_agree_with_tables_py(any_store_url: str) -> None:
    store = Store(any_store_url, threads=2)
    with pytest.raises(StoreError, match="ec2soap db upgrade"):
        store.check_schema()
    store.migrate()
    store.check_schema()
    assert schema_revision(store.engine) == head_revision()
    inspector = inspect(store.engine)
    for table in metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
    store.migrate()  # a second run is a no-op
    store.close()


def test_downgrade_to_an_older_schema_is_refused_until_upgraded(any_store_url: str) -> None:
    from ec2soap.store.db import migrate

    store = Store(any_store_url, threads=2)
    migrate(store.engine, "0001")
    with pytest.raises(StoreError, match="at 0001"):
        store.check_schema()
    store.migrate()
    store.check_schema()
    store.close()


def test_simulator_state_survives_a_restart(any_store_url: str, reactor: Any) -> None:
    store = Store(any_store_url, threads=2, reactor=reactor)
    store.migrate()
    sim = Simulator(store, SimulatorConfig(job_seconds=0.0))
    sim.users = sim.seed()
    status, created = cs(sim, "admin", "createAccount", username="carol", password="pw", email="c@example.com",
                         firstname="Carol", lastname="Doe")
    assert status == 200, created
    store.close()

    again = Store(any_store_url, threads=2, reactor=reactor)
    sim2 = Simulator(again, SimulatorConfig(job_seconds=0.0))
    sim2.users = sim2.seed()  # idempotent: the same admin and demo users come back
    assert sim2.users["demo"]["apikey"] == sim.users["demo"]["apikey"]
    status, listed = cs(sim2, "admin", "listAccounts", name="carol")
    assert status == 200 and listed["count"] == 1
    assert listed["account"][0]["id"] == created["account"]["id"]
    again.close()


def test_counters_are_atomic_across_threads(any_store_url: str) -> None:
    """Concurrent transactions bumping one counter never hand out the same value."""
    from ec2soap.cloudstack.simulator.engine import Ctx

    store = Store(any_store_url, threads=4)
    store.migrate()
    sim = Simulator(store, SimulatorConfig())
    seen: list[int] = []
    lock = threading.Lock()

    def bump() -> None:
        for _ in range(10):
            for attempt in range(20):
                try:
                    value = store.run_sync(lambda conn: Ctx(sim, conn, None, "t", 0).next_counter("x"))  # type: ignore
                    break
                except Exception:
                    # SQLite/PostgreSQL may refuse one of two racing first inserts; CloudStack retries too.
                    time.sleep(0.01 * (attempt + 1))
            else:
                raise AssertionError("counter never succeeded")
            with lock:
                seen.append(value)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 41))
    assert store.run_sync(lambda conn: conn.execute(select(cs_counter.c.value)).scalar()) == 40
    store.close()


def test_run_uses_the_pool_not_the_reactor_thread(store: Store, in_reactor: Any) -> None:
    """A slow query holds a pool thread; the reactor keeps answering meanwhile."""
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    names: list[str] = []

    def slow(conn: Any) -> str:
        names.append(threading.current_thread().name)
        time.sleep(0.5)
        return "done"

    def scenario() -> Any:
        started = time.monotonic()
        slow_result = store.run(slow)
        ticks: list[float] = []
        for delay in (0.05, 0.1, 0.15):
            deferLater(reactor, delay, lambda: ticks.append(time.monotonic() - started))
        return slow_result.addCallback(lambda value: (value, ticks))

    value, ticks = in_reactor(scenario)
    assert value == "done"
    assert names and names[0] != "reactor"
    assert len(ticks) == 3 and max(ticks) < 0.45, ticks


def test_sqlite_commits_are_durable(tmp_path: Any) -> None:
    """WAL with synchronous=FULL on every connection: a commit is on disk before the write is answered."""
    store = Store(f"sqlite:///{tmp_path}/durable.db", threads=2)
    for _ in range(3):  # pooled connections, each set up by the connect hook
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()
