"""On an SQLite file each thread keeps one connection for its transactions (Store._kept_connection): a thread's
transactions share it, threads never share one, a transaction begun inside another on the same thread gets one
of its own, read-only and writing transactions still begin as they must (BEGIN / BEGIN IMMEDIATE) whatever ran
on the connection before, a thread that ended leaves no open connection behind for long, and close() closes
them all."""
from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import event, select

from ec2soap.store import Store
from ec2soap.store.tables import cs_counter


def _store(tmp_path: Any) -> tuple[Store, list[str]]:
    store = Store(f"sqlite:///{tmp_path}/kept.db", threads=2)
    store.migrate()
    begins: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_rest: begins.append(statement) if statement.startswith("BEGIN")
                 else None)
    return store, begins


def _raw(conn: Any) -> int:
    return id(conn.connection.driver_connection)


def test_each_thread_keeps_its_own_connection_and_begins_as_asked(tmp_path: Any) -> None:
    store, begins = _store(tmp_path)
    try:
        seen: dict[str, list[int]] = {}
        together = threading.Barrier(3)  # all three alive (and holding their connections) until all are done

        def work(name: str) -> None:
            for n in range(6):
                seen.setdefault(name, []).append(store.run_sync(_raw, readonly=n % 2 == 1))
            together.wait(timeout=30)

        threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(len(set(ids)) == 1 for ids in seen.values()), seen
        assert len({ids[0] for ids in seen.values()}) == 3
        # Alternating on one connection, each transaction still began as its kind needs.
        assert begins.count("BEGIN IMMEDIATE") == 9 and begins.count("BEGIN") == 9, begins
    finally:
        store.close()


def test_a_transaction_inside_another_gets_a_connection_of_its_own(tmp_path: Any) -> None:
    store, _ = _store(tmp_path)
    try:
        def outer(conn: Any) -> tuple[int, int, Any]:
            inner = store.run_sync(lambda c: (_raw(c), c.execute(select(cs_counter)).all()), readonly=True)
            return _raw(conn), inner[0], inner[1]

        mine, nested, rows = store.run_sync(outer)
        assert mine != nested and rows == []
        assert store.run_sync(_raw) == mine  # the kept one again, free now
    finally:
        store.close()


def test_ended_threads_connections_are_closed_and_close_closes_the_rest(tmp_path: Any) -> None:
    store, _ = _store(tmp_path)
    try:
        for _ in range(5):
            thread = threading.Thread(target=store.run_sync, args=(_raw,))
            thread.start()
            thread.join()
        store.run_sync(_raw)  # a new thread's first transaction closes the ended threads' connections
        assert store._kept is not None
        alive = {thread.ident for thread in threading.enumerate()}
        assert set(store._kept) <= alive
        kept = [each.conn for each in store._kept.values()]
    finally:
        store.close()
    assert kept and all(conn.closed for conn in kept)
