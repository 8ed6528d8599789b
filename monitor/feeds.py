"""Parse RSS 2.0 and Atom feeds, including YouTube's channel-feed format.

yt-dlp does not understand YouTube's Atom format, so feeds are parsed here and
each entry's link (or enclosure) is handed to yt-dlp.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml import ElementTree as DET

from .errors import FeedError

log = logging.getLogger(__name__)

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "yt": "http://www.youtube.com/xml/schemas/2015",
    "media": "http://search.yahoo.com/mrss/",
}


@dataclass(frozen=True)
class Entry:
    platform: str
    video_id: str
    url: str            # what yt-dlp downloads
    title: str | None = None
    channel: str | None = None
    published: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Feed:
    title: str | None
    entries: tuple[Entry, ...]


def looks_like_feed(content: bytes) -> bool:
    head = content[:2048].lstrip().lower()
    return head.startswith(b"<?xml") and (b"<rss" in head or b"<feed" in head) or \
        head.startswith(b"<rss") or head.startswith(b"<feed")


def parse_feed(content: bytes, base_url: str = "") -> Feed:
    """Parse a feed document; raises FeedError with what is wrong."""
    try:
        # defusedxml: no entity declaration (billion laughs) and no external reference,
        # wherever in the document; the standard parser then builds the tree
        root = DET.fromstring(content)
    except (EntitiesForbidden, ExternalReferenceForbidden, DTDForbidden) as exc:
        raise FeedError("feed declares XML entities; refusing to expand them") from exc
    except ET.ParseError as exc:
        raise FeedError(f"not a valid feed ({exc}); check the URL points at an RSS or Atom feed") from exc
    if root.tag == f"{{{NS['atom']}}}feed":
        return _atom(root, base_url)
    if root.tag == "rss":
        return _rss(root, base_url)
    raise FeedError(f"not an RSS or Atom feed (root element <{root.tag}>)")


def _text(el: ET.Element | None, path: str) -> str | None:
    if el is None:
        return None
    found = el.find(path, NS)
    return found.text.strip() if found is not None and found.text else None


def _atom(root: ET.Element, base_url: str) -> Feed:
    feed_title = _text(root, "atom:title")
    feed_author = _text(root, "atom:author/atom:name")
    entries = []
    for e in root.findall("atom:entry", NS):
        link = _atom_link(e)
        yt_id = _text(e, "yt:videoId")
        entry_id = yt_id or _text(e, "atom:id") or link
        if not link or not entry_id:
            continue
        if not web_url(link):
            log.warning("feed entry %r skipped: its link %r is not an http(s) URL", entry_id[:80], link[:200])
            continue
        entries.append(Entry(
            platform="youtube" if yt_id else _host(link or base_url),
            video_id=safe_id(entry_id),
            url=link,
            title=_text(e, "atom:title") or _text(e, "media:group/media:title"),
            channel=_text(e, "atom:author/atom:name") or feed_author or feed_title,
            published=_iso(_text(e, "atom:published") or _text(e, "atom:updated")),
            description=_text(e, "media:group/media:description") or _text(e, "atom:summary"),
        ))
    return Feed(feed_title, tuple(entries))


def _atom_link(e: ET.Element) -> str | None:
    links = e.findall("atom:link", NS)
    for rel in ("enclosure", "alternate", None):
        for link in links:
            if link.get("rel", "alternate") == rel or rel is None:
                if link.get("href"):
                    return link.get("href")
    return None


def _rss(root: ET.Element, base_url: str) -> Feed:
    channel = root.find("channel")
    if channel is None:
        raise FeedError("RSS feed has no <channel> element")
    feed_title = _text(channel, "title")
    entries = []
    for item in channel.findall("item"):
        enclosure = item.find("enclosure")
        link = enclosure.get("url") if enclosure is not None else None
        link = link or _text(item, "link")
        guid = _text(item, "guid") or link
        if not link or not guid:
            continue
        if not web_url(link):
            log.warning("feed entry %r skipped: its link %r is not an http(s) URL", guid[:80], link[:200])
            continue
        entries.append(Entry(
            platform=_host(link or base_url), video_id=safe_id(guid), url=link,
            title=_text(item, "title"), channel=feed_title,
            published=_rfc822(_text(item, "pubDate")), description=_text(item, "description")))
    return Feed(feed_title, tuple(entries))


def _host(url: str) -> str:
    return safe_id((urlsplit(url).hostname or "web").lower()) if web_url(url) else "web"


_ID_MAX = 100


def safe_id(raw: str) -> str:
    """An id that is also a safe folder name, and distinct for distinct ids: when making it
    safe changes it (a/b and a_b, an id of 300 characters, "..") a short hash of the raw
    id is appended, so two items never become one and no id names a path."""
    raw = raw.strip()
    for prefix in ("yt:video:",):
        raw = raw.removeprefix(prefix)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", raw)[:_ID_MAX].strip(".") or "item"
    if safe != raw:
        safe = f"{safe}-{hashlib.sha256(raw.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"
    return safe


def web_url(url: str) -> bool:
    """Whether a URL is one Dalel may fetch: http(s), a host, a valid port, nothing else
    (not file:, javascript:, gopher:, "http://[::1")."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and (port is None or 0 < port < 65536) \
        and not any(ch in url for ch in "\x00\r\n\t ")


def _rfc822(value: str | None) -> str | None:
    """An RSS date as ISO 8601; None when it is not a date (never stored raw: a filter by
    date must not match text)."""
    if not value:
        return None
    try:
        return _plausible(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return _iso(value)


def _iso(value: str | None) -> str | None:
    """An Atom date (ISO 8601) normalised; None when it is not one."""
    if not value:
        return None
    try:
        return _plausible(dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except (TypeError, ValueError, OverflowError):
        return None


def _plausible(when: dt.datetime) -> str | None:
    return when.isoformat() if 1900 <= when.year <= 2200 else None
