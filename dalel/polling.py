"""Polling: check a source once (conditional GET, Retry-After held), record what is new
within the history chosen for its channel, list a YouTube channel's whole history once,
and archive what was found — the CLI's `poll`; the daemon runs the same steps as jobs."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Iterable

import monitor
import store


if TYPE_CHECKING:
    from .app import App

__all__ = ["PollReport", "check_source", "discover", "poll", "reconcile_source", "scheduled_check"]
log = logging.getLogger("dalel")


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


def check_source(app: App, src: store.Source) -> tuple[list[store.Video], bool]:
    """Check one source once and record the check.

    Returns (the videos seen for the first time, whether the source was unchanged).

    A failure is recorded on the source (with the server's Retry-After as a hold) and raised.
    """
    try:
        listing = monitor.list_source(
            src.kind, src.url, src.feed_url, etag=src.etag, last_modified=src.last_modified,
            ytdlp_opts=app.ytdlp_options(), fetcher=app.fetcher)
    except Exception as exc:
        if not isinstance(exc, monitor.MonitorError):   # a page or feed no parser foresaw
            log.exception("source %s: unexpected error", src.name or src.url)
            exc = monitor.MonitorError(f"unexpected error reading the source: {type(exc).__name__}: "
                                       f"{str(exc)[:200]}")
        wait = getattr(exc, "retry_after", None)
        app.store.sources.record_check(src.id, error=str(exc),
                                not_before=store.utcnow(wait) if wait else None)
        log.warning("source %s: check failed: %s", src.name or src.url, exc)
        raise exc
    if src.last_checked is None and src.last_n:   # the first check sets the --last cutoff
        dates = sorted((e.published for e in listing.entries if e.published), reverse=True)
        if len(dates) > src.last_n:
            cutoff = dates[src.last_n - 1][:10]
            src = replace(src, cutoff=max(cutoff, src.since or ""))
            app.store.sources.set_cutoff(src.id, src.cutoff)
    app.store.sources.record_check(src.id, error=None, etag=listing.etag,
                            last_modified=listing.last_modified, name=listing.title)
    return discover(app, src, listing.entries), listing.status == 304


def discover(app: App, src: store.Source, entries: Iterable[monitor.Entry]) -> list[store.Video]:
    new = app.store.videos.discover_many([
        dict(platform=e.platform, video_id=e.video_id, url=e.url, source_id=src.id,
             title=e.title, channel=e.channel, published=e.published,
             description=e.description) for e in entries])
    if src.cutoff:   # the history chosen at add time: older videos are recorded, not archived
        older = [v for v in new if v.published and v.published[:10] < src.cutoff]
        app.store.videos.mark_skipped(older, f"published before {src.cutoff} (channel added with "
                                       + (f"--since {src.since}" if src.since else f"--last {src.last_n}") + ")")
        new = [v for v in new if v not in older]
    for video in new:
        log.info("found %s:%s %s", video.platform, video.video_id, video.title or "")
    return new


def scheduled_check(app: App, src: store.Source, reconcile_every: float) -> list[store.Video]:
    """The daemon's check of a source that is due: its feed, and a YouTube channel's whole
    listing every `reconcile_every` seconds (the history beyond the feed's newest 15). Returns
    the videos seen for the first time; a failure is recorded on the source and raised."""
    new, _ = check_source(app, src)
    if src.kind == "youtube" and (src.last_reconciled is None or store.parse_stamp(src.last_reconciled)
                                  + reconcile_every <= store.parse_stamp(store.utcnow())):
        new += reconcile_source(app, src)
    return new


def reconcile_source(app: App, src: store.Source) -> list[store.Video]:
    """A full yt-dlp listing of a YouTube channel, stopping at the first known video."""
    def known(platform: str, video_id: str) -> bool:
        try:
            app.store.videos.get(platform, video_id)
            return True
        except store.NotFound:
            return False

    entries = monitor.reconcile(src.kind, src.feed_url or src.url, app.ytdlp_options(), known)
    app.store.sources.mark_reconciled(src.id)
    return discover(app, app.store.sources.get(src.id), entries)   # with the cutoff the first check set


def poll(app: App, channel: str | None = None, progress: Callable[[str], None] = lambda _: None) -> PollReport:
    """Check sources once and archive what is new, in this process (the CLI's `poll`)."""
    sources = [app.store.sources.get(channel)] if channel else [s for s in app.store.sources.all() if not s.paused]
    report = PollReport(sources=len(sources))
    errors = []
    for src in sources:
        try:
            new, unchanged = check_source(app, src)
            if src.kind == "youtube" and src.last_reconciled is None:
                new += reconcile_source(app, src)   # the history beyond the feed's newest 15
        except monitor.MonitorError as exc:
            errors.append(f"{src.name or src.url}: {exc}")
            continue
        report.found += len(new)
        report.unchanged += unchanged
    ids = {s.id for s in sources}
    # (a paused source's videos wait; videos archived by URL have no source)
    pending = [v for v in app.store.videos.all("discovered")
               if v.source_id in ids or (channel is None and v.source_id is None)]
    for video in pending:
        progress(f"archiving {video.video_id} {video.title or ''}")
        try:
            app.archive_video(video, final=False)
            report.archived += 1
        except monitor.Deferred as exc:
            if app.disk_low() is not None:
                errors.append(str(exc))
                break
            report.deferred += 1
            if exc.live and app.config.monitor.live == "record":   # the daemon records it, under a lease
                app.queue.enqueue("archive", video.id)
        except monitor.MonitorError as exc:
            if getattr(exc, "permanent", True):
                report.failed += 1
            else:   # transient is never final: queued, tried again by the daemon or the next poll
                retry_s = app.config.monitor.retry_base
                app.queue.enqueue("archive", video.id, delay_s=max(retry_s, getattr(exc, "retry_after", None) or 0.0))
                report.retrying += 1
    report.errors = tuple(errors)
    return report
