"""`dalel run`: the daemon that watches sources on a schedule and works through the queue.

Structure after APScheduler 4 (on APScheduler 3): an explicit run state
(starting → started → stopping → stopped) logged on each change, one
`run_until_stopped()`, SIGTERM/SIGINT → stop. The work itself lives in the
database queue (store.Queue), claimed under leases: a process killed with
SIGKILL leaves jobs that the next start requeues at once (their owner is dead)
and nothing half-written that counts as done.
"""
from __future__ import annotations

import logging
import os
import random
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler

import monitor
import store

from . import finals
from .app import App
from .config import Config
from .files import SCRATCH, scratch_in_use
from .polling import scheduled_check
from .working import KINDS, Workers

log = logging.getLogger("dalel.daemon")
STOP_GRACE_S = 5.0
STOP_DEADLINE_S = 20.0   # a stop signal ends the process after this long, whatever still holds it
RECHECK_BATCH = 50


def _proc_start(pid: int) -> str | None:
    """The kernel's start time of a process: with the pid it identifies one process for good."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_proc_start(os.getpid())}"


def owner_alive(owner: str) -> bool:
    host, pid, started = owner.rsplit(":", 2)
    return host == socket.gethostname() and _proc_start(int(pid)) == started


ROLES = ("daemon", "scheduler", "worker")
SCHEDULED = ("poll", "recheck", "fixity")     # the scheduler's duties (polls, re-checks and fixity as
                                              # jobs for the workers when it runs alone)


class Daemon:
    """One process of the daemon. role "daemon" (`dalel run`): the scheduler and workers;
    "scheduler" (`dalel scheduler`): queues polls, archive jobs, re-checks and fixity as jobs,
    active only while it holds the scheduler lock (another waits as standby and takes over when
    it dies); "worker" (`dalel worker`): jobs of `kinds` only."""

    def __init__(self, config: Config, role: str = "daemon", kinds: tuple[str, ...] = KINDS):
        self.config, self.role, self.kinds = config, role, kinds
        self.owner = owner_id()
        self.state = "stopped"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.workers = Workers(config, self.owner, self._stop, self._wake)
        self._scheduler: BackgroundScheduler | None = None
        self._leadership: store.processes.Leadership | None = None
        self.leading = False
        m = config.monitor
        self.poll_every = m.poll_every
        self.recheck_every = m.recheck_every
        self.reconcile_every = m.reconcile_every
        self.fixity_every = config.evidence.fixity_every

    def _set_state(self, state: str) -> None:
        self.state = state
        log.info("%s %s (pid %d)", self.role, state, os.getpid())

    def stop(self, *_: object) -> None:
        self._stop.set()
        self._wake.set()

    def _signalled(self, *_: object) -> None:
        """SIGTERM or SIGINT: stop, and end the process after STOP_DEADLINE_S if the stop is
        still held up then (a database lock another process keeps, a call that does not
        return). Every write is a transaction and work is checkpointed, so the next start
        finishes what was in progress, as after kill -9."""
        if not self._stop.is_set():
            deadline = threading.Timer(STOP_DEADLINE_S, self._stop_overdue)
            deadline.daemon = True
            deadline.start()
        self.stop()

    def _stop_overdue(self) -> None:
        log.warning("still stopping after %.0f s (a database lock held elsewhere?): exiting now; "
                    "jobs in progress resume on the next start", STOP_DEADLINE_S)
        logging.shutdown()
        os._exit(0)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # --- life cycle ----------------------------------------------------------

    def run_until_stopped(self) -> None:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)   # not a line per heartbeat
        self._set_state("starting")
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._signalled)
            signal.signal(signal.SIGINT, self._signalled)
        app = App(self.config)
        try:
            if self.role != "scheduler":
                self._recover_local(app)
            self._scheduler = BackgroundScheduler(timezone="UTC")
            if self.role != "worker":
                self._leadership = store.processes.Leadership(app.store)
                self._lead(app)
                self._schedule(self._scheduler)
            self._scheduler.add_job(self._heartbeat, "interval", seconds=HEARTBEAT_S, id="heartbeat",
                                    max_instances=1, coalesce=True, next_run_time=_now())
            self._scheduler.start()
            if self.role != "scheduler":
                self.workers.start(self.kinds)
            self._set_state("started")
            # Wake now and then: a stop signal the kernel hands to another thread (the model's
            # workers, the scheduler's) runs its handler only when this main thread next runs.
            while not self._stop.wait(0.5):
                pass
        finally:
            self._set_state("stopping")
            self._shut_down(app)
            self._set_state("stopped")

    def _schedule(self, scheduler: BackgroundScheduler) -> None:
        scheduler.add_job(self._lead_tick, "interval", seconds=LEAD_CHECK_S, id="lead",
                          max_instances=1, coalesce=True)
        scheduler.add_job(self._poll_due, "interval", seconds=min(5.0, self.poll_every),
                          id="poll", max_instances=1, coalesce=True, next_run_time=_now())
        scheduler.add_job(self._recheck, "interval", seconds=max(1.0, self.recheck_every / 24),
                          id="recheck", max_instances=1, coalesce=True, jitter=1)
        scheduler.add_job(self._fixity, "interval", seconds=self.fixity_every,
                          id="fixity", max_instances=1, coalesce=True)
        if self.config.cluster.archive_url:
            scheduler.add_job(self._anchor, "interval", seconds=self.config.cluster.anchor_every,
                              id="anchor", max_instances=1, coalesce=True, next_run_time=_now())

    def _shut_down(self, app: App) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        self.workers.join(STOP_GRACE_S)
        try:
            released = app.queue.release(self.owner, alive=lambda o: o != self.owner)
            if released:
                log.info("left %d job(s) in progress for the next start", released)
            store.processes.gone(app.store, self.owner)
        except Exception as exc:      # the database is gone: the leases run out by themselves
            log.warning("cannot release this process's jobs: %s", exc)
        if self._leadership is not None:
            self._leadership.release()
        app.close()

    def busy_workers(self) -> bool:
        """Whether a worker thread is still running after the stop (a long native call)."""
        return self.workers.busy()

    # --- the one active scheduler ---------------------------------------------

    def _lead(self, app: App) -> None:
        """At start: become the active scheduler if no other is, else stand by."""
        assert self._leadership is not None
        if self._leadership.try_lead():
            self._take_over(app)
        else:
            log.info("scheduler standing by: another scheduler is active")

    def _take_over(self, app: App) -> None:
        """Now the active scheduler: finish what the queue's state implies, sync the configured
        channels."""
        self.leading = True
        log.info("scheduler active (pid %d)", os.getpid())
        self._recover_queue(app)
        app.sync_config_channels()

    def _lead_tick(self) -> None:
        """Every LEAD_CHECK_S: the active scheduler checks it still holds the lock; a standby
        tries to take it (and only then opens the archive)."""
        assert self._leadership is not None
        if self.leading:
            if not self._leadership.held():
                self.leading = False
                log.warning("scheduler lost its lock (database connection lost); standing by")
            return
        try:
            if self._leadership.try_lead():
                with App(self.config) as app:
                    self._take_over(app)
        except Exception as exc:
            log.warning("scheduler cannot reach the database: %s", str(exc).strip().splitlines()[0][:200])

    def _recover_local(self, app: App) -> None:
        """What a previous process on this machine left: its jobs requeued at once (their owner
        is dead), its temporary files removed."""
        host = socket.gethostname() + ":"
        released = app.queue.release(host, alive=owner_alive)
        if released:
            log.info("requeued %d job(s) of a stopped process", released)
        keep = {f"{v.platform}-{v.video_id}" for v in app.store.videos.all("discovered")}
        keep.add("staging")    # captures assembled for S3: uploaded and recorded on the next try
        removed = monitor.clean_tmp(self.config.tmp_dir, keep=lambda p: p.name in keep or scratch_in_use(p.name))
        removed += self._clean_staging(app)
        if removed:
            log.info("removed %d leftover temporary item(s)", removed)

    def _recover_queue(self, app: App) -> None:
        """Queue what the state implies (after a crash or a takeover); rebuild the search index
        if it was built by another analyser (after an upgrade)."""
        built = app.store.index.analyser()
        if built != store.ANALYSER_VERSION:
            log.info("rebuilding the search index: built by analyser %s, this is %s", built,
                     store.ANALYSER_VERSION)
            log.info("search index rebuilt: %d segment(s)", app.store.index.rebuild())
        for video in app.store.videos.missing_metadata():
            app.index_extras(video)
        for video in app.store.videos.all("discovered"):
            if video.source_id is None:   # the sources' videos are queued by top_up, a few at a time
                app.queue.enqueue("archive", video.id)
        for src in app.store.sources.all():
            app.queue.top_up("archive", src.id, self.config.monitor.max_queued_per_source)
        for video in app.store.videos.to_transcribe():
            app.queue.enqueue("transcribe", video.id)

    @staticmethod
    def _clean_staging(app: App) -> int:
        """Staged captures already uploaded and recorded (a crash came before their removal)."""
        staging, n = app.config.tmp_dir / "staging", 0
        for folder in staging.glob("*/*") if staging.is_dir() else ():
            rec = app.store.videos.file(f"{folder.relative_to(staging).as_posix()}/manifest.json")
            if rec is not None and rec.version_id:
                shutil.rmtree(folder, ignore_errors=True)
                n += 1
        return n

    # --- scheduled jobs (each runs in the scheduler's thread with its own connection) ---

    def _poll_due(self) -> None:
        """Check every source whose interval has passed (each with its own jitter)."""
        if not self.leading:
            return
        with App(self.config) as app:
            now = store.utcnow()
            for src in app.store.sources.all():
                if self.stopping:
                    return
                if src.paused:
                    continue
                every = src.every_s or self.poll_every
                due = src.last_checked is None or \
                    store.parse_stamp(src.last_checked) + every * random.uniform(0.9, 1.0) <= store.parse_stamp(now)
                if due and not (src.not_before and src.not_before > now):
                    self._check(app, src)
                if app.queue.top_up("archive", src.id, self.config.monitor.max_queued_per_source):
                    self._wake.set()

    def _check(self, app: App, src: store.Source) -> None:
        """Check a due source here, or (a scheduler of its own) queue its poll for a worker."""
        if self.role == "scheduler":
            if app.queue.enqueue_source("poll", src.id):
                self._wake.set()
            return
        try:
            scheduled_check(app, src, self.reconcile_every)
        except monitor.MonitorError:
            return  # recorded on the source; the other sources go on
        # new videos are queued by top_up, at most max_queued_per_source at a time per source

    def _heartbeat(self) -> None:
        """Each process's sign of life and current work for `dalel status` (and, from the active
        scheduler, the daemon's for /healthz and /metrics)."""
        import json
        if self.role != "scheduler":   # a killed worker's scratch copies on this machine
            for leftover in self.config.tmp_dir.glob(f"{SCRATCH}*"):
                if not scratch_in_use(leftover.name):
                    shutil.rmtree(leftover, ignore_errors=True)
        duties = SCHEDULED if self.role != "worker" else ()
        kinds = duties + (self.kinds if self.role != "scheduler" else ())
        try:
            with App(self.config) as app:
                store.processes.beat(app.store, self.owner, self.role,
                                     "standby" if duties and not self.leading else "active",
                                     kinds, sorted(self.workers.current.values()))
                if self.leading:
                    app.store.set_meta("daemon", json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                             "heartbeat": time.time(), "owner": self.owner}))
        except Exception as exc:
            log.warning("cannot record the heartbeat: %s", str(exc).strip().splitlines()[0][:200])

    def _recheck(self) -> None:
        """Re-check archived videos at their source, oldest check first (takedowns): here, or
        by the workers (`recheck` jobs) when this is a scheduler of its own."""
        if not self.leading:
            return
        with App(self.config) as app:
            due = app.store.videos.due_recheck(store.utcnow(-self.recheck_every), RECHECK_BATCH)
            for video in due:
                if self.stopping:
                    return
                if self.role == "scheduler":
                    app.queue.enqueue("recheck", video.id)
                elif app.recheck(video) is None and finals.maybe_take_final(app, video):
                    self._wake.set()          # its final version is to be transcribed

    def _anchor(self) -> None:
        """Every custody chain's head into an Object-Locked object (dalel/anchoring.py)."""
        from .anchoring import anchor
        if not self.leading:
            return
        try:
            with App(self.config) as app:
                anchor(app)
        except Exception as exc:
            log.warning("cannot anchor the custody log: %s", str(exc).strip().splitlines()[0][:300])

    def _fixity(self) -> None:
        """Re-hash every archived file against its recorded SHA-256 (logged, and in custody):
        here, or by the workers (a `fixity` job per video) when this is a scheduler of its own."""
        from .verification import verify_archive
        if not self.leading:
            return
        with App(self.config) as app:
            if self.role == "scheduler":
                for video in app.store.videos.all():
                    if video.archived_at:
                        app.queue.enqueue("fixity", video.id)
                return
            n, bad = verify_archive(app)
        for c in bad:
            log.error("fixity: %s: %s", c.what, c.detail)
        log.info("fixity: %d file(s) checked, %d video(s) changed", n, len(bad))


HEARTBEAT_S = 5.0
LEAD_CHECK_S = 2.0     # a standby scheduler tries the lock this often


def _now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)
