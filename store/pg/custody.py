"""The custody log on PostgreSQL: the same hash chain as the embedded one (`store/custody.py`,
whose digest it uses), appended under a per-video advisory lock, so two workers never write
the same sequence number; UPDATE, DELETE and TRUNCATE are refused by trigger, and revoked from
the application role."""
from __future__ import annotations

import json
from typing import Any

from ..custody import GENESIS, default_actor, digest
from ..clock import utcnow


def append(conn, video_pk: int, video_key: str, event: str, details: dict[str, Any],
           actor: str | None = None) -> str:
    """Append an entry inside the caller's transaction; returns its hash."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('custody'), %s)", (video_pk % 2**31,))
    last = conn.execute("SELECT seq, hash FROM custody WHERE video = %s ORDER BY seq DESC LIMIT 1",
                        (video_pk,)).fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at, actor = utcnow(), actor or default_actor()
    text = json.dumps(details, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    hashed = digest(prev, video_key, seq, at, actor, event, text)
    conn.execute("INSERT INTO custody (video, seq, at, actor, event, details, prev_hash, hash)"
                 " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", (video_pk, seq, at, actor, event, text, prev, hashed))
    return hashed


def problems(conn, video_pk: int, video_key: str) -> list[str]:
    """What is wrong with a video's chain (none: intact)."""
    out, prev = [], GENESIS
    rows = conn.execute("SELECT seq, at, actor, event, details, prev_hash, hash FROM custody WHERE video = %s"
                        " ORDER BY seq", (video_pk,)).fetchall()
    for expected, (seq, at, actor, event, details, prev_hash, hashed) in enumerate(rows, 1):
        if seq != expected:
            out.append(f"entry {expected} is missing (next is {seq})")
        if prev_hash != prev:
            out.append(f"entry {seq} does not follow entry {seq - 1}")
        if digest(prev_hash, video_key, seq, at, actor, event, details) != hashed:
            out.append(f"entry {seq} ({event}, {at}) was altered: its hash does not match")
        prev = hashed
    return out
