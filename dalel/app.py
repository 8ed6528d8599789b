"""The app: wires monitor → transcribe → store. Every CLI command and web page calls in here."""
from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlsplit

import monitor
import store
import transcribe

from . import __version__, extras, media, polling, stamping, status, watching
from .config import Config, parse_duration
from .files import ArchivedFiles
from .errors import DalelError

log = logging.getLogger("dalel")
SEGMENT_BATCH = 8   # segments per database transaction while transcribing
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class App:
    def __init__(self, config: Config):
        self.config = config
        try:
            config.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DalelError(f"cannot create the data folder {config.data_dir}: {exc.strerror or exc}; "
                             "choose a writable --data-dir or data_dir") from exc
        self.store = store.Store(config.store_target, actor=config.evidence.actor or None)
        self.queue = store.open_queue(self.store)
        self._transcriber: transcribe.Transcriber | None = None
        self._fetcher: monitor.Fetcher | None = None
        self._model_override: str | None = None
        self.last_warning: str | None = None   # what the last add_channel warned about
        self.user: str | None = None           # the web user acting (named in the audit log)
        self.files = ArchivedFiles(self)
        self.files.check()          # an S3 archive without Object Lock: refuse to start

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()
        self.files.release()
        self.store.close()

    def __enter__(self) -> "App":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def fetcher(self) -> monitor.Fetcher:
        if self._fetcher is None:
            self._fetcher = monitor.Fetcher(self.http_options())
        return self._fetcher

    # --- options derived from config ---------------------------------------

    def ytdlp_options(self) -> monitor.YtdlpOptions:
        m = self.config.monitor
        return monitor.YtdlpOptions(format=m.format or None, subtitle_langs=m.subtitle_langs,
                                    cookies_file=m.cookies_file or None, proxy=m.proxy or None,
                                    socket_timeout=m.request_timeout,
                                    sleep_s=m.download_sleep,
                                    js_runtime=m.js_runtime)

    def http_options(self) -> monitor.HttpOptions:
        m = self.config.monitor
        return monitor.HttpOptions(timeout=m.request_timeout, proxy=m.proxy or None,
                                   allow_private_redirects=m.allow_private_redirects,
                                   min_interval=m.min_request_interval)

    @property
    def archive_root(self) -> Path:
        """Where captures are assembled: the archive folder itself, or, with the archive in S3,
        local scratch emptied once a capture is uploaded and recorded."""
        return self.config.tmp_dir / "staging" if self.config.cluster.archive_url else self.config.archive_dir

    def archive_options(self) -> monitor.ArchiveOptions:
        return monitor.ArchiveOptions(self.archive_root, self.config.tmp_dir,
                                      self.ytdlp_options(), {"dalel": __version__})

    # --- channels ----------------------------------------------------------

    def add_channel(self, url: str, name: str | None = None, every: str | float | None = None,
                    since: str | None = None, last_n: int | None = None) -> store.Source:
        every_s = int(parse_duration(every, "--every")) if every else None
        spec = monitor.identify(url, self.ytdlp_options(), self.http_options())
        if spec.warning:
            log.warning("channel %s: %s", url, spec.warning)
            self.last_warning = spec.warning
        return self.store.sources.add(spec.url, spec.kind, spec.feed_url, name or spec.name, every_s,
                                     since=since, last_n=last_n)

    def sync_config_channels(self) -> None:
        """Channels listed in config.toml are watched like those added by hand."""
        known = {s.url for s in self.store.sources.all()}
        for ch in self.config.channels:
            if ch.url not in known:
                try:
                    self.add_channel(ch.url, ch.name or None, ch.every or None, since=ch.since or None,
                                     last_n=ch.last or None)
                except (monitor.MonitorError, store.StoreError) as exc:
                    log.warning("channel %s from config not added: %s", ch.url, exc)

    # --- polling and archiving ---------------------------------------------

    def check_source(self, src: store.Source) -> tuple[list[store.Video], bool]:
        return polling.check_source(self, src)

    def poll(self, channel: str | None = None, progress: Progress = _quiet) -> polling.PollReport:
        return polling.poll(self, channel, progress)

    def disk_free(self) -> tuple[int, int]:
        """(free bytes on the data disk, the configured minimum)."""
        return shutil.disk_usage(self.config.data_dir).free, self.config.monitor.min_free_space

    def disk_low(self) -> str | None:
        """Why downloads are paused for disk space, or None."""
        free, minimum = self.disk_free()
        if free >= minimum:
            return None
        return (f"downloads paused: {free / 1e9:.1f} GB free on the data disk, less than "
                f"[monitor] min_free_space ({minimum / 1e9:.1f} GB); they resume when space returns")

    def retry_failed(self, video_ids: Iterable[str] = ()) -> list[store.Video]:
        """Failed videos (these, or all) queued again: archive, or transcribe if archived."""
        videos = [self.store.videos.find(v) for v in video_ids] or self.store.videos.all("failed")
        done = []
        for video in videos:
            if self.store.videos.reset_failed(video):
                self.queue.enqueue("transcribe" if video.archived_at else "archive", video.id)
                done.append(video)
        return done

    def archive_video(self, video: store.Video, should_stop: Callable[[], bool] = lambda: False,
                      final: bool = True, record_live: bool = False) -> store.Video:
        """Archive one discovered video. A failure is logged and raised; when `final`
        (no retry will follow) or permanent, the video is marked failed. With `record_live`,
        a stream that is live now is recorded until it ends (the daemon's archive jobs, with
        [monitor] live = "record"); else it is deferred until it has ended."""
        if (low := self.disk_low()) is not None:
            raise monitor.Deferred(low)
        self._preflight(video)
        log.info("downloading %s from %s", video.video_id, urlsplit(video.url).hostname)
        opts = self.archive_options()
        if record_live:
            opts = replace(opts, ytdlp=replace(opts.ytdlp, live=True,
                                               ffmpeg_location=opts.ytdlp.ffmpeg_location or media.ffmpeg_exe()))

        def recording() -> None:
            self.store.videos.set_live_status(video, "recording")
            log.info("recording %s while it is live", video.video_id)
        try:
            got = monitor.archive(video.url, opts, platform=video.platform,
                                  video_id=video.video_id, source_url=self.source_url(video),
                                  hint={"title": video.title, "channel": video.channel,
                                        "published": video.published,
                                        "description": video.description}, should_stop=should_stop,
                                  on_live=recording)
        except monitor.Deferred as exc:
            self.store.videos.set_live_status(video, "is_live" if exc.live else "upcoming")
            log.info("deferred %s: %s", video.video_id, exc)
            raise
        except monitor.Cancelled:
            raise
        except monitor.MonitorError as exc:
            permanent = getattr(exc, "permanent", False)
            if final or permanent:
                self.store.videos.mark_failed(video, str(exc))
            log.warning("failed %s: %s%s", video.video_id, exc, "" if final or permanent else " (will retry)")
            raise
        if got is None:   # (only a `known` check skips a download; none is passed here)
            raise DalelError(f"{video.video_id}: nothing was downloaded")
        return self._record(video, got)

    def _preflight(self, video: store.Video) -> None:
        """A generic source's link is followed here first, under the redirect rule, before
        yt-dlp fetches it with its own HTTP stack (YouTube's are its API's, not a feed's)."""
        if video.platform == "youtube":
            return
        try:
            monitor.preflight(video.url, self.source_url(video) or video.url, self.http_options())
        except monitor.FeedError as exc:
            self.store.videos.mark_failed(video, str(exc))
            raise monitor.DownloadError(str(exc), permanent=True) from exc

    def archive_url(self, url: str) -> tuple[store.Video, bool]:
        """Archive one video by URL now. Returns (video, whether it was downloaded now)."""
        def known(platform: str, video_id: str) -> bool:
            try:
                return self.store.videos.get(platform, video_id).archived_at is not None
            except store.NotFound:
                return False

        got = monitor.archive(url, self.archive_options(), known=known)
        if got is not None and known(got.platform, got.video_id):
            raise DalelError(f"{url} is archived already; see `dalel status`")
        if got is None:
            raise DalelError(f"{url} is archived already; see `dalel status`")
        video, _ = self.store.videos.discover(got.platform, got.video_id, got.meta.get("webpage_url") or url,
                                       title=got.meta.get("title"), channel=got.meta.get("channel"),
                                       published=got.meta.get("published"))
        return self._record(video, got), True

    def source_url(self, video: store.Video) -> str | None:
        if video.source_id is None:
            return None
        try:
            return self.store.sources.get(video.source_id).url
        except store.NotFound:
            return None

    def stored_files(self, got: monitor.Archived) -> list[store.FileRecord]:
        """A capture's files as recorded; with the archive in S3, uploaded first (manifest last)."""
        files = [store.FileRecord(f.role, f.path, f.size, f.sha256) for f in got.files]
        if not self.config.cluster.archive_url:
            return files
        stored = self.files.store_folder(self.archive_root / got.folder, got.folder)
        wrong = [f.path for f in files if stored[f.path].sha256 != f.sha256]
        if wrong:
            raise DalelError(f"{', '.join(wrong)} changed between hashing and upload; try again")
        return [replace(f, version_id=stored[f.path].version_id) for f in files]

    def _record(self, video: store.Video, got: monitor.Archived) -> store.Video:
        files = self.stored_files(got)
        staged = self.archive_root / got.folder
        done = self.store.videos.mark_archived(video, got.folder, files, got.meta)
        if self.config.cluster.archive_url:
            shutil.rmtree(staged, ignore_errors=True)   # no original stays in the data folder
        media = next((f for f in files if f.role == "media"), None)
        log.info("archived %s: %s (%s bytes, sha256 %s)", video.video_id, got.folder,
                 media.size if media else "?", media.sha256[:16] if media else "?")
        self.index_extras(done)
        if self.config.evidence.tsa_urls:
            stamping.timestamp_capture(self, done)
        return done

    # --- text beside the speech (extras.py) ----------------------------------------

    def index_extras(self, video: store.Video) -> None:
        extras.index_extras(self, video)

    def import_transcript(self, video_id: str, path: Path, lang: str | None) -> int:
        return extras.import_transcript(self, video_id, path, lang)

    # --- watchlist (watching.py) ------------------------------------------------

    def check_watches(self, transcript_id: int) -> list[dict]:
        return watching.check_watches(self, transcript_id)

    def media_path(self, video: store.Video) -> Path:
        media = [f for f in self.store.videos.files(video) if f.role == "media"]
        if not media:
            raise DalelError(f"video {video.video_id} is not archived yet; run `dalel poll` "
                             "or `dalel archive URL` first")
        return self.files.local(media[0])

    # --- transcription -----------------------------------------------------

    def use_model(self, name: str) -> None:
        """Transcribe with another model than the config's, in this process."""
        self._model_override = name
        self._transcriber = None

    def transcriber(self) -> transcribe.Transcriber:
        if self._transcriber is None:
            t = self.config.transcribe
            self._transcriber = transcribe.Transcriber(transcribe.TranscribeOptions(
                model=self._model_override or t.model, device=t.device, compute_type=t.compute_type,
                languages=t.languages, batch_size=t.batch_size, beam_size=t.beam_size,
                cpu_threads=t.cpu_threads, window_s=t.window,
                models=tuple(sorted(t.models.items()))))
        return self._transcriber

    def videos_to_transcribe(self, video_ids: Iterable[str] = ()) -> list[store.Video]:
        ids = list(video_ids)
        if not ids:
            return self.store.videos.to_transcribe()
        return [self.store.videos.find(v) for v in ids]

    def transcribe_video(self, video: store.Video, progress: Callable[[float, float], None] | None = None,
                         should_stop: Callable[[], bool] = lambda: False) -> int:
        """Transcribe one archived video, storing segments as they are produced.

        A transcript cut short (crash, shutdown) resumes from its last checkpoint. When
        `should_stop` turns true the work stops between segments.
        """
        try:
            return self._transcribe(video, progress, should_stop)
        finally:
            self.files.release()       # a scratch copy of an original fetched from S3

    def _transcribe(self, video: store.Video, progress: Callable[[float, float], None] | None,
                    should_stop: Callable[[], bool]) -> int:
        path = self.media_path(video)
        started = time.monotonic()
        # The Russian dictionaries load (~0.3 s) while the model loads and the audio decodes.
        threading.Thread(target=store.analyse, args=("прогрев", "ru"), daemon=True).start()
        t = self.transcriber()
        resume = self.store.transcripts.resumable(video, "asr", t.model_label)
        tid, start_at, seq = resume if resume else (None, 0.0, 0)
        info, events = t.transcribe(str(path), start_at=start_at)
        if tid is None:
            tid = self.store.transcripts.begin(
                video, source="asr", model=info.model, settings=info.settings, language=None,
                language_probability=None, audio_seconds=info.duration)
        elif start_at:
            log.info("resuming %s from %.0fs", video.video_id, start_at)
        dropped: list[dict] = []
        batch: list[store.SegmentRecord] = []
        coverage: dict | None = None
        for ev in events:
            if isinstance(ev, transcribe.Segment):
                batch.append(store.SegmentRecord(
                    ev.start, ev.end, ev.text, ev.lang, ev.probability,
                    tuple(store.WordRecord(w.start, w.end, w.word, w.probability) for w in ev.words),
                    ev.lang_probability))
            elif isinstance(ev, transcribe.Dropped):
                dropped.append({"start": ev.start, "end": ev.end, "reason": ev.reason,
                                "text": ev.text[:200]})
            elif isinstance(ev, transcribe.Coverage):
                coverage = {"start": ev.start, "end": ev.end, "speech_s": ev.speech_s,
                            "covered_s": ev.covered_s, "redecoded": [list(g) for g in ev.redecoded],
                            "empty": [list(g) for g in ev.empty],
                            "undecodable": [list(g) for g in ev.undecodable]}
            if len(batch) >= SEGMENT_BATCH or isinstance(ev, transcribe.Checkpoint):
                seq += self.store.transcripts.add_segments(tid, video, seq, batch)
                batch = []
                if progress:
                    progress(ev.seconds if isinstance(ev, transcribe.Checkpoint) else ev.end,
                             info.duration)
            if isinstance(ev, transcribe.Checkpoint):
                self.store.transcripts.set_checkpoint(tid, ev.seconds, coverage)
                coverage = None
            if should_stop():
                raise monitor.Cancelled(f"transcription of {video.video_id} stopped for shutdown")
        seq += self.store.transcripts.add_segments(tid, video, seq, batch)
        elapsed = time.monotonic() - started
        self.store.transcripts.finish(tid, video, elapsed, {"dropped": dropped} if dropped else None)
        log.info("transcribed %s: %d segments (%d dropped), %.1fs audio in %.1fs", video.video_id,
                 seq, len(dropped), info.duration, elapsed)
        self.check_watches(tid)
        return seq

    # --- takedowns ---------------------------------------------------------

    def recheck(self, video: store.Video) -> str | None:
        """Check that an archived video is still at its source; returns the removal message."""
        try:
            message = monitor.check_available(video.url, self.ytdlp_options())
        except monitor.MonitorError as exc:
            log.info("recheck %s inconclusive: %s", video.video_id, exc)
            return None
        if message is None:
            if self.store.videos.mark_available(video):
                log.warning("back online %s", video.video_id)
            return None
        if self.store.videos.mark_removed(video, message):
            log.warning("removed at source %s: %s", video.video_id, message)
        return message

    # --- status (status.py) ------------------------------------------------------

    def status_failures(self) -> list[dict]:
        """Failed videos grouped by the platform's message."""
        return status.by_reason(self.store.videos.all("failed"))

    def daemon_state(self) -> dict:
        return status.daemon_state(self)

    def status(self) -> dict:
        return status.report(self)
