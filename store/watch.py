"""Saved searches (watches) and the alerts they raise on newly indexed transcripts."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from .clock import utcnow
from .db import Store
from .errors import NotFound, StoreError
from .query import parse
from .search import Hit


@dataclass(frozen=True)
class Watch:
    id: int
    query: str
    created_at: str


def add_watch(store: Store, query: str) -> Watch:
    parse(query)  # a malformed query is refused now, not at every check
    try:
        with store.transaction() as conn:
            cur = conn.execute("INSERT INTO watches (query, created_at) VALUES (?, ?) RETURNING id",
                               (query, utcnow()))
            pk = int(cur.fetchone()[0])
    except sqlite3.IntegrityError as exc:
        raise StoreError(f"already watching {query!r}; see `dalel watch list`") from exc
    return Watch(pk, query, utcnow())


def list_watches(store: Store) -> list[Watch]:
    return [Watch(*r) for r in store.conn.execute(
        "SELECT id, query, created_at FROM watches ORDER BY id")]


def remove_watch(store: Store, watch_id: str) -> Watch:
    rows = store.conn.execute("SELECT id, query, created_at FROM watches WHERE CAST(id AS TEXT) = ?",
                              (str(watch_id),)).fetchall()
    if not rows:
        raise NotFound(f"no watch {watch_id!r}; see `dalel watch list`")
    with store.transaction() as conn:
        conn.execute("DELETE FROM watches WHERE id = ?", (rows[0][0],))
    return Watch(*rows[0])


def record_alerts(store: Store, watch: Watch, hits: list[Hit]) -> list[dict[str, Any]]:
    """Store the hits as alerts of a watch; returns the new ones (a hit alerts once)."""
    new = []
    with store.transaction() as conn:
        for h in hits:
            row = conn.execute(
                "INSERT INTO alerts (watch, segment, video_id, start, \"end\", text, source,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
                (watch.id, h.segment_id, h.video_id, h.start, h.end, h.text, h.source, utcnow())).fetchone()
            if row:
                new.append({"id": row[0], "watch": watch.id, "query": watch.query,
                            "video_id": h.video_id, "title": h.title, "start": h.start,
                            "end": h.end, "text": h.text, "source": h.source, "url": h.url})
    return new


def alerts(store: Store, limit: int = 100, unacknowledged: bool = False) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT a.id, a.watch, w.query, a.video_id, a.start, a.end, a.text, a.source,"
        " a.created_at, a.delivered_at, a.acknowledged_at FROM alerts a JOIN watches w ON w.id = a.watch"
        + (" WHERE a.acknowledged_at IS NULL" if unacknowledged else "") + " ORDER BY a.id DESC LIMIT ?",
        (limit,))


def acknowledge(store: Store, alert_ids: list[int]) -> int:
    """Mark alerts as seen; returns how many were not yet."""
    with store.transaction() as conn:
        return sum(conn.execute("UPDATE alerts SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL",
                                (utcnow(), i)).rowcount for i in alert_ids)


def mark_delivered(store: Store, alert_ids: list[int]) -> None:
    with store.transaction() as conn:
        conn.executemany("UPDATE alerts SET delivered_at = ? WHERE id = ?",
                         [(utcnow(), i) for i in alert_ids])
