"""A connection to a cluster's PostgreSQL database: transactions, rows, and `migrate()`.
psycopg is imported only here (the embedded mode needs none)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from ..errors import StoreError
from .schema import APP_ROLE_GRANTS, STEPS


class PgDatabase:
    """One connection (not shared between threads; each worker opens its own)."""

    def __init__(self, url: str, actor: str | None = None):
        try:
            import psycopg
        except ImportError as exc:
            raise StoreError("a PostgreSQL database needs psycopg: install Dalel with its cluster "
                             "extra (pip install 'dalel[cluster]')") from exc
        self.url, self.actor = url, actor
        try:
            self.conn = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {str(exc).strip().splitlines()[0]}; "
                             "check [cluster] database_url") from exc

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PgDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.conn.transaction():
            yield self.conn

    def version(self) -> int:
        """The last schema step applied (0: none). Asked without creating anything: the
        application role may not create tables (even `IF NOT EXISTS` is refused it)."""
        exists = self.conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not (exists and exists[0]):
            return 0
        row = self.conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0) if row else 0

    def migrate(self, app_role: str | None = None) -> int:
        """Create or upgrade the schema (each step in its own transaction, under an advisory
        lock so two machines never migrate at once); grant the application role its rights.
        Returns the steps applied."""
        applied = 0
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(727274)")       # "dalel" migrations
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
            start = self.version()
            for number, step in enumerate(STEPS[start:], start=start + 1):
                conn.execute(step)
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
                applied += 1
            if app_role:
                conn.execute(APP_ROLE_GRANTS.format(role=_identifier(app_role)))
        return applied


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise StoreError(f"{name!r} is not a role name")
    return f'"{name}"'
