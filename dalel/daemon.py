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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from apscheduler.schedulers.background import BackgroundScheduler

import monitor
import store
import transcribe

from . import finals, stamping
from .app import App
from .config import Config

log = logging.getLogger("dalel.daemon")
STOP_GRACE_S = 5.0
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


class Daemon:
    def __init__(self, config: Config):
        self.config = config
        self.owner = owner_id()
        self.state = "stopped"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._workers: list[threading.Thread] = []
        self._hosts: dict[str, threading.Semaphore] = {}   # downloads in flight per host
        self._hosts_lock = threading.Lock()
        self._scheduler: BackgroundScheduler | None = None
        m = config.monitor
        self.poll_every = m.poll_every
        self.recheck_every = m.recheck_every
        self.reconcile_every = m.reconcile_every
        self.retry_base = m.retry_base
        self.lease_s = m.lease
        self.fixity_every = config.evidence.fixity_every

    def _set_state(self, state: str) -> None:
        self.state = state
        log.info("daemon %s (pid %d)", state, os.getpid())

    def stop(self, *_: object) -> None:
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # --- life cycle ----------------------------------------------------------

    def run_until_stopped(self) -> None:
        self._set_state("starting")
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
        app = App(self.config)
        try:
            self._recover(app)
            app.sync_config_channels()
            self._scheduler = BackgroundScheduler(timezone="UTC")
            self._scheduler.add_job(self._poll_due, "interval", seconds=min(5.0, self.poll_every),
                                    id="poll", max_instances=1, coalesce=True,
                                    next_run_time=_now())
            self._scheduler.add_job(self._recheck, "interval", seconds=max(1.0, self.recheck_every / 24),
                                    id="recheck", max_instances=1, coalesce=True, jitter=1)
            self._scheduler.add_job(self._fixity, "interval", seconds=self.fixity_every,
                                    id="fixity", max_instances=1, coalesce=True)
            self._scheduler.add_job(self._heartbeat, "interval", seconds=HEARTBEAT_S, id="heartbeat",
                                    max_instances=1, coalesce=True, next_run_time=_now())
            self._scheduler.start()
            workers = [(f"archiver-{i + 1}", ("archive", "timestamp"))
                       for i in range(self.config.monitor.download_workers)] + [
                (f"transcriber-{i + 1}", ("transcribe",)) for i in range(self.config.transcribe.workers)]
            for name, kinds in workers:
                t = threading.Thread(target=self._work, args=(kinds,), name=name, daemon=True)
                t.start()
                self._workers.append(t)
            self._set_state("started")
            self._stop.wait()
        finally:
            self._set_state("stopping")
            if self._scheduler is not None:
                self._scheduler.shutdown(wait=False)
            for t in self._workers:
                t.join(STOP_GRACE_S / max(1, len(self._workers)))
            released = app.queue.release(self.owner, alive=lambda o: o != self.owner)
            if released:
                log.info("left %d job(s) in progress for the next start", released)
            app.close()
            self._set_state("stopped")

    def busy_workers(self) -> bool:
        """Whether a worker thread is still running after the stop (a long native call)."""
        return any(t.is_alive() for t in self._workers)

    def _recover(self, app: App) -> None:
        """Finish what a previous process left: requeue its jobs, queue what state implies;
        rebuild the search index if it was built by another analyser (after an upgrade)."""
        built = app.store.index.analyser()
        if built != store.ANALYSER_VERSION:
            log.info("rebuilding the search index: built by analyser %s, this is %s", built,
                     store.ANALYSER_VERSION)
            log.info("search index rebuilt: %d segment(s)", app.store.index.rebuild())
        host = socket.gethostname() + ":"
        released = app.queue.release(host, alive=owner_alive)
        if released:
            log.info("requeued %d job(s) of a stopped process", released)
        keep = {f"{v.platform}-{v.video_id}" for v in app.store.videos.all("discovered")}
        keep.add("staging")    # captures assembled for S3: uploaded and recorded on the next try
        removed = monitor.clean_tmp(self.config.tmp_dir, keep=lambda p: p.name in keep)
        removed += self._clean_staging(app)
        if removed:
            log.info("removed %d leftover temporary item(s)", removed)
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
        try:
            new, _ = app.check_source(src)
            if src.kind == "youtube" and (src.last_reconciled is None or
                                          store.parse_stamp(src.last_reconciled) + self.reconcile_every
                                          <= store.parse_stamp(store.utcnow())):
                new += app.reconcile_source(src)
        except monitor.MonitorError:
            return  # recorded on the source; the other sources go on
        # new videos are queued by top_up, at most max_queued_per_source at a time per source

    def _heartbeat(self) -> None:
        """The daemon's sign of life for `dalel status`, /healthz and /metrics."""
        import json
        with App(self.config) as app:
            app.store.set_meta("daemon", json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                     "heartbeat": time.time(), "owner": self.owner}))

    def _recheck(self) -> None:
        """Re-check archived videos at their source, oldest check first (takedowns)."""
        with App(self.config) as app:
            due = app.store.videos.due_recheck(store.utcnow(-self.recheck_every), RECHECK_BATCH)
            for video in due:
                if self.stopping:
                    return
                if app.recheck(video) is None and finals.maybe_take_final(app, video):
                    self._wake.set()          # its final version is to be transcribed

    def _fixity(self) -> None:
        """Re-hash every archived file against its recorded SHA-256 (logged, and in custody)."""
        from .verification import verify_archive
        with App(self.config) as app:
            n, bad = verify_archive(app)
        for c in bad:
            log.error("fixity: %s: %s", c.what, c.detail)
        log.info("fixity: %d file(s) checked, %d video(s) changed", n, len(bad))

    # --- workers ---------------------------------------------------------------

    def _work(self, kinds: tuple[str, ...]) -> None:
        """Claim and run jobs until stopped. A job's failure stays in that job; trouble with
        the queue itself (the database busy or unreachable) is logged and retried after a
        pause — the daemon stops only on a signal."""
        app = App(self.config)
        lease = self.lease_s
        try:
            while not self.stopping:
                try:
                    job = app.queue.claim(kinds, self.owner, lease)
                except Exception:
                    log.exception("worker %s cannot claim a job; trying again in %.0fs",
                                  threading.current_thread().name, WORKER_PAUSE_S)
                    self._stop.wait(WORKER_PAUSE_S)
                    continue
                if job is None:
                    self._wake.wait(1.0)
                    self._wake.clear()
                    continue
                try:
                    self._run_job(app, job)
                except Exception:   # even a bug: the job is recorded, the worker goes on
                    log.exception("job %s %d failed unexpectedly", job.kind, job.id)
                    self._record_crash(app, job)
        finally:
            app.close()

    def _record_crash(self, app: App, job: store.Job) -> None:
        """An unexpected error: retry the job with back-off, then fail it, as any other."""
        import traceback
        reason = "unexpected error: " + traceback.format_exc(limit=1).strip().splitlines()[-1][:300]
        try:
            if job.attempts >= self.config.monitor.max_attempts:
                app.queue.fail(job, reason)
            else:
                app.queue.retry(job, reason, self.retry_base)
        except Exception:
            log.exception("cannot record the failure of job %d; it is retried after its lease", job.id)

    def _host_slot(self, url: str) -> threading.Semaphore | None:
        """Wait for a free download slot on the video's host; None when stopping."""
        host = urlsplit(url).hostname or ""
        with self._hosts_lock:
            slot = self._hosts.setdefault(host, threading.Semaphore(self.config.monitor.per_host))
        while not slot.acquire(timeout=0.5):
            if self.stopping:
                return None
        return slot

    def _run_job(self, app: App, job: store.Job) -> None:
        video = app.store.videos.by_pk(job.video)
        slot = None
        if job.kind == "archive" and video.archived_at is None:
            slot = self._host_slot(video.url)
            if slot is None:
                app.queue.requeue(job)
                return
        try:
            with self._leased(job):
                self._do_job(app, job, video)
        finally:
            if slot is not None:
                slot.release()

    @contextmanager
    def _leased(self, job: store.Job) -> Iterator[None]:
        """Keep extending the job's lease while it runs, whether or not its work reports
        progress: a live recording by ffmpeg or a long decode says nothing for hours, and must
        never be claimed a second time. (Its own connection: the worker's is in use.)"""
        done = threading.Event()

        def keep() -> None:
            with store.Store(self.config.store_target) as own:
                queue = store.open_queue(own)
                while not done.wait(self.lease_s / 3):
                    try:
                        queue.extend(job, self.owner, self.lease_s)
                    except store.StoreError as exc:
                        log.warning("cannot extend the lease of job %d: %s", job.id, exc)

        keeper = threading.Thread(target=keep, name=f"lease-{job.id}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join(timeout=30)

    def _keeping(self, app: App, job: store.Job):
        """The should_stop callback a job's work calls as it progresses: it also extends the
        job's lease (at least every third of it), so a three-hour transcription or a slow
        download is never claimed a second time while it runs."""
        last = [time.monotonic()]

        def should_stop() -> bool:
            if time.monotonic() - last[0] > self.lease_s / 3:
                app.queue.extend(job, self.owner, self.lease_s)
                last[0] = time.monotonic()
            return self.stopping
        return should_stop

    def _do_job(self, app: App, job: store.Job, video: store.Video) -> None:
        keep = self._keeping(app, job)
        try:
            if job.kind == "archive":
                if video.archived_at is None:
                    final = job.attempts >= self.config.monitor.max_attempts
                    app.archive_video(video, should_stop=keep, final=final,
                                      record_live=self.config.monitor.live == "record")
                app.queue.enqueue("transcribe", video.id)
                self._wake.set()
            elif job.kind == "transcribe":
                if video.state != "transcribed":
                    app.transcribe_video(video, should_stop=keep)
            elif job.kind == "timestamp" and not stamping.timestamp_capture(app, video, queue=False):
                why = "no timestamp authority answered"
                if job.attempts >= self.config.monitor.max_attempts:
                    app.queue.fail(job, why)
                else:
                    app.queue.retry(job, why, self.retry_base)
                return
            app.queue.done(job)
        except monitor.Cancelled:
            app.queue.requeue(job)
        except monitor.Deferred as exc:
            if app.disk_low() is not None:   # checked again every minute: resumes by itself
                log.warning("%s", exc)
                app.queue.retry(job, str(exc), DISK_RECHECK_S, retry_after_s=DISK_RECHECK_S)
            else:
                app.queue.retry(job, str(exc), self.poll_every, retry_after_s=self.poll_every)
        except monitor.DownloadError as exc:
            if exc.permanent or job.attempts >= self.config.monitor.max_attempts:
                app.queue.fail(job, str(exc))
            else:
                delay = app.queue.retry(job, str(exc), self.retry_base, retry_after_s=exc.retry_after)
                asked = f" (Retry-After {exc.retry_after:.0f}s)" if exc.retry_after else ""
                log.info("retry %s in %.0fs%s", video.video_id, delay, asked)
        except (monitor.MonitorError, store.StoreError) as exc:
            app.queue.fail(job, str(exc))
        except transcribe.TranscribeError as exc:  # bad audio, missing model: this job only
            log.warning("failed %s %s: %s", job.kind, video.video_id, exc)
            app.store.videos.mark_failed(video, f"{job.kind}: {exc}")
            app.queue.fail(job, str(exc))


WORKER_PAUSE_S = 5.0
HEARTBEAT_S = 5.0
DISK_RECHECK_S = 60.0


def _now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)
