"""The archive's database: every SQL statement of the project lives in this package.

One SQLite file in WAL mode, so a daemon writes while analysts read. Writes are
short explicit transactions; long work (downloads, transcription) happens outside
them and commits its result at the end. `Store` is the connection (transactions,
migrations, the meta table); its tables are reached through small repositories:
`store.sources` (sources.py), `store.videos` (videos.py), `store.transcripts`
(transcripts.py) and `store.index` (index.py: the search index).
"""
from __future__ import annotations

import logging
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import sqlite_utils

from . import custody
from .dialect import dialect
from .errors import StoreError
from .index import Index
from .schema import MIGRATIONS
from .sources import Sources
from .text import ANALYSER_VERSION, fold
from .transcripts import Transcripts
from .users import Users
from .videos import Videos

log = logging.getLogger("dalel.store")


class Store:
    """A connection to one archive database. Not shared between threads."""

    def __init__(self, path: Path | str, actor: str | None = None):
        self.actor = actor  # named in the custody log; None: user@host
        self.url = str(path) if str(path).startswith(("postgresql://", "postgres://")) else None
        self.path = Path(path) if self.url is None else None
        self.conn: Any = self._open_postgresql() if self.url else self._open_sqlite()
        self.dialect = dialect(self.conn)
        self.sources = Sources(self)
        self.videos = Videos(self)
        self.transcripts = Transcripts(self)
        self.index = Index(self)
        self.users = Users(self)
        if self.url is None:
            self._migrate()
        self._check_analyser()

    def _open_sqlite(self) -> sqlite3.Connection:
        assert self.path is not None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data folder {self.path.parent}: {exc.strerror or exc}; "
                             "choose a writable --data-dir") from exc
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.create_function("dalel_fold", 1, fold, deterministic=True)   # migration 11
        self.db = sqlite_utils.Database(conn)
        return conn

    def _open_postgresql(self) -> Any:
        """A connection of this process's pool for the cluster's database ([cluster] database_url;
        store/pg/conn.py). Its schema is made by `dalel migrate` (the application role may not
        create tables), so a store only checks, once per process, that it is current."""
        from .pg.conn import PgConnection, pooled

        assert self.url is not None
        return PgConnection(pooled(self.url))

    def close(self) -> None:
        self.conn.close()         # (on PostgreSQL: back to the pool)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def heads_path(self) -> Path | None:
        """The custody heads log, beside the database (store/custody.py). None on PostgreSQL:
        its custody log is append-only by trigger and by privilege, its heads anchored apart."""
        return self.path.with_name(custody.HEADS) if self.path is not None else None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        self.conn.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            custody.rolled_back(self.conn)
            raise
        self.conn.execute("COMMIT")
        if self.heads_path is None:
            custody.rolled_back(self.conn)     # (nothing to copy: see heads_path)
            return
        try:
            custody.committed(self.conn, self.heads_path)
        except OSError as exc:   # the database holds the entries; the copy is best effort
            log.warning("cannot append to %s: %s", self.heads_path, exc)

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as conn:
                for statement in script.split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(number)}")

    def _check_analyser(self) -> None:
        built = self.index.analyser()
        if built is None:
            with self.transaction() as conn:
                conn.execute("INSERT INTO meta (key, value) VALUES ('analyser', ?) ON CONFLICT DO NOTHING",
                             (ANALYSER_VERSION,))
        elif built != ANALYSER_VERSION:
            log.warning("the search index was built by analyser %s, this is %s: run `dalel reindex` "
                        "so that all word forms match", built, ANALYSER_VERSION)

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)"
                         " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        if self.dialect == "sqlite":
            return list(self.db.query(sql, tuple(params)))
        cur = self.conn.execute(sql, tuple(params))
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row)) for row in cur.fetchall()]

    def counts(self) -> dict[str, int]:
        row = self.rows(
            "SELECT count(*) AS discovered,"
            " count(*) FILTER (WHERE state IN ('archived', 'transcribed') OR archived_at IS NOT NULL) AS archived,"
            " count(*) FILTER (WHERE EXISTS (SELECT 1 FROM transcripts t WHERE t.video = videos.id"
            "                  AND t.complete AND t.source = 'asr')) AS transcribed,"
            " count(*) FILTER (WHERE state = 'failed') AS failed,"
            " count(*) FILTER (WHERE state = 'skipped') AS skipped,"
            " count(*) FILTER (WHERE removed_at IS NOT NULL) AS removed FROM videos")[0]
        return {k: int(v or 0) for k, v in row.items()}

