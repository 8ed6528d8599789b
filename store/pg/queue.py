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

from ..queue import Job
from .db import PgDatabase

_STAMP = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
_COLS = ("id, kind, video, state, attempts, " + _STAMP.format("not_before") + ", lease_owner, "
         + _STAMP.format("lease_until") + ", last_error")


class PgQueue:
    def __init__(self, db: PgDatabase):
        self.db = db

    def enqueue(self, kind: str, video_pk: int, delay_s: float = 0.0) -> bool:
        """Queue work on a video unless the same work is already open. True when queued now."""
        row = self.db.conn.execute(
            "INSERT INTO jobs (kind, video, not_before) VALUES (%s, %s, now() + make_interval(secs => %s))"
            " ON CONFLICT (kind, video) WHERE state IN ('queued', 'running') DO NOTHING RETURNING id",
            (kind, video_pk, delay_s)).fetchone()
        return row is not None

    def claim(self, kinds: tuple[str, ...], owner: str, lease_s: float) -> Job | None:
        """Take the next due job of these kinds (or one whose lease ran out): a source with
        fewer jobs running goes first, then the oldest due job; locked rows are skipped."""
        row = self.db.conn.execute(
            "WITH busy AS (SELECT w.source_id, count(*) AS n FROM jobs r JOIN videos w ON w.id = r.video"
            "   WHERE r.state = 'running' AND r.lease_until >= now() GROUP BY w.source_id),"
            " next AS (SELECT j.id FROM jobs j JOIN videos v ON v.id = j.video"
            "   LEFT JOIN busy b ON b.source_id IS NOT DISTINCT FROM v.source_id"
            "   WHERE j.kind = ANY(%s) AND ((j.state = 'queued' AND j.not_before <= now())"
            "     OR (j.state = 'running' AND j.lease_until < now()))"
            "   ORDER BY coalesce(b.n, 0), j.not_before, j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED)"
            " UPDATE jobs SET state = 'running', lease_owner = %s, lease_until = now() + make_interval(secs => %s),"
            " attempts = attempts + 1, updated_at = now() FROM next WHERE jobs.id = next.id"
            f" RETURNING {_COLS.replace('id, kind', 'jobs.id, kind')}",
            (list(kinds), owner, lease_s)).fetchone()
        return Job(*row) if row else None

    def extend(self, job: Job, owner: str, lease_s: float) -> None:
        self.db.conn.execute("UPDATE jobs SET lease_until = now() + make_interval(secs => %s)"
                             " WHERE id = %s AND lease_owner = %s AND state = 'running'", (lease_s, job.id, owner))

    def done(self, job: Job) -> None:
        self.db.conn.execute("UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until = NULL,"
                             " last_error = NULL, updated_at = now() WHERE id = %s", (job.id,))

    def retry(self, job: Job, error: str, base_s: float, max_s: float = 6 * 3600,
              retry_after_s: float | None = None) -> float:
        """Back off exponentially with jitter (or as the server asked); returns the delay."""
        delay = min(max_s, base_s * 2 ** min(max(0, job.attempts - 1), 32))
        asked = min(retry_after_s or 0.0, 24 * 3600.0) if retry_after_s == retry_after_s else 0.0
        delay = max(delay * random.uniform(0.8, 1.2), asked)
        self.db.conn.execute("UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL,"
                             " not_before = now() + make_interval(secs => %s), last_error = %s, updated_at = now()"
                             " WHERE id = %s", (delay, error, job.id))
        return delay

    def fail(self, job: Job, error: str) -> None:
        self.db.conn.execute("UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_until = NULL,"
                             " last_error = %s, updated_at = now() WHERE id = %s", (error, job.id))

    def depth(self) -> dict[str, int]:
        return dict(self.db.conn.execute(
            "SELECT kind || '_' || state, count(*) FROM jobs WHERE state IN ('queued', 'running')"
            " GROUP BY kind, state").fetchall())
