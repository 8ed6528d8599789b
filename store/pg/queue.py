"""The job queue on PostgreSQL, for workers on many machines: the same semantics as the
embedded queue (`store/queue.py`) — one open job per (kind, video), claims under a lease
extended by the worker as its work progresses, a job whose lease ran out taken over, back-off
with jitter and Retry-After, fairness across sources — with `FOR UPDATE SKIP LOCKED`, so
concurrent claims never wait on each other and never take the same job. Times are the
database server's (`now()`), one clock for every machine.

Why not procrastinate: its jobs have no lease a long transcription keeps alive while it runs,
no per-source fairness and no Retry-After; a worker's death is found by heartbeats, not by a
lease of the job itself. These are the guarantees the daemon's jobs rely on.
"""
from __future__ import annotations

import random

from typing import Any, Callable

from ..records import Job

_STAMP = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
_COLS = ("id, kind, video, state, attempts, " + _STAMP.format("not_before") + ", lease_owner, "
         + _STAMP.format("lease_until") + ", last_error, source")


class PgQueue:
    def __init__(self, db: Any):
        """db: a `PgDatabase`, or a `Store` on PostgreSQL (the same connection)."""
        self.conn = getattr(db.conn, "raw", db.conn)

    def enqueue(self, kind: str, video_pk: int, delay_s: float = 0.0) -> bool:
        """Queue work on a video unless the same work is already open. True when queued now."""
        row = self.conn.execute(
            "INSERT INTO jobs (kind, video, not_before) VALUES (%s, %s, now() + make_interval(secs => %s))"
            " ON CONFLICT (kind, video) WHERE state IN ('queued', 'running') DO NOTHING RETURNING id",
            (kind, video_pk, delay_s)).fetchone()
        return row is not None

    def enqueue_source(self, kind: str, source_pk: int) -> bool:
        """Queue work on a source (a poll) unless the same work is already open."""
        row = self.conn.execute(
            "INSERT INTO jobs (kind, source) VALUES (%s, %s)"
            " ON CONFLICT (kind, source) WHERE state IN ('queued', 'running') DO NOTHING RETURNING id",
            (kind, source_pk)).fetchone()
        return row is not None

    def claim(self, kinds: tuple[str, ...], owner: str, lease_s: float) -> Job | None:
        """Take the next due job of these kinds (or one whose lease ran out): a source with
        fewer jobs running goes first, then the oldest due job; locked rows are skipped."""
        row = self.conn.execute(
            "WITH busy AS (SELECT coalesce(w.source_id, r.source) AS source_id, count(*) AS n FROM jobs r"
            "   LEFT JOIN videos w ON w.id = r.video WHERE r.state = 'running' AND r.lease_until >= now()"
            "   GROUP BY 1),"
            " next AS (SELECT j.id FROM jobs j LEFT JOIN videos v ON v.id = j.video"
            "   LEFT JOIN busy b ON b.source_id IS NOT DISTINCT FROM coalesce(v.source_id, j.source)"
            "   WHERE j.kind = ANY(%s) AND ((j.state = 'queued' AND j.not_before <= now())"
            "     OR (j.state = 'running' AND j.lease_until < now()))"
            "   ORDER BY coalesce(b.n, 0), j.not_before, j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED)"
            " UPDATE jobs SET state = 'running', lease_owner = %s, lease_until = now() + make_interval(secs => %s),"
            " attempts = attempts + 1, updated_at = now() FROM next WHERE jobs.id = next.id"
            f" RETURNING {_COLS.replace('id, kind', 'jobs.id, kind')}",
            (list(kinds), owner, lease_s)).fetchone()
        return Job(*row) if row else None

    def extend(self, job: Job, owner: str, lease_s: float) -> None:
        self.conn.execute("UPDATE jobs SET lease_until = now() + make_interval(secs => %s)"
                             " WHERE id = %s AND lease_owner = %s AND state = 'running'", (lease_s, job.id, owner))

    def done(self, job: Job) -> None:
        self.conn.execute("UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until = NULL,"
                             " last_error = NULL, updated_at = now() WHERE id = %s", (job.id,))

    def retry(self, job: Job, error: str, base_s: float, max_s: float = 6 * 3600,
              retry_after_s: float | None = None) -> float:
        """Back off exponentially with jitter (or as the server asked); returns the delay."""
        delay = min(max_s, base_s * 2 ** min(max(0, job.attempts - 1), 32))
        asked = min(retry_after_s or 0.0, 24 * 3600.0) if retry_after_s == retry_after_s else 0.0
        delay = max(delay * random.uniform(0.8, 1.2), asked)
        self.conn.execute("UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL,"
                             " not_before = now() + make_interval(secs => %s), last_error = %s, updated_at = now()"
                             " WHERE id = %s", (delay, error, job.id))
        return delay

    def fail(self, job: Job, error: str) -> None:
        self.conn.execute("UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_until = NULL,"
                             " last_error = %s, updated_at = now() WHERE id = %s", (error, job.id))

    def depth(self) -> dict[str, int]:
        return dict(self.conn.execute(
            "SELECT kind || '_' || state, count(*) FROM jobs WHERE state IN ('queued', 'running')"
            " GROUP BY kind, state").fetchall())

    def top_up(self, kind: str, source_id: int, cap: int) -> int:
        """Queue `kind` jobs for the source's discovered videos (newest first) until it has
        `cap` open ones; returns how many were queued."""
        return self.conn.execute(
            "INSERT INTO jobs (kind, video) SELECT %s, v.id FROM videos v WHERE v.source_id = %s"
            " AND v.state = 'discovered' AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = %s"
            " AND j.video = v.id AND j.state IN ('queued', 'running'))"
            " ORDER BY v.published IS NULL, v.published DESC, v.id"
            " LIMIT greatest(0, %s - (SELECT count(*) FROM jobs j JOIN videos w ON w.id = j.video"
            " WHERE j.kind = %s AND w.source_id = %s AND j.state IN ('queued', 'running')))"
            " ON CONFLICT DO NOTHING", (kind, source_id, kind, cap, kind, source_id)).rowcount

    def requeue(self, job: Job) -> None:
        """Put a job back at once, not counting the attempt (work stopped for shutdown)."""
        self.conn.execute("UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL,"
                          " attempts = greatest(0, attempts - 1), updated_at = now() WHERE id = %s", (job.id,))

    def release(self, owner_prefix: str, alive: Callable[[str], bool] = lambda owner: False) -> int:
        """Requeue running jobs of owners (on this host) that are gone; returns how many."""
        rows = self.conn.execute("SELECT id, lease_owner FROM jobs WHERE state = 'running'"
                                 " AND starts_with(lease_owner, %s)", (owner_prefix,)).fetchall()
        dead = [jid for jid, owner in rows if not alive(owner)]
        for jid in dead:
            self.conn.execute("UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL,"
                              " attempts = greatest(0, attempts - 1) WHERE id = %s AND state = 'running'", (jid,))
        return len(dead)

    def running(self) -> list[dict]:
        """The jobs being worked on: kind, video, the worker holding the lease and until when."""
        cur = self.conn.execute(
            "SELECT j.kind, coalesce(v.video_id, src.name, src.url) AS video_id, j.lease_owner AS worker, "
            + _STAMP.format("j.updated_at") + " AS since, " + _STAMP.format("j.lease_until")
            + " AS lease_until, j.attempts FROM jobs j LEFT JOIN videos v ON v.id = j.video"
            " LEFT JOIN sources src ON src.id = j.source WHERE j.state = 'running' ORDER BY j.updated_at")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
