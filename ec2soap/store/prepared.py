"""Prepared: a hot statement compiled by SQLAlchemy once, run on SQLite straight through the DBAPI cursor.

`conn.execute(statement, params)` costs about 68 µs per statement in SQLAlchemy's execution machinery (the
compiled-cache lookup, an ExecutionContext, parameter processing, a CursorResult) against 6 µs for the same
SQL through sqlite3's cursor (measured on this project's machine, 2026-12-03); the simulator runs about 60 of
them per Run+Terminate cycle. A Prepared statement is compiled once per dialect with SQLAlchemy, so the SQL is
still SQLAlchemy's; on SQLite, when no bound or result value needs a type conversion, it runs in the
connection's own transaction through the DBAPI connection under it. Anywhere else (PostgreSQL, MySQL, a type
that converts) it is plain `conn.execute`.

The result answers what the callers use: first(), scalar(), fetchall(), iteration and rowcount; rows are named
tuples (attribute access by column name, as SQLAlchemy's Row).

`savepoint(conn)` is `conn.begin_nested()` made as cheap on SQLite: SAVEPOINT and RELEASE (ROLLBACK TO on an
error) sent straight to the DBAPI connection, 9 to 16 µs of CPU against 130 µs for SQLAlchemy's NestedTransaction
(measured 2026-12-04; a Run+Terminate cycle takes about six).
"""
from __future__ import annotations

import collections
import contextlib
import itertools
import threading
from typing import Any, Iterator, Mapping, Optional

from sqlalchemy.engine import Connection

__all__ = ["Prepared", "savepoint"]

_SAVEPOINTS = itertools.count(1)  # names, unique per process and so on every connection


class _Plan:
    __slots__ = ("sql", "order", "fixed", "convert", "row_type")

    def __init__(self, sql: str, order: tuple[str, ...], fixed: dict[str, Any], convert: Any, row_type: Any):
        # ORDER: the bound names in SQL order; FIXED: the values the statement itself binds (status == 0);
        # CONVERT: per bound name, the dialect's bind processor (SQLite's Double: float()) or None.
        self.sql, self.order, self.fixed, self.convert, self.row_type = sql, order, fixed, convert, row_type


class _Result:
    """The part of CursorResult the callers use, over a sqlite3 cursor."""
    __slots__ = ("_cursor", "rowcount")

    def __init__(self, cursor: Any):
        self._cursor = cursor
        self.rowcount = cursor.rowcount

    def first(self) -> Any:
        row = self._cursor.fetchone()
        self._cursor.close()
        return row

    def scalar(self) -> Any:
        row = self.first()
        return None if row is None else row[0]

    def fetchall(self) -> list:
        rows = self._cursor.fetchall()
        self._cursor.close()
        return rows

    def __iter__(self) -> Iterator:
        return iter(self.fetchall())


class Prepared:
    """STATEMENT (with bindparams; an INSERT gets its column set from the first parameters it is given),
    run by `prepared(conn, params)`."""

    def __init__(self, statement: Any):
        self.statement = statement
        self._plans: dict[Any, Optional[_Plan]] = {}
        self._lock = threading.Lock()

    def __call__(self, conn: Connection, params: Optional[Mapping[str, Any]] = None) -> Any:
        if conn.dialect.name != "sqlite":
            return conn.execute(self.statement, params)
        key = tuple(sorted(params)) if params else ()
        plan = self._plans.get(key, False)
        if plan is False:
            plan = self._plan(conn, key)
        if plan is None:  # a conversion SQLAlchemy must do
            return conn.execute(self.statement, params)
        given = ({**plan.fixed, **params} if params else plan.fixed) if plan.fixed else params
        if plan.convert is None:
            args = tuple(given[name] for name in plan.order) if plan.order else ()  # type: ignore[index]
        else:
            args = tuple(given[name] if convert is None or given[name] is None else convert(given[name])
                         for name, convert in zip(plan.order, plan.convert))  # type: ignore[index]
        cursor = conn.connection.driver_connection.cursor()
        if plan.row_type is not None:
            row_type = plan.row_type
            cursor.row_factory = lambda _cursor, row: row_type._make(row)
        cursor.execute(plan.sql, args)
        return _Result(cursor)

    def _plan(self, conn: Connection, key: tuple[str, ...]) -> Optional[_Plan]:
        dialect = conn.dialect
        compiled = self.statement.compile(dialect=dialect, column_keys=list(key) or None)
        plan: Optional[_Plan] = None
        columns = getattr(compiled, "_result_columns", None) or []
        # A value read back that SQLAlchemy would convert, or a column default it computes in Python: its way.
        converts = any(col[3].result_processor(dialect, None) is not None for col in columns) or bool(
            getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None))
        order = tuple(compiled.positiontup or ())
        fixed = {name: compiled.binds[name].value for name in order if name not in key}
        if any(compiled.binds[name].required for name in fixed):
            converts = True  # a parameter the caller did not give: SQLAlchemy's error
        processors = compiled._bind_processors or {}
        convert = tuple(processors.get(name) for name in order) if any(
            processors.get(name) for name in order) else None
        if not converts and dialect.paramstyle == "qmark":
            row_type = collections.namedtuple("Row", [col[0] for col in columns], rename=True) \
                if columns else None
            plan = _Plan(str(compiled), order, fixed, convert, row_type)
        with self._lock:
            self._plans[key] = plan
        return plan


@contextlib.contextmanager
def savepoint(conn: Connection) -> Iterator[None]:
    """A savepoint in CONN's transaction: what the block did is undone when it raises (the exception goes on),
    kept otherwise. CONN must be in a transaction (Store.run's)."""
    if conn.dialect.name != "sqlite":
        with conn.begin_nested():
            yield
        return
    name = f"ec2soap_{next(_SAVEPOINTS)}"
    raw = conn.connection.driver_connection
    raw.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        # An error SQLite answers by rolling the whole transaction back (a full disk, an I/O error) has taken
        # the savepoint with it: nothing left to undo, and the transaction's own end reports it.
        if raw.in_transaction:
            raw.execute(f"ROLLBACK TO {name}")
            raw.execute(f"RELEASE {name}")
        raise
    raw.execute(f"RELEASE {name}")
