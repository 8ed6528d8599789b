"""Sources: the channels, feeds and lists Dalel watches, and how their checks went."""
from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from .clock import utcnow
from .errors import NotFound, StoreError
from .records import Source, from_row

if TYPE_CHECKING:
    from .db import Store


class Repository:
    """One part of the archive's tables, reached through a `Store`'s connection."""

    def __init__(self, store: Store):
        self.store = store


class Sources(Repository):
    def add(self, url: str, kind: str, feed_url: str | None, name: str | None,
                   every_s: int | None, since: str | None = None, last_n: int | None = None) -> Source:
        try:
            with self.store.transaction() as conn:
                conn.execute(
                    "INSERT INTO sources (url, kind, feed_url, name, every_s, created_at, since, last_n, cutoff)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (url, kind, feed_url, name, every_s, utcnow(), since, last_n, since))
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"{url} is already watched; see `dalel channel list`") from exc
        return self.get(url)

    def all(self) -> list[Source]:
        return [from_row(Source, r) for r in self.store.rows("SELECT * FROM sources ORDER BY id")]

    def by_pk(self, pk: int) -> Source:
        """The source with this row id (a job's), never one whose name or URL reads the same."""
        rows = self.store.rows("SELECT * FROM sources WHERE id = ?", (pk,))
        if not rows:
            raise NotFound(f"no channel with row id {pk}")
        return from_row(Source, rows[0])

    def get(self, id_or_url: str | int) -> Source:
        key = str(id_or_url)
        rows = self.store.rows("SELECT * FROM sources WHERE url = ? OR CAST(id AS TEXT) = ?"
                          " OR feed_url = ? OR name = ?", (key, key, key, key))
        if not rows:
            raise NotFound(f"no channel {key!r}; see `dalel channel list`")
        return from_row(Source, rows[0])

    def remove(self, id_or_url: str | int) -> Source:
        source = self.get(id_or_url)
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM sources WHERE id = ?", (source.id,))
        return source

    def record_check(self, source_id: int, *, error: str | None,
                     etag: str | None = None, last_modified: str | None = None,
                     name: str | None = None, not_before: str | None = None) -> None:
        """Record a check of a source; `not_before` holds further checks back (Retry-After)."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE sources SET last_checked = ?, last_error = ?, not_before = ?,"
                " etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),"
                " name = COALESCE(name, ?) WHERE id = ?",
                (utcnow(), error, not_before, etag, last_modified, name, source_id))

    def mark_reconciled(self, source_id: int) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE sources SET last_reconciled = ? WHERE id = ?", (utcnow(), source_id))


    def set_paused(self, id_or_url: str | int, paused: bool) -> Source:
        source = self.get(id_or_url)
        with self.store.transaction() as conn:
            conn.execute("UPDATE sources SET paused = ? WHERE id = ?", (int(paused), source.id))
        return self.get(source.id)

    def set_cutoff(self, source_id: int, cutoff: str | None) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE sources SET cutoff = ? WHERE id = ?", (cutoff, source_id))
