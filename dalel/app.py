"""The app: wires monitor → transcribe → store. Every CLI command and web page calls in here."""
from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlsplit

import monitor
import store
import transcribe

from . import __version__
from .config import Config, parse_duration, parse_size
from .errors import DalelError
from .formats import parse_subtitles, shown_url

log = logging.getLogger("dalel")
SEGMENT_BATCH = 8   # segments per database transaction while transcribing
Progress = Callable[[str], None]


@dataclass
class PollReport:
    sources: int = 0
    unchanged: int = 0
    found: int = 0
    archived: int = 0
    failed: int = 0
    deferred: int = 0      # live or upcoming: archived once they have ended
    retrying: int = 0      # a transient failure (5xx, timeout, cut download): queued to try again
    errors: tuple[str, ...] = ()


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
        self.store = store.Store(config.db_path, actor=config.evidence.actor or None)
        self.queue = store.Queue(self.store)
        self._transcriber: transcribe.Transcriber | None = None
        self._fetcher: monitor.Fetcher | None = None
        self._model_override: str | None = None
        self.last_warning: str | None = None   # what the last add_channel warned about

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()
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
                                    socket_timeout=parse_duration(m.request_timeout),
                                    sleep_s=parse_duration(m.download_sleep),
                                    js_runtime=m.js_runtime)

    def http_options(self) -> monitor.HttpOptions:
        m = self.config.monitor
        return monitor.HttpOptions(timeout=parse_duration(m.request_timeout), proxy=m.proxy or None,
                                   min_interval=parse_duration(m.min_request_interval))

    def archive_options(self) -> monitor.ArchiveOptions:
        return monitor.ArchiveOptions(self.config.archive_dir, self.config.tmp_dir,
                                      self.ytdlp_options(), {"dalel": __version__})

    # --- channels ----------------------------------------------------------

    def add_channel(self, url: str, name: str | None = None, every: str | None = None,
                    since: str | None = None, last_n: int | None = None) -> store.Source:
        every_s = int(parse_duration(every, "--every")) if every else None
        spec = monitor.identify(url, self.ytdlp_options(), self.http_options())
        if spec.warning:
            log.warning("channel %s: %s", url, spec.warning)
            self.last_warning = spec.warning
        return self.store.add_source(spec.url, spec.kind, spec.feed_url, name or spec.name, every_s,
                                     since=since, last_n=last_n)

    def sync_config_channels(self) -> None:
        """Channels listed in config.toml are watched like those added by hand."""
        known = {s.url for s in self.store.list_sources()}
        for ch in self.config.channels:
            if ch.url not in known:
                try:
                    self.add_channel(ch.url, ch.name or None, ch.every or None, since=ch.since or None,
                                     last_n=ch.last or None)
                except (monitor.MonitorError, store.StoreError) as exc:
                    log.warning("channel %s from config not added: %s", ch.url, exc)

    # --- polling and archiving ---------------------------------------------

    def check_source(self, src: store.Source) -> tuple[list[store.Video], bool]:
        """Check one source once and record the check.

        Returns (the videos seen for the first time, whether the source was unchanged).

        A failure is recorded on the source (with the server's Retry-After as a hold) and raised.
        """
        try:
            listing = monitor.list_source(
                src.kind, src.url, src.feed_url, etag=src.etag, last_modified=src.last_modified,
                ytdlp_opts=self.ytdlp_options(), fetcher=self.fetcher)
        except Exception as exc:
            if not isinstance(exc, monitor.MonitorError):   # a page or feed no parser foresaw
                log.exception("source %s: unexpected error", src.name or src.url)
                exc = monitor.MonitorError(f"unexpected error reading the source: {type(exc).__name__}: "
                                           f"{str(exc)[:200]}")
            wait = getattr(exc, "retry_after", None)
            self.store.record_check(src.id, error=str(exc),
                                    not_before=store.utcnow(wait) if wait else None)
            log.warning("source %s: check failed: %s", src.name or src.url, exc)
            raise exc
        if src.last_checked is None and src.last_n:   # the first check sets the --last cutoff
            dates = sorted((e.published for e in listing.entries if e.published), reverse=True)
            if len(dates) > src.last_n:
                cutoff = dates[src.last_n - 1][:10]
                src = replace(src, cutoff=max(cutoff, src.since or ""))
                self.store.set_cutoff(src.id, src.cutoff)
        self.store.record_check(src.id, error=None, etag=listing.etag,
                                last_modified=listing.last_modified, name=listing.title)
        return self._discover(src, listing.entries), listing.status == 304

    def _discover(self, src: store.Source, entries: Iterable[monitor.Entry]) -> list[store.Video]:
        new = self.store.discover_many([
            dict(platform=e.platform, video_id=e.video_id, url=e.url, source_id=src.id,
                 title=e.title, channel=e.channel, published=e.published,
                 description=e.description) for e in entries])
        if src.cutoff:   # the history chosen at add time: older videos are recorded, not archived
            older = [v for v in new if v.published and v.published[:10] < src.cutoff]
            self.store.mark_skipped(older, f"published before {src.cutoff} (channel added with "
                                           + (f"--since {src.since}" if src.since else f"--last {src.last_n}") + ")")
            new = [v for v in new if v not in older]
        for video in new:
            log.info("found %s:%s %s", video.platform, video.video_id, video.title or "")
        return new

    def reconcile_source(self, src: store.Source) -> list[store.Video]:
        """A full yt-dlp listing of a YouTube channel, stopping at the first known video."""
        def known(platform: str, video_id: str) -> bool:
            try:
                self.store.video(platform, video_id)
                return True
            except store.NotFound:
                return False

        entries = monitor.reconcile(src.kind, src.feed_url or src.url, self.ytdlp_options(), known)
        self.store.mark_reconciled(src.id)
        return self._discover(self.store.get_source(src.id), entries)   # with the cutoff the first check set

    def poll(self, channel: str | None = None, progress: Progress = _quiet) -> PollReport:
        """Check sources once and archive what is new, in this process (the CLI's `poll`)."""
        sources = [self.store.get_source(channel)] if channel else self.store.list_sources()
        report = PollReport(sources=len(sources))
        errors = []
        for src in sources:
            try:
                new, unchanged = self.check_source(src)
                if src.kind == "youtube" and src.last_reconciled is None:
                    new += self.reconcile_source(src)   # the history beyond the feed's newest 15
            except monitor.MonitorError as exc:
                errors.append(f"{src.name or src.url}: {exc}")
                continue
            report.found += len(new)
            report.unchanged += unchanged
        ids = {s.id for s in sources}
        pending = [v for v in self.store.videos("discovered") if channel is None or v.source_id in ids]
        for video in pending:
            progress(f"archiving {video.video_id} {video.title or ''}")
            try:
                self.archive_video(video, final=False)
                report.archived += 1
            except monitor.Deferred as exc:
                if self.disk_low() is not None:
                    errors.append(str(exc))
                    break
                report.deferred += 1
            except monitor.MonitorError as exc:
                if getattr(exc, "permanent", True):
                    report.failed += 1
                else:   # transient is never final: queued, tried again by the daemon or the next poll
                    retry_s = parse_duration(self.config.monitor.retry_base)
                    self.queue.enqueue("archive", video.id, delay_s=max(retry_s, getattr(exc, "retry_after", None) or 0.0))
                    report.retrying += 1
        report.errors = tuple(errors)
        return report

    def disk_free(self) -> tuple[int, int]:
        """(free bytes on the data disk, the configured minimum)."""
        return shutil.disk_usage(self.config.data_dir).free, parse_size(self.config.monitor.min_free_space)

    def disk_low(self) -> str | None:
        """Why downloads are paused for disk space, or None."""
        free, minimum = self.disk_free()
        if free >= minimum:
            return None
        return (f"downloads paused: {free / 1e9:.1f} GB free on the data disk, less than "
                f"[monitor] min_free_space ({minimum / 1e9:.1f} GB); they resume when space returns")

    def retry_failed(self, video_ids: Iterable[str] = ()) -> list[store.Video]:
        """Failed videos (these, or all) queued again: archive, or transcribe if archived."""
        videos = [self.store.find_video(v) for v in video_ids] or self.store.videos("failed")
        done = []
        for video in videos:
            if self.store.reset_failed(video):
                self.queue.enqueue("transcribe" if video.archived_at else "archive", video.id)
                done.append(video)
        return done

    def archive_video(self, video: store.Video, should_stop: Callable[[], bool] = lambda: False,
                      final: bool = True) -> store.Video:
        """Archive one discovered video. A failure is logged and raised; when `final`
        (no retry will follow) or permanent, the video is marked failed."""
        if (low := self.disk_low()) is not None:
            raise monitor.Deferred(low)
        log.info("downloading %s from %s", video.video_id, urlsplit(video.url).hostname)
        try:
            got = monitor.archive(video.url, self.archive_options(), platform=video.platform,
                                  video_id=video.video_id, source_url=self.source_url(video),
                                  hint={"title": video.title, "channel": video.channel,
                                        "published": video.published,
                                        "description": video.description}, should_stop=should_stop)
        except monitor.Deferred as exc:
            self.store.set_live_status(video, "is_live")
            log.info("deferred %s: %s", video.video_id, exc)
            raise
        except monitor.Cancelled:
            raise
        except monitor.MonitorError as exc:
            permanent = getattr(exc, "permanent", False)
            if final or permanent:
                self.store.mark_failed(video, str(exc))
            log.warning("failed %s: %s%s", video.video_id, exc, "" if final or permanent else " (will retry)")
            raise
        return self._record(video, got)

    def archive_url(self, url: str) -> tuple[store.Video, bool]:
        """Archive one video by URL now. Returns (video, whether it was downloaded now)."""
        def known(platform: str, video_id: str) -> bool:
            try:
                return self.store.video(platform, video_id).archived_at is not None
            except store.NotFound:
                return False

        got = monitor.archive(url, self.archive_options(), known=known)
        if got is not None and known(got.platform, got.video_id):
            raise DalelError(f"{url} is archived already; see `dalel status`")
        if got is None:
            raise DalelError(f"{url} is archived already; see `dalel status`")
        video, _ = self.store.discover(got.platform, got.video_id, got.meta.get("webpage_url") or url,
                                       title=got.meta.get("title"), channel=got.meta.get("channel"),
                                       published=got.meta.get("published"))
        return self._record(video, got), True

    def source_url(self, video: store.Video) -> str | None:
        if video.source_id is None:
            return None
        try:
            return self.store.get_source(video.source_id).url
        except store.NotFound:
            return None

    def _record(self, video: store.Video, got: monitor.Archived) -> store.Video:
        files = [store.FileRecord(f.role, f.path, f.size, f.sha256) for f in got.files]
        done = self.store.mark_archived(video, got.folder, files, got.meta)
        media = next((f for f in files if f.role == "media"), None)
        log.info("archived %s: %s (%s bytes, sha256 %s)", video.video_id, got.folder,
                 media.size if media else "?", media.sha256[:16] if media else "?")
        self.index_extras(done)
        return done

    # --- text beside the speech: title, description, platform subtitles, imports ----

    def index_extras(self, video: store.Video) -> None:
        """Make the title, description and platform subtitles searchable, each tagged by source."""
        meta = [video.title or ""] + [p for p in (video.description or "").split("\n") if p.strip()]
        self._store_text(video, "metadata", [(0.0, 0.0, t) for t in meta if t.strip()], None,
                         model="title and description")
        for f in self.store.files(video):
            if f.role != "subtitles":
                continue
            path = self.config.archive_dir / f.path
            lang = _lang_from_name(path.name)
            try:
                cues = parse_subtitles(path.read_text(encoding="utf-8", errors="replace"))
            except (OSError, ValueError) as exc:
                log.warning("subtitles %s not indexed: %s", f.path, exc)
                continue
            self._store_text(video, "subtitles", cues, lang, model=path.name)

    def import_transcript(self, video_id: str, path: Path, lang: str | None) -> int:
        """Import an SRT, WebVTT or plain-text transcript as another transcript of a video."""
        video = self.store.find_video(video_id)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DalelError(f"cannot read {path}: {exc}; give a UTF-8 SRT, WebVTT or text file") from exc
        try:
            cues = parse_subtitles(text)
        except ValueError as exc:
            raise DalelError(f"{path}: {exc}; fix the file and import it again") from exc
        if not cues:
            raise DalelError(f"{path} holds no transcript text")
        return self._store_text(video, "import", cues, lang, model=path.name)

    def _store_text(self, video: store.Video, source: str, cues: list[tuple[float, float, str]],
                    lang: str | None, model: str) -> int:
        records = [store.SegmentRecord(a, b, t, lang or store.guess_lang(t)) for a, b, t in cues]
        tid = self.store.add_text_transcript(video, source=source, model=model, segments=records,
                                             bridges=source != "metadata")
        self.check_watches(tid)
        return len(records)

    # --- watchlist ---------------------------------------------------------

    def check_watches(self, transcript_id: int) -> list[dict]:
        """Run every saved search on a newly indexed transcript; record (and post) alerts."""
        new: list[dict] = []
        for watch in store.list_watches(self.store):
            opts = store.SearchOptions(transcript=transcript_id, limit=10_000)
            hits = store.search(self.store, store.parse(watch.query), opts, approximate=False).hits
            for alert in store.record_alerts(self.store, watch, hits):
                log.info("alert: watch %d %r matched %s at %.1fs", watch.id, watch.query,
                         alert["video_id"], alert["start"])
                new.append(alert)
        if new and self.config.watch.webhook:
            self._post_alerts(new)
        return new

    def _post_alerts(self, alerts: list[dict]) -> None:
        import httpx
        try:
            resp = httpx.post(self.config.watch.webhook, json={"alerts": alerts},
                              timeout=parse_duration(self.config.watch.webhook_timeout))
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("webhook %s failed: %s; alerts stay in `dalel watch alerts`",
                        self.config.watch.webhook, exc)
            return
        store.mark_delivered(self.store, [a["id"] for a in alerts])

    def media_path(self, video: store.Video) -> Path:
        media = [f for f in self.store.files(video) if f.role == "media"]
        if not media:
            raise DalelError(f"video {video.video_id} is not archived yet; run `dalel poll` "
                             "or `dalel archive URL` first")
        return self.config.archive_dir / media[0].path

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
                cpu_threads=t.cpu_threads, window_s=parse_duration(t.window, "transcribe.window"),
                models=tuple(sorted(t.models.items()))))
        return self._transcriber

    def videos_to_transcribe(self, video_ids: Iterable[str] = ()) -> list[store.Video]:
        ids = list(video_ids)
        if not ids:
            return self.store.videos_to_transcribe()
        return [self.store.find_video(v) for v in ids]

    def transcribe_video(self, video: store.Video, progress: Callable[[float, float], None] | None = None,
                         should_stop: Callable[[], bool] = lambda: False) -> int:
        """Transcribe one archived video, storing segments as they are produced.

        A transcript cut short (crash, shutdown) resumes from its last checkpoint. When
        `should_stop` turns true the work stops between segments.
        """
        path = self.media_path(video)
        started = time.monotonic()
        # The Russian dictionaries load (~0.3 s) while the model loads and the audio decodes.
        threading.Thread(target=store.analyse, args=("прогрев", "ru"), daemon=True).start()
        t = self.transcriber()
        resume = self.store.resumable_transcript(video, "asr", t.model_label)
        tid, start_at, seq = resume if resume else (None, 0.0, 0)
        info, events = t.transcribe(str(path), start_at=start_at)
        if tid is None:
            tid = self.store.begin_transcript(
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
                            "empty": [list(g) for g in ev.empty]}
            if len(batch) >= SEGMENT_BATCH or isinstance(ev, transcribe.Checkpoint):
                seq += self.store.add_segments(tid, video, seq, batch)
                batch = []
                if progress:
                    progress(ev.seconds if isinstance(ev, transcribe.Checkpoint) else ev.end,
                             info.duration)
            if isinstance(ev, transcribe.Checkpoint):
                self.store.set_checkpoint(tid, ev.seconds, coverage)
                coverage = None
            if should_stop():
                raise monitor.Cancelled(f"transcription of {video.video_id} stopped for shutdown")
        seq += self.store.add_segments(tid, video, seq, batch)
        elapsed = time.monotonic() - started
        self.store.finish_transcript(tid, video, elapsed, {"dropped": dropped} if dropped else None)
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
            if self.store.mark_available(video):
                log.warning("back online %s", video.video_id)
            return None
        if self.store.mark_removed(video, message):
            log.warning("removed at source %s: %s", video.video_id, message)
        return message

    # --- status ----------------------------------------------------------------

    def status_failures(self) -> list[dict]:
        """Failed videos grouped by the platform's message."""
        return _by_reason(self.store.videos("failed"))

    def daemon_state(self) -> dict:
        """{"alive", "heartbeat", "pid", "host"}: alive while its heartbeat is fresh (and, on
        this host, its process exists)."""
        import json
        import socket
        from .daemon import HEARTBEAT_STALE_S
        try:
            beat = json.loads(self.store.meta("daemon") or "{}")
        except ValueError:
            beat = {}
        at = beat.get("heartbeat")
        alive = at is not None and time.time() - at < HEARTBEAT_STALE_S
        if alive and beat.get("host") == socket.gethostname():
            try:
                os.kill(int(beat["pid"]), 0)
            except (OSError, ValueError, KeyError):
                alive = False
        return {"alive": alive, "heartbeat": store.stamp(at) if at else None,
                "pid": beat.get("pid"), "host": beat.get("host")}

    def status(self) -> dict:
        """What `dalel status` shows: counts, sources with last/next check, queue, failures."""
        poll_every = parse_duration(self.config.monitor.poll_every)
        sources = []
        for src in self.store.list_sources():
            row = asdict(src) | {"url": shown_url(src.url), "feed_url": shown_url(src.feed_url)}
            nxt = None
            if src.last_checked:
                nxt = store.stamp(store.parse_stamp(src.last_checked) + (src.every_s or poll_every))
            if src.not_before and (nxt is None or src.not_before > nxt):
                nxt = src.not_before
            row["next_check"] = nxt
            sources.append(row)
        free, minimum = self.disk_free()
        failed = self.store.videos("failed")
        return {
            "data_dir": str(self.config.data_dir),
            "daemon": self.daemon_state(),
            "disk": {"free_bytes": free, "min_free_bytes": minimum, "paused": free < minimum},
            "videos": self.store.counts(),
            "coverage": self.store.coverage(),
            "queue": self.queue.depth(),
            "sources": sources,
            "failed": [{"video_id": v.video_id, "title": v.title, "error": v.error} for v in failed],
            "failures_by_reason": _by_reason(failed),
            "removed": [{"video_id": v.video_id, "title": v.title, "removed_at": v.removed_at,
                         "message": next((e["detail"] for e in reversed(self.store.events(v))
                                          if e["event"] == "removed_at_source"), None)}
                        for v in self.store.removed()],
        }


def _by_reason(videos: list[store.Video]) -> list[dict]:
    """Failed videos grouped by the platform's message (URLs and ids taken out), most first."""
    groups: dict[str, list[str]] = {}
    for v in videos:
        reason = re.sub(r"https?://\S+", "<url>", v.error or "unknown").replace(v.video_id, "<id>")[:160]
        groups.setdefault(reason, []).append(v.video_id)
    return [{"reason": r, "count": len(ids), "videos": ids}
            for r, ids in sorted(groups.items(), key=lambda kv: -len(kv[1]))]


def _lang_from_name(name: str) -> str | None:
    """"ID.ru.vtt" → "ru"; "ID.kk-orig.vtt" → "kk"."""
    parts = name.split(".")
    code = parts[-2].split("-")[0] if len(parts) >= 3 else ""
    return code if code in store.LANGUAGES else None
