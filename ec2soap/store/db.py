"""Engine, migrations and the bounded thread pool that keeps SQL off the reactor thread.

No Twisted resource code here; `Store.run` is the only door from the reactor to the database.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable, TypeVar

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

__all__ = ["Store", "StoreError", "open_engine", "migrate", "schema_revision"]

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
READONLY = "ec2soap_readonly"


class StoreError(RuntimeError):
    """The database cannot be used (unreachable, wrong schema); the message says what to do."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: the WAL is fsynced at every commit, so an answered write (an S3 object's row, a key pair, an id)
    # survives a power loss or an OS crash; under NORMAL a committed transaction could roll back after one.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """BEGIN IMMEDIATE: take SQLite's write lock when the transaction starts. The sqlite3 module would only
    begin at the first write, so a read-check-write sequence (a uniqueness check, a counter) could interleave
    with another thread's and both would act on the same stale read. Read-only transactions (Store.run with
    readonly=True) begin deferred and, in WAL mode, run beside the writer."""
    if conn.get_execution_options().get(READONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_engine(url: str, pool_size: int = 8) -> Engine:
    """An engine for URL. SQLite files get WAL and a busy timeout so several processes can share one."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # No pool: Store keeps one connection per thread for a file (Store._kept_connection), and a connection
        # opened for anything else (migrations, a nested run_sync) is closed after use.
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, poolclass=NullPool)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "pool_size": pool_size, "max_overflow": pool_size}
    if parsed.get_backend_name() in ("mysql", "mariadb"):
        kwargs["isolation_level"] = "READ COMMITTED"
        kwargs["pool_recycle"] = 3600
    return create_engine(url, **kwargs)


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to REVISION (Alembic). Safe to run on every start and from several processes."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


def schema_revision(engine: Engine) -> str | None:
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head()  # type: ignore[arg-type]


class Store:
    """A database and the thread pool that runs all work on it.

    `run(fn, *args)` calls fn(connection, *args) inside a transaction on a pool thread and returns a Deferred
    (or runs inline with `run_sync`, for command-line tools and the pool threads themselves)."""

    def __init__(self, url: str, threads: int = 8, *, reactor: Any = None, name: str = "ec2soap-db"):
        self.url = url
        self.engine = open_engine(url, pool_size=threads)
        self.dialect = self.engine.dialect.name
        self._reactor = reactor
        self._threads = threads
        self._name = name
        self._pool: Any = None
        self._sqlite_writer = threading.RLock()
        # SQLite file: each thread that runs transactions keeps its own connection (thread id → _Kept) and begins
        # and ends them on it. Checking a connection out of a pool and back in for every transaction (rolling
        # back on return, the pool's bookkeeping) was 11 % of the reactor-and-pool CPU of a Run+Terminate cycle
        # (py-spy), more than the transactions' own SQL; SQLite connections are local files and never go
        # stale, so they need no pool. PostgreSQL and MariaDB keep theirs (pre-ping, recycling).
        self._kept: dict[int, _Kept] | None = {} if self._kept_file(url) else None
        self._kept_lock = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def migrate(self) -> None:
        migrate(self.engine)

    def check_schema(self) -> None:
        """Refuse to serve on a database whose schema is behind this version (`ec2soap db upgrade` fixes it)."""
        current, head = schema_revision(self.engine), head_revision()
        if current != head:
            raise StoreError(f"database schema is at {current or 'nothing'}, this version needs {head}: "
                             f"run 'ec2soap db upgrade'")

    def has_tables(self) -> bool:
        return bool(inspect(self.engine).get_table_names())

    def run_sync(self, fn: Callable[..., T], *args: Any, readonly: bool = False, **kwargs: Any) -> T:
        """fn(connection, *args) in one transaction. readonly=True promises no writes: on SQLite it then
        neither waits for nor blocks the writer."""
        if self.is_sqlite and not readonly:
            # One writer at a time inside this process, handed over in order; SQLite's own busy handler
            # (which polls with sleeps of up to 100 ms) is then only met by other processes.
            with self._sqlite_writer:
                return self._transaction(fn, args, kwargs, readonly)
        return self._transaction(fn, args, kwargs, readonly)

    def _transaction(self, fn: Callable[..., T], args: Any, kwargs: Any, readonly: bool) -> T:
        kept = self._kept_connection()
        if kept is None:
            with self.engine.connect() as conn:
                if readonly:
                    conn = conn.execution_options(**{READONLY: True})
                with conn.begin():
                    return fn(conn, *args, **kwargs)
        conn = kept.conn
        conn.execution_options(**{READONLY: readonly})  # in place (SQLAlchemy 2): _sqlite_begin reads it
        kept.busy = True
        try:
            with conn.begin():
                return fn(conn, *args, **kwargs)
        finally:
            kept.busy = False

    @staticmethod
    def _kept_file(url: str) -> bool:
        parsed = make_url(url)
        return parsed.get_backend_name() == "sqlite" and (parsed.database or "") not in ("", ":memory:")

    def _kept_connection(self) -> _Kept | None:
        """This thread's own connection, opened on its first transaction; None when there is none to keep
        (not an SQLite file) or it is in use further up this thread's stack (fn ran run_sync again: that
        transaction gets a connection of its own, as from a pool)."""
        if self._kept is None:
            return None
        ident = threading.get_ident()
        kept = self._kept.get(ident)
        if kept is not None and not kept.conn.closed and not kept.conn.invalidated:
            return None if kept.busy else kept
        conn = self.engine.connect()
        with self._kept_lock:
            if kept is not None:
                kept.conn.close()
            # A thread that ended leaves its connection behind: closed here, when another thread first comes.
            alive = {thread.ident for thread in threading.enumerate()}
            for gone in [key for key in self._kept if key not in alive]:
                self._kept.pop(gone).conn.close()
            kept = self._kept[ident] = _Kept(conn)
        return kept

    def _thread_pool(self) -> Any:
        if self._pool is None:
            from twisted.python.threadpool import ThreadPool

            reactor = self._get_reactor()
            self._pool = ThreadPool(minthreads=1, maxthreads=self._threads, name=self._name)
            self._pool.start()
            reactor.addSystemEventTrigger("during", "shutdown", self._pool.stop)
        return self._pool

    def _get_reactor(self) -> Any:
        if self._reactor is None:
            from twisted.internet import reactor

            self._reactor = reactor
        return self._reactor

    def defer(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Any:
        """Run fn(*args) (no connection) on the pool: for file I/O and other blocking work. → Deferred."""
        from twisted.internet.threads import deferToThreadPool

        return deferToThreadPool(self._get_reactor(), self._thread_pool(), fn, *args, **kwargs)

    def sleep(self, seconds: float) -> Any:
        """A Deferred that fires after SECONDS on the reactor: for polling without holding a pool thread."""
        from twisted.internet.task import deferLater

        return deferLater(self._get_reactor(), seconds, lambda: None)

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Any:
        """Run fn(connection, *args) in a transaction on the pool. → Deferred firing with its result."""
        return self.defer(self.run_sync, fn, *args, **kwargs)

    def close(self) -> None:
        if self._pool is not None:
            if self._pool.started:  # the reactor's shutdown trigger may have stopped it already
                self._pool.stop()
            self._pool = None
        if self._kept is not None:
            with self._kept_lock:
                kept, self._kept = list(self._kept.values()), {}
            for each in kept:
                each.conn.close()
        self.engine.dispose()


class _Kept:
    """A thread's kept connection, and whether a transaction of that thread is on it now."""
    __slots__ = ("conn", "busy")

    def __init__(self, conn: Any):
        self.conn = conn
        self.busy = False


def connection_url_for_log(url: str) -> str:
    """The URL with any password hidden, for log lines."""
    return make_url(url).render_as_string(hide_password=True)


def environ_database_url(default: str) -> str:
    return os.environ.get("EC2SOAP_DATABASE_URL", default)
