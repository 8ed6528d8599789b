"""The daemon's workers: threads that claim jobs (poll, archive, transcribe, timestamp, recheck,
fixity) from the queue under leases and do them, in `dalel run` beside the scheduler or alone in
`dalel worker` on any number of machines. A lease is extended while its job runs, so a three-hour
transcription is never claimed twice; a worker killed mid-job leaves a lease that runs out (or,
on its own machine, an owner found dead at the next start) and another worker takes the job.
Downloads keep to `[monitor] per_host` per host across all of a cluster's workers."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator
from urllib.parse import urlsplit

import monitor
import store
import transcribe

from . import finals, stamping
from .app import App
from .config import Config
from .polling import scheduled_check
from .verification import verify_video

log = logging.getLogger("dalel.daemon")
WORKER_PAUSE_S = 5.0
DISK_RECHECK_S = 60.0
KINDS = ("poll", "archive", "transcribe", "timestamp", "recheck", "fixity")
NETWORK = ("poll", "archive", "timestamp", "recheck", "fixity")     # done by the downloading threads


class Workers:
    """Worker threads of one process, all under one owner id (host:pid:start)."""

    def __init__(self, config: Config, owner: str, stop: threading.Event, wake: threading.Event):
        self.config, self.owner, self._stop, self._wake = config, owner, stop, wake
        m = config.monitor
        self.lease_s, self.retry_base, self.poll_every = m.lease, m.retry_base, m.poll_every
        self._hosts: dict[str, threading.Semaphore] = {}   # downloads in flight per host (one process)
        self._hosts_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.current: dict[str, str] = {}                  # thread → what it works on now

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self, kinds: tuple[str, ...] = KINDS) -> None:
        """The configured threads for these kinds: downloaders for archive, timestamp, recheck and
        fixity jobs, transcribers for transcribe jobs."""
        downloads = tuple(k for k in kinds if k in NETWORK)
        threads = [(f"archiver-{i + 1}", downloads) for i in range(self.config.monitor.download_workers)
                   if downloads]
        if "transcribe" in kinds:
            threads += [(f"transcriber-{i + 1}", ("transcribe",)) for i in range(self.config.transcribe.workers)]
        for name, mine in threads:
            t = threading.Thread(target=self._work, args=(mine,), name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def join(self, grace_s: float) -> None:
        for t in self._threads:
            t.join(grace_s / max(1, len(self._threads)))

    def busy(self) -> bool:
        """Whether a worker thread is still running after the stop (a long native call)."""
        return any(t.is_alive() for t in self._threads)

    def _work(self, kinds: tuple[str, ...]) -> None:
        """Claim and run jobs until stopped. A job's failure stays in that job; trouble with
        the queue itself (the database busy, unreachable, restarted) is logged and retried after
        a pause on a new connection — a worker stops only on a signal."""
        app: App | None = None
        try:
            while not self.stopping:
                try:
                    app = app or App(self.config)
                    job = app.queue.claim(kinds, self.owner, self.lease_s)
                except Exception as exc:
                    log.warning("worker %s cannot claim a job (%s); trying again in %.0fs on a new connection",
                                threading.current_thread().name, str(exc).strip().splitlines()[0][:200]
                                if str(exc).strip() else type(exc).__name__, WORKER_PAUSE_S)
                    app = self._drop(app)
                    self._stop.wait(WORKER_PAUSE_S)
                    continue
                if job is None:
                    self._wake.wait(1.0)
                    self._wake.clear()
                    continue
                self.current[threading.current_thread().name] = f"{job.kind} job {job.id}"
                try:
                    self._run_job(app, job)
                except Exception:   # even a bug: the job is recorded, the worker goes on
                    log.exception("job %s %d failed unexpectedly", job.kind, job.id)
                    self._record_crash(app, job)
                finally:
                    self.current.pop(threading.current_thread().name, None)
        finally:
            self._drop(app)

    @staticmethod
    def _drop(app: App | None) -> None:
        if app is not None:
            try:
                app.close()
            except Exception:
                pass
        return None

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

    def _host_slot(self, app: App, url: str) -> Callable[[], None] | None:
        """Wait for a free download slot on the video's host — among this process's workers, and
        on a cluster among every worker's (store.processes.take_host_slot); returns the release,
        or None when stopping."""
        host = urlsplit(url).hostname or ""
        per_host = self.config.monitor.per_host
        if app.store.dialect == "postgresql":
            while (slot := store.processes.take_host_slot(app.store, host, per_host)) is None:
                if self._stop.wait(0.5):
                    return None
            return lambda: store.processes.free_host_slot(app.store, host, slot)
        with self._hosts_lock:
            sem = self._hosts.setdefault(host, threading.Semaphore(per_host))
        while not sem.acquire(timeout=0.5):
            if self.stopping:
                return None
        return sem.release

    def _run_job(self, app: App, job: store.Job) -> None:
        if job.source is not None:
            with self._leased(job):
                self._poll(app, job, job.source)
            return
        assert job.video is not None
        video = app.store.videos.by_pk(job.video)
        self.current[threading.current_thread().name] = f"{job.kind} {video.video_id}"
        release = None
        if job.kind == "archive" and video.archived_at is None:
            release = self._host_slot(app, video.url)
            if release is None:
                app.queue.requeue(job)
                return
        try:
            with self._leased(job):
                self._do_job(app, job, video)
        finally:
            if release is not None:
                release()

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

    def _poll(self, app: App, job: store.Job, source_pk: int) -> None:
        """A poll job (queued by a scheduler of its own): check the source as `dalel run`'s
        scheduler would, queue its new videos. A failed check is recorded on the source (with
        the server's Retry-After) and the job is done: the next poll is the scheduler's to
        queue when the source is due again."""
        try:
            src = app.store.sources.by_pk(source_pk)
        except store.NotFound:      # removed meanwhile (its jobs go with it)
            app.queue.done(job)
            return
        self.current[threading.current_thread().name] = f"poll {src.name or src.url}"
        if not src.paused:
            try:
                scheduled_check(app, src, self.config.monitor.reconcile_every)
            except monitor.MonitorError:
                pass
            if app.queue.top_up("archive", src.id, self.config.monitor.max_queued_per_source):
                self._wake.set()
        app.queue.done(job)

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
            elif job.kind == "recheck":
                if app.recheck(video) is None and finals.maybe_take_final(app, video):
                    self._wake.set()          # its final version is to be transcribed
            elif job.kind == "fixity":
                _, bad = verify_video(app, video)
                if bad:
                    log.error("fixity: %s: %s", video.video_id, "; ".join(bad))
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


