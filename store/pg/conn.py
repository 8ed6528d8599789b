"""The store's SQL on a PostgreSQL connection. The repositories write their SQL once, in the
dialect SQLite and PostgreSQL both accept (`store/dialect.py`); this adapter gives a psycopg
connection the little of sqlite3's interface they use — `execute`, `executemany`, cursors with
`fetchone`/`fetchall`/`rowcount` — and translates the one thing psycopg spells otherwise: `?`
placeholders become `%s` (and a literal `%` is doubled). numeric values come back as floats, as
SQLite's REAL do; a violated constraint is raised as `IntegrityError`, which the repositories
catch as sqlite3's."""
from __future__ import annotations

import re
import sqlite3
import threading
from functools import lru_cache
from typing import Any, Iterable

from ..errors import StoreError

__all__ = ["IntegrityError", "PgConnection", "translate"]

_EMPTY_IN = re.compile(r"\bIN\s*\(\s*\)", re.I)


class IntegrityError(sqlite3.IntegrityError):
    """A constraint PostgreSQL refused (unique, foreign key): one exception type for the
    repositories to catch, whichever engine holds the archive."""


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """`?` outside quotes → `%s`; every `%` → `%%`; `IN ()` (an empty list) → `IN (NULL)`."""
    out, quote = [], ""
    for ch in sql:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "?":
            out.append("%s")
            continue
        out.append("%%" if ch == "%" else ch)
    return _EMPTY_IN.sub("IN (NULL)", "".join(out))


_POOLS: dict[str, Any] = {}
_POOLS_LOCK = threading.Lock()


def pooled(url: str) -> Any:
    """A connection from this process's pool for `url` (made on first use, after checking the
    schema is current); a connection is checked as it is handed out, so one cut by a server
    restart is replaced, not given."""
    with _POOLS_LOCK:
        pool = _POOLS.get(url)
        if pool is None:
            from psycopg_pool import ConnectionPool

            from .db import PgDatabase
            from .schema import STEPS
            with PgDatabase(url) as db:       # (a one-line error when the server is unreachable)
                if db.version() < len(STEPS):
                    raise StoreError("the PostgreSQL schema is missing or older than this Dalel: "
                                     "run `dalel migrate`")
            pool = ConnectionPool(url, kwargs={"autocommit": True}, min_size=0, max_size=64, max_idle=60,
                                  check=ConnectionPool.check_connection, reset=_reset, open=True,
                                  name="dalel")
            _POOLS[url] = pool
    try:
        return _Borrowed(pool, pool.getconn(timeout=30))
    except Exception as exc:
        raise StoreError(f"cannot connect to PostgreSQL: {str(exc).strip().splitlines()[0]}; "
                         "check [cluster] database_url") from exc


def _reset(conn: Any) -> None:
    """A connection going back to the pool keeps no session lock (a host's download slot)."""
    conn.execute("SELECT pg_advisory_unlock_all()")


class _Borrowed:
    """A pooled connection: everything a psycopg connection does, and `close` gives it back."""

    def __init__(self, pool: Any, conn: Any):
        self._pool, self._conn = pool, conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def close(self) -> None:
        if self._conn is not None:
            self._pool.putconn(self._conn)
            self._conn = None


class PgConnection:
    dialect = "postgresql"

    def __init__(self, raw: Any):
        from psycopg.types.numeric import FloatLoader

        self.raw = raw
        raw.adapters.register_loader("numeric", FloatLoader)

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        import psycopg

        cur = self.raw.cursor()
        try:
            cur.execute(translate(sql), tuple(params))
        except psycopg.IntegrityError as exc:
            raise IntegrityError(str(exc).strip().splitlines()[0]) from exc
        return cur

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Any:
        import psycopg

        cur = self.raw.cursor()
        rows = [tuple(r) for r in rows]
        if rows:
            try:
                cur.executemany(translate(sql), rows)
            except psycopg.IntegrityError as exc:
                raise IntegrityError(str(exc).strip().splitlines()[0]) from exc
        return cur

    def close(self) -> None:
        self.raw.close()
