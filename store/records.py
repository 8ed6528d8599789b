"""The records the archive's tables hold, as the rest of Dalel sees them."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


def from_row(cls, row: dict[str, Any]):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in row.items() if k in names})

@dataclass(frozen=True)
class Source:
    id: int
    url: str
    kind: str
    feed_url: str | None
    name: str | None
    every_s: int | None
    etag: str | None
    last_modified: str | None
    last_checked: str | None
    last_error: str | None
    created_at: str
    not_before: str | None = None        # back-off after errors / Retry-After
    last_reconciled: str | None = None   # last full listing (feeds show only the newest)
    since: str | None = None             # history: archive videos published on or after this
    last_n: int | None = None            # history: archive the N newest at the first check
    cutoff: str | None = None            # the earliest published date archived (from the two)
    paused: int = 0                      # 1: neither checked nor archived from until resumed


@dataclass(frozen=True)
class Video:
    id: int
    platform: str
    video_id: str
    source_id: int | None
    url: str
    title: str | None
    channel: str | None
    description: str | None
    published: str | None
    duration: float | None
    state: str
    error: str | None
    removed_at: str | None
    discovered_at: str
    archived_at: str | None
    folder: str | None
    live_status: str | None = None
    last_rechecked: str | None = None


@dataclass(frozen=True)
class FileRecord:
    role: str
    path: str  # relative to the archive root
    size: int
    sha256: str
    version_id: str | None = None   # in S3 object storage, this version; None: in the local archive


@dataclass(frozen=True)
class WordRecord:
    start: float
    end: float
    word: str
    probability: float | None = None


@dataclass(frozen=True)
class SegmentRecord:
    start: float
    end: float
    text: str
    lang: str | None = None
    probability: float | None = None
    words: tuple[WordRecord, ...] = ()
    lang_probability: float | None = None


@dataclass(frozen=True)
class Job:
    """A job of the queue: about a video, or (a poll) about a source (`video` is then None)."""
    id: int
    kind: str
    video: int | None
    state: str
    attempts: int
    not_before: str
    lease_owner: str | None
    lease_until: str | None
    last_error: str | None
    source: int | None = None
