"""The daemon's persistent work queue.

A job is claimed under a lease: one UPDATE … RETURNING moves it to `running`
with an owner and an expiry. A process killed with SIGKILL never finishes its
job; the lease expires (or the next start sees the owner is dead) and the job
is claimed again. Unique open jobs per (kind, video) — or (kind, source) for a poll — make
enqueueing idempotent.
"""
from __future__ import annotations

import random
from typing import Callable

from .clock import utcnow
from .db import Store
from .pg.queue import PgQueue
from .records import Job


def _job(row) -> Job:
    return Job(*row)


_COLS = "id, kind, video, state, attempts, not_before, lease_owner, lease_until, last_error, source"


class Queue:
    def __init__(self, store: Store):
        self.store = store

    def enqueue(self, kind: str, video_pk: int, delay_s: float = 0.0) -> bool:
        """Queue work on a video unless the same work is already open. True when queued now."""
        return self._enqueue(kind, "video", video_pk, delay_s)

    def enqueue_source(self, kind: str, source_pk: int) -> bool:
        """Queue work on a source (a poll) unless the same work is already open."""
        return self._enqueue(kind, "source", source_pk, 0.0)

    def _enqueue(self, kind: str, subject: str, pk: int, delay_s: float) -> bool:
        assert subject in ("video", "source")
        now = utcnow()
        with self.store.transaction() as conn:
            cur = conn.execute(
                f"INSERT INTO jobs (kind, {subject}, not_before, created_at, updated_at)"
                f" SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE kind = ?"
                f" AND {subject} = ? AND state IN ('queued', 'running'))",
                (kind, pk, utcnow(delay_s), now, now, kind, pk))
            return cur.rowcount == 1

    def top_up(self, kind: str, source_id: int, cap: int) -> int:
        """Queue `kind` jobs for the source's discovered videos (newest first) until it has
        `cap` open ones; returns how many were queued. A feed of 10,000 entries becomes
        10,000 videos, but only `cap` jobs at a time."""
        now = utcnow()
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO jobs (kind, video, not_before, created_at, updated_at)"
                " SELECT ?, v.id, ?, ?, ? FROM videos v WHERE v.source_id = ? AND v.state = 'discovered'"
                " AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = ? AND j.video = v.id"
                " AND j.state IN ('queued', 'running'))"
                " ORDER BY v.published IS NULL, v.published DESC, v.id"
                " LIMIT max(0, ? - (SELECT count(*) FROM jobs j JOIN videos w ON w.id = j.video"
                " WHERE j.kind = ? AND w.source_id = ? AND j.state IN ('queued', 'running')))",
                (kind, now, now, now, source_id, kind, cap, kind, source_id))
            return cur.rowcount

    def claim(self, kinds: tuple[str, ...], owner: str, lease_s: float) -> Job | None:
        """Take the next due job of these kinds (or one whose lease expired)."""
        now = utcnow()
        marks = ",".join("?" * len(kinds))
        with self.store.transaction() as conn:
            # Fair across sources: each source's oldest due job first, round robin, so one
            # source with 10,000 new videos does not hold back another's one.
            # (a source's running jobs count first in its turns).
            row = conn.execute(
                f"UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?,"
                f" attempts = attempts + 1, updated_at = ? WHERE id = ("
                f"SELECT id FROM (SELECT j.id, j.state, j.not_before, j.lease_until, row_number() OVER ("
                f"PARTITION BY coalesce(v.source_id, j.source) ORDER BY j.state = 'queued', j.not_before, j.id)"
                f" AS turn FROM jobs j LEFT JOIN videos v ON v.id = j.video"
                f" WHERE j.kind IN ({marks}) AND j.state IN ('queued', 'running'))"
                f" WHERE (state = 'queued' AND not_before <= ?) OR (state = 'running' AND lease_until < ?)"
                f" ORDER BY turn, not_before, id LIMIT 1)"
                f" RETURNING {_COLS}",
                (owner, utcnow(lease_s), now, *kinds, now, now)).fetchone()
        return _job(row) if row else None

    def extend(self, job: Job, owner: str, lease_s: float) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ?",
                         (utcnow(lease_s), job.id, owner))

    def done(self, job: Job) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until = NULL,"
                         " last_error = NULL, updated_at = ? WHERE id = ?", (utcnow(), job.id))

    def retry(self, job: Job, error: str, base_s: float, max_s: float = 6 * 3600,
              retry_after_s: float | None = None) -> float:
        """Back off exponentially with jitter (or as the server asked); returns the delay."""
        delay = min(max_s, base_s * 2 ** min(max(0, job.attempts - 1), 32))
        asked = min(retry_after_s or 0.0, 24 * 3600.0) if retry_after_s == retry_after_s else 0.0
        delay = max(delay * random.uniform(0.8, 1.2), asked)
        with self.store.transaction() as conn:
            conn.execute("UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL,"
                         " not_before = ?, last_error = ?, updated_at = ? WHERE id = ?",
                         (utcnow(delay), error, utcnow(), job.id))
        return delay

    def requeue(self, job: Job) -> None:
        """Put a job back at once, not counting the attempt (work stopped for shutdown)."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL,"
                         " attempts = max(0, attempts - 1), updated_at = ? WHERE id = ?",
                         (utcnow(), job.id))

    def fail(self, job: Job, error: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_until = NULL,"
                         " last_error = ?, updated_at = ? WHERE id = ?", (error, utcnow(), job.id))

    def release(self, owner_prefix: str, alive: Callable[[str], bool] = lambda owner: False) -> int:
        """Requeue running jobs of owners (on this host) that are gone; returns how many."""
        with self.store.transaction() as conn:
            rows = conn.execute("SELECT id, lease_owner FROM jobs WHERE state = 'running'"
                                " AND lease_owner LIKE ?", (owner_prefix + "%",)).fetchall()
            dead = [jid for jid, owner in rows if not alive(owner)]
            conn.executemany("UPDATE jobs SET state = 'queued', lease_owner = NULL,"
                             " lease_until = NULL, attempts = max(0, attempts - 1) WHERE id = ?",
                             [(j,) for j in dead])
        return len(dead)

    def running(self) -> list[dict]:
        """The jobs being worked on: kind, video, the worker holding the lease and until when."""
        rows = self.store.rows(
            "SELECT j.kind, coalesce(v.video_id, src.name, src.url) AS video_id, j.lease_owner AS worker,"
            " j.updated_at AS since, j.lease_until, j.attempts FROM jobs j LEFT JOIN videos v ON v.id = j.video"
            " LEFT JOIN sources src ON src.id = j.source WHERE j.state = 'running' ORDER BY j.updated_at")
        return rows

    def depth(self) -> dict[str, int]:
        rows = self.store.conn.execute(
            "SELECT kind || '_' || state, count(*) FROM jobs WHERE state IN ('queued', 'running')"
            " GROUP BY kind, state").fetchall()
        return dict(rows)


def open_queue(store: Store) -> "Queue | PgQueue":
    """The store's job queue: the embedded one, or PostgreSQL's on a cluster (same methods)."""
    return PgQueue(store) if store.dialect == "postgresql" else Queue(store)
