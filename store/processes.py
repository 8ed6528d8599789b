"""The daemon's processes — schedulers and workers, on one machine or many — each with its
heartbeat and what it works on now, for `dalel status`; and the one lock that makes a single
scheduler active among many: a PostgreSQL advisory lock held by the active one's own
connection (released by the server the moment that process dies), or on one machine a lock
on a file beside the database."""
from __future__ import annotations

import fcntl
import os
import socket
from typing import TYPE_CHECKING, Any

from .clock import parse_stamp, utcnow

if TYPE_CHECKING:
    from .db import Store

__all__ = ["Leadership", "beat", "free_host_slot", "gone", "listed", "take_host_slot"]

SCHEDULER_LOCK = 727275          # the advisory lock key of the active scheduler ("dalel" + 1)


def beat(store: Store, owner: str, role: str, state: str, kinds: tuple[str, ...], jobs: list[str]) -> None:
    """Record a process's heartbeat (inserted the first time)."""
    now = utcnow()
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO processes (owner, host, pid, role, state, kinds, jobs, started_at, heartbeat_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (owner) DO UPDATE SET state = excluded.state,"
            " jobs = excluded.jobs, heartbeat_at = excluded.heartbeat_at",
            (owner, socket.gethostname(), os.getpid(), role, state, ",".join(kinds), "; ".join(jobs), now, now))


def gone(store: Store, owner: str) -> None:
    """A process that stopped cleanly leaves the list."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM processes WHERE owner = ?", (owner,))


def listed(store: Store, stale_s: float = 3600.0) -> list[dict[str, Any]]:
    """The processes heard from in the last `stale_s` seconds (older ones are forgotten), with
    the seconds since each one's last heartbeat."""
    with store.transaction() as conn:
        conn.execute("DELETE FROM processes WHERE heartbeat_at < ?", (utcnow(-stale_s),))
    now = parse_stamp(utcnow())
    rows = store.rows("SELECT owner, host, pid, role, state, kinds, jobs, started_at, heartbeat_at"
                      " FROM processes ORDER BY role, host, pid")
    return [r | {"heartbeat_age_s": round(now - parse_stamp(r["heartbeat_at"]), 1)} for r in rows]


class Leadership:
    """Whether this process is the active scheduler. `try_lead()` takes the lock if it is free
    (and keeps it); `held()` says whether it is still held (a lost connection loses it)."""

    def __init__(self, store: Store):
        self.store = store
        self._conn: Any = None     # the PostgreSQL connection holding the lock
        self._file: Any = None     # or the locked file

    def try_lead(self) -> bool:
        if self.store.url is None:
            return self._try_file()
        import psycopg
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.store.url, autocommit=True)
            got = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (SCHEDULER_LOCK,)).fetchone()[0]
        except psycopg.Error:
            self.release()
            return False
        return bool(got)

    def held(self) -> bool:
        if self.store.url is None:
            return self._file is not None
        try:
            return self._conn is not None and self._conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted"
                " AND pid = pg_backend_pid()", (SCHEDULER_LOCK,)).fetchone()[0] > 0
        except Exception:
            self.release()
            return False

    def _try_file(self) -> bool:
        if self._file is not None:
            return True
        assert self.store.path is not None
        f = open(self.store.path.with_name("scheduler.lock"), "a")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            return False
        self._file = f
        return True

    def release(self) -> None:
        for thing in (self._conn, self._file):
            try:
                if thing is not None:
                    thing.close()
            except Exception:
                pass
        self._conn = self._file = None


def take_host_slot(store: Store, host: str, per_host: int) -> int | None:
    """One of the `per_host` download slots of a host, across every worker of a cluster (a
    session advisory lock on the worker's connection, freed if it dies); None: all are taken.
    The embedded store has one process, which counts its own slots."""
    for slot in range(per_host):
        if store.conn.execute("SELECT pg_try_advisory_lock(hashtext(?), ?)", (f"host:{host}", slot)).fetchone()[0]:
            return slot
    return None


def free_host_slot(store: Store, host: str, slot: int) -> None:
    store.conn.execute("SELECT pg_advisory_unlock(hashtext(?), ?)", (f"host:{host}", slot))
