"""An archive's state copied from one store into another — an embedded archive's SQLite into a
cluster's PostgreSQL (`dalel cluster import`). Rows are copied as they are, their ids renumbered
in the target; the custody log is carried over entry by entry, unchanged (each entry's hash
names the video by platform and id, never by row number), and each video's chain is verified
in the target once it is there. The search index is rebuilt in the target by its own engine.
Each video moves in one transaction with everything that hangs off it, so an import cut short
resumes where it stopped: a video the target already holds is left as it is (and named)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from . import custody
from .index import index_segments
from .records import Video, from_row

if TYPE_CHECKING:
    from .db import Store

__all__ = ["copy_archive"]


def _insert(conn: Any, table: str, row: dict[str, Any], conflict: str = "") -> int | None:
    """Insert the row but its id; returns the new id (None: a conflict left the target's row)."""
    cols = [c for c in row if c != "id"]
    sql = (f"INSERT INTO {table} ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in cols)})"
           f" VALUES ({', '.join('?' * len(cols))}){conflict} RETURNING id")
    got = conn.execute(sql, [row[c] for c in cols]).fetchone()
    return got[0] if got else None


def _shared(src: Store, dst: Store) -> dict[str, dict[int, int]]:
    """Sources, watches and accounts (one transaction): those the target has (same URL, query,
    name) are kept and mapped to; returns old id → new id per table."""
    ids: dict[str, dict[int, int]] = {"sources": {}, "watches": {}, "users": {}}
    keys = {"sources": "url", "watches": "query", "users": "name"}
    with dst.transaction() as conn:
        for table, key in keys.items():
            for row in src.rows(f"SELECT * FROM {table} ORDER BY id"):
                new = _insert(conn, table, row, f" ON CONFLICT ({key}) DO NOTHING")
                if new is None:
                    new = conn.execute(f"SELECT id FROM {table} WHERE {key} = ?", (row[key],)).fetchone()[0]
                ids[table][row["id"]] = new
        for row in src.rows('SELECT * FROM user_tokens ORDER BY id'):
            _insert(conn, "user_tokens", row | {"user": ids["users"][row["user"]]}, " ON CONFLICT DO NOTHING")
        if not conn.execute("SELECT 1 FROM audit LIMIT 1").fetchone():     # once
            for row in src.rows("SELECT * FROM audit ORDER BY id"):
                _insert(conn, "audit", row)
    return ids


def _video(src: Store, conn: Any, video: dict[str, Any], ids: dict[str, dict[int, int]]) -> int:
    """One video and what hangs off it, in the caller's transaction; returns its new id."""
    old = video["id"]
    vid = _insert(conn, "videos", video | {"source_id": ids["sources"].get(video["source_id"])})
    assert vid is not None
    for table in ("video_events", "files", "custody"):
        for row in src.rows(f"SELECT * FROM {table} WHERE video = ? ORDER BY id", (old,)):
            _insert(conn, table, row | {"video": vid})
    segments: dict[int, int] = {}
    for t in src.rows("SELECT * FROM transcripts WHERE video = ? ORDER BY id", (old,)):
        tid = _insert(conn, "transcripts", t | {"video": vid, "complete": bool(t["complete"])})
        indexed = []
        for seg in src.rows("SELECT * FROM segments WHERE transcript = ? ORDER BY seq", (t["id"],)):
            sid = _insert(conn, "segments", seg | {"transcript": tid, "video": vid})
            assert sid is not None
            segments[seg["id"]] = sid
            words = src.rows("SELECT * FROM words WHERE segment = ? ORDER BY position", (seg["id"],))
            conn.executemany('INSERT INTO words (segment, position, start, "end", word, probability)'
                             " VALUES (?, ?, ?, ?, ?, ?)", [(sid, w["position"], w["start"], w["end"], w["word"],
                                                             w["probability"]) for w in words])
            indexed.append((sid, seg["text"], seg["lang"]))
        index_segments(conn, indexed, None, t["source"] != "metadata")   # the transcript at once
    for row in src.rows("SELECT a.* FROM alerts a JOIN segments s ON s.id = a.segment WHERE s.video = ?"
                        " ORDER BY a.id", (old,)):
        _insert(conn, "alerts", row | {"watch": ids["watches"][row["watch"]], "segment": segments[row["segment"]]},
                " ON CONFLICT DO NOTHING")
    return vid


def copy_archive(src: Store, dst: Store, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Copy every video of `src` that `dst` does not hold; returns {"copied": n, "kept": [video
    ids the target already held], "problems": [custody chains that do not verify in the target]}."""
    ids = _shared(src, dst)
    copied, kept, problems = 0, [], []
    for video in src.rows("SELECT * FROM videos ORDER BY id"):
        if dst.rows("SELECT 1 FROM videos WHERE platform = ? AND video_id = ?", (video["platform"], video["video_id"])):
            kept.append(video["video_id"])
            continue
        progress(f"copying {video['video_id']}")
        with dst.transaction() as conn:
            vid = _video(src, conn, video, ids)
        _, broken = custody.chain(dst, from_row(Video, dst.rows("SELECT * FROM videos WHERE id = ?", (vid,))[0]))
        problems += [f"{video['video_id']}: custody chain: {p}" for p in broken]
        copied += 1
    return {"copied": copied, "kept": kept, "problems": problems}
