"""The chain of custody: an append-only, hash-chained log of what happened to each video.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own
fields in canonical JSON, so editing, removing or reordering any entry breaks
every hash after it. Triggers refuse UPDATE and DELETE; the chain check catches
edits made around them (another tool, a copied database).
"""
from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .clock import utcnow

if TYPE_CHECKING:  # db.py appends entries through this module
    from .db import Store
    from .records import Video

GENESIS = "0" * 64
HEADS = "custody-heads.log"   # beside the database: each entry's video, seq and hash, appended

# Head lines of entries appended in a transaction not yet committed, by connection: they
# are written to the heads log after COMMIT (Store.transaction), never for a rollback.
_pending: dict[int, list[str]] = {}


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    actor: str
    event: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


def default_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def digest(prev_hash: str, video_key: str, seq: int, at: str, actor: str, event: str,
            details: str) -> str:
    body = json.dumps([video_key, seq, at, actor, event, details], ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _key(video: "Video") -> str:
    return f"{video.platform}:{video.video_id}"


def append(conn: sqlite3.Connection, video: "Video", event: str, details: dict[str, Any],
           actor: str | None = None) -> str:
    """Append an entry inside the caller's transaction; returns its hash. On PostgreSQL, under a
    per-video lock held to the transaction's end: two workers never write one sequence number."""
    if getattr(conn, "dialect", "sqlite") == "postgresql":
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('custody'), ?)", (video.id % 2**31,))
    last = conn.execute("SELECT seq, hash FROM custody WHERE video = ? ORDER BY seq DESC LIMIT 1",
                        (video.id,)).fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at, actor = utcnow(), actor or default_actor()
    text = json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    hashed = digest(prev, _key(video), seq, at, actor, event, text)
    conn.execute("INSERT INTO custody (video, seq, at, actor, event, details, prev_hash, hash)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (video.id, seq, at, actor, event, text, prev, hashed))
    _pending.setdefault(id(conn), []).append(f"{_key(video)}\t{seq}\t{hashed}\t{at}\n")
    return hashed


def committed(conn: sqlite3.Connection, heads: Path) -> None:
    """After COMMIT: append the heads of the entries just committed to the heads log — a copy
    of each chain's head outside the database, so a chain cut short or recomputed in the
    database is detected (`check_heads`)."""
    lines = _pending.pop(id(conn), None)
    if lines:
        with open(heads, "a", encoding="utf-8") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())


def rolled_back(conn: sqlite3.Connection) -> None:
    _pending.pop(id(conn), None)


def last_heads(heads: Path | None) -> dict[str, tuple[int, str]]:
    """The last (seq, hash) the heads log holds for each video key (none without a log)."""
    out: dict[str, tuple[int, str]] = {}
    if heads is not None and heads.is_file():
        with open(heads, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 3 and parts[1].isdigit():
                    seq = int(parts[1])
                    if seq >= out.get(parts[0], (0, ""))[0]:
                        out[parts[0]] = (seq, parts[2])
    return out


def all_heads(store: "Store") -> dict[str, tuple[int, str]]:
    """Every video's chain head in the database: key (platform:id) → (seq, hash)."""
    rows = store.conn.execute(
        "SELECT v.platform, v.video_id, c.seq, c.hash FROM custody c JOIN videos v ON v.id = c.video"
        " WHERE c.seq = (SELECT max(c2.seq) FROM custody c2 WHERE c2.video = c.video) ORDER BY v.id").fetchall()
    return {f"{platform}:{vid}": (seq, hashed) for platform, vid, seq, hashed in rows}


def check_heads(store: "Store", video: "Video", entries: list[Entry],
                heads: dict[str, tuple[int, str]]) -> list[str]:
    """Problems between the database's chain and the heads log: entries missing at the end
    (the log knows a later one) or an entry whose hash the log remembers otherwise."""
    known = heads.get(_key(video))
    if known is None:
        return []
    seq, digest = known
    mine = {e.seq: e.hash for e in entries}
    if seq not in mine:
        return [f"the custody log outside the database knows entry {seq}, the database ends at "
                f"{max(mine, default=0)}: entries were removed"]
    if mine[seq] != digest:
        return [f"entry {seq} differs from the copy of its hash kept outside the database: the chain "
                "was rewritten"]
    return []


def record(store: "Store", video: "Video", event: str, details: dict[str, Any]) -> str:
    with store.transaction() as conn:
        return append(conn, video, event, details, store.actor)


def chain(store: "Store", video: "Video") -> tuple[list[Entry], list[str]]:
    """The video's entries and the problems found checking the chain (none: intact)."""
    rows = store.conn.execute("SELECT seq, at, actor, event, details, prev_hash, hash FROM custody"
                              " WHERE video = ? ORDER BY seq", (video.id,)).fetchall()
    entries, problems, prev = [], [], GENESIS
    for expected_seq, (seq, at, actor, event, details, prev_hash, hashed) in enumerate(rows, 1):
        if seq != expected_seq:
            problems.append(f"entry {expected_seq} is missing (next is {seq})")
        if prev_hash != prev:
            problems.append(f"entry {seq} does not follow entry {seq - 1} (previous hash differs)")
        if digest(prev_hash, _key(video), seq, at, actor, event, details) != hashed:
            problems.append(f"entry {seq} ({event}, {at}) was altered: its hash does not match")
        entries.append(Entry(seq, at, actor, event, json.loads(details), prev_hash, hashed))
        prev = hashed
    return entries, problems
