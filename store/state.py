"""A video's state, and the moves between states: the one place that says which are allowed.

    discovered ──► archived ──► transcribed
        │  ▲           │  ▲          │
        ▼  │           ▼  │          ▼
     skipped ◄┘      failed ◄────────┘      (skipped: outside the history chosen for a channel;
                                              failed: `dalel retry` or `dalel archive ID` moves it back)

A move not in TRANSITIONS is a bug, refused with a StoreError rather than written.
"""
from __future__ import annotations

import sqlite3
from enum import StrEnum

from .errors import StoreError


class VideoState(StrEnum):
    DISCOVERED = "discovered"   # seen at a source, waiting to be archived
    SKIPPED = "skipped"         # seen, outside the history chosen (--since / --last)
    ARCHIVED = "archived"       # the original is in the archive
    TRANSCRIBED = "transcribed"  # and it has a complete speech transcript
    FAILED = "failed"           # a permanent failure, or the last attempt failed


S = VideoState
TRANSITIONS: dict[VideoState, frozenset[VideoState]] = {
    S.DISCOVERED: frozenset({S.ARCHIVED, S.FAILED, S.SKIPPED}),
    S.SKIPPED: frozenset({S.ARCHIVED, S.FAILED, S.DISCOVERED}),         # dalel archive ID
    S.ARCHIVED: frozenset({S.ARCHIVED, S.TRANSCRIBED, S.FAILED}),       # adopted again; transcribed
    S.TRANSCRIBED: frozenset({S.ARCHIVED, S.TRANSCRIBED, S.FAILED}),    # transcribed again
    S.FAILED: frozenset({S.DISCOVERED, S.ARCHIVED, S.TRANSCRIBED, S.FAILED}),  # retry
}


def move(conn: sqlite3.Connection, video_pk: int, to: VideoState, *, only_from: set[VideoState] | None = None) -> bool:
    """Set a video's state inside the caller's transaction. With `only_from`, nothing happens
    (False) when the video is in another state; a move TRANSITIONS does not allow raises."""
    row = conn.execute("SELECT state FROM videos WHERE id = ?", (video_pk,)).fetchone()
    if row is None:
        raise StoreError(f"no video {video_pk}")
    now = VideoState(row[0])
    if only_from is not None and now not in only_from:
        return False
    if to not in TRANSITIONS[now]:
        raise StoreError(f"a video cannot go from {now} to {to}")
    conn.execute("UPDATE videos SET state = ? WHERE id = ?", (str(to), video_pk))
    return True
