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
from functools import lru_cache
from typing import Any, Iterable

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
