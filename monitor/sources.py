"""What kind of source a URL is, and how to list its videos."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator
from urllib.parse import parse_qs, urlsplit

from . import ytdlp
from .errors import FeedError, MonitorError
from .feeds import Entry, looks_like_feed, parse_feed, safe_id, web_url
from .fetch import Fetched, Fetcher, HttpOptions, fetch, redirect_refusal

log = logging.getLogger(__name__)

YOUTUBE_FEED = "https://www.youtube.com/feeds/videos.xml?channel_id={}"
_YT_HOST = re.compile(r"^(www\.|m\.)?youtube\.com$")
_YT_CHANNEL = re.compile(r"^/channel/(UC[\w-]{22})")
_FEEDISH = re.compile(r"(\.xml|\.rss|\.atom|/feeds?/?|/rss/?)$|feed|rss", re.I)
_YT_NAMED = re.compile(r"^/(@[\w.-]+|c/[\w.-]+|user/[\w.-]+)")


@dataclass(frozen=True)
class SourceSpec:
    url: str
    kind: str            # youtube | feed | ytdlp
    feed_url: str | None
    name: str | None = None
    warning: str | None = None   # the source is kept, but it did not answer well just now


@dataclass(frozen=True)
class Listing:
    status: int                   # 304: unchanged since the last check
    entries: tuple[Entry, ...]
    etag: str | None = None
    last_modified: str | None = None
    title: str | None = None


def _check_url(url: str) -> None:
    if not web_url(url):
        raise MonitorError(f"{url[:200]!r} is not an http(s) URL; give a channel, feed or playlist URL")


def identify(url: str, ytdlp_opts: ytdlp.YtdlpOptions, http: HttpOptions = HttpOptions()) -> SourceSpec:
    """Classify a URL a user wants to watch; contacts the source once."""
    url = url.strip()
    _check_url(url)
    parts = urlsplit(url)
    if _YT_HOST.match(parts.hostname or ""):
        if parts.path.startswith("/feeds/videos.xml"):
            cid = parse_qs(parts.query).get("channel_id", [""])[0]
            return SourceSpec(url, "youtube", url, None) if cid else SourceSpec(url, "feed", url)
        m = _YT_CHANNEL.match(parts.path)
        if m:
            return SourceSpec(url, "youtube", YOUTUBE_FEED.format(m.group(1)))
        if _YT_NAMED.match(parts.path):
            cid, name = ytdlp.resolve_channel_id(url, ytdlp_opts)
            return SourceSpec(url, "youtube", YOUTUBE_FEED.format(cid), name)
    try:
        got = fetch(url, options=http)
    except FeedError as exc:
        if exc.transient and exc.answered:   # a 5xx, a 429, a stall: the source may answer later
            kind = "feed" if _FEEDISH.search(parts.path) else "ytdlp"
            return SourceSpec(url, kind, url if kind == "feed" else None, None,
                              warning=f"{exc}; kept as a {kind} source, checked again at each poll")
        got = None  # not fetchable as a plain document; maybe yt-dlp knows it
    if got is not None and looks_like_feed(got.content):
        feed = parse_feed(got.content, url)
        return SourceSpec(url, "feed", url, feed.title)
    entries = ytdlp.list_entries(url, ytdlp_opts, limit=1)
    if not entries:
        raise MonitorError(f"{url} lists no videos; give a channel, feed or playlist URL")
    return SourceSpec(url, "ytdlp", None)


def list_source(kind: str, url: str, feed_url: str | None, *, etag: str | None = None,
                last_modified: str | None = None, ytdlp_opts: ytdlp.YtdlpOptions,
                fetcher: Fetcher) -> Listing:
    """The videos a source shows now (feeds: only when changed since the last check)."""
    allow = fetcher.options.allow_private_redirects
    if kind in ("youtube", "feed"):
        got: Fetched = fetcher.get(feed_url or url, etag=etag, last_modified=last_modified)
        if got.status == 304:
            return Listing(304, (), etag, last_modified)
        feed = parse_feed(got.content, feed_url or url)
        return Listing(200, _outside(feed.entries, feed_url or url, allow), got.etag, got.last_modified,
                       feed.title)
    return Listing(200, _outside(tuple(_entries(ytdlp.list_entries(url, ytdlp_opts))), url, allow))


def _outside(entries: tuple[Entry, ...], source: str, allow: bool) -> tuple[Entry, ...]:
    """A public source's entries that do not point into a private network (a feed must not
    make Dalel reach the machines beside it); the others are skipped with a warning."""
    kept = []
    for e in entries:
        why = redirect_refusal(source, e.url, allow)
        if why:
            log.warning("entry %r of %s skipped: %s", e.video_id[:80], source[:200], why.replace("redirects", "links"))
        else:
            kept.append(e)
    return tuple(kept)


def reconcile(kind: str, url: str, ytdlp_opts: ytdlp.YtdlpOptions,
              known: Callable[[str, str], bool]) -> list[Entry]:
    """A full listing with yt-dlp (feeds show only the newest 15), newest first,
    stopping at the first video already known."""
    if kind == "youtube":
        m = _YT_CHANNEL.match(urlsplit(url).path)
        cid = parse_qs(urlsplit(url).query).get("channel_id", [""])[0] or (m.group(1) if m else "")
        url = f"https://www.youtube.com/channel/{cid}/videos" if cid else url
    new = []
    for entry in _entries(ytdlp.iter_entries(url, ytdlp_opts)):
        if known(entry.platform, entry.video_id):
            break
        new.append(entry)
    return new


def _entries(raw: Iterable[dict]) -> Iterator[Entry]:
    """Entries of a yt-dlp listing, with ids made safe and distinct (a hostile page may list
    "../../etc" as an id) and links that are not http(s) skipped."""
    for e in raw:
        link = e.get("url") or e.get("webpage_url")
        if not link or not e.get("id") or not isinstance(link, str):
            continue
        if not web_url(link):
            log.warning("listed entry %r skipped: its link %r is not an http(s) URL", str(e["id"])[:80], link[:200])
            continue
        platform = "youtube" if (e.get("ie_key") or "").lower().startswith("youtube") else \
            safe_id((urlsplit(link).hostname or "web").lower())
        yield Entry(platform, safe_id(str(e["id"])), link, e.get("title"), e.get("channel"))
