"""HTTP for feeds: one httpx client, conditional GET, polite per-host pacing.

Errors are translated to FeedError at this boundary, with the server's Retry-After.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from .errors import FeedError

USER_AGENT = "dalel/0.1 (media-monitoring archive)"


@dataclass(frozen=True)
class Fetched:
    status: int            # 200, or 304 when unchanged since the last check
    content: bytes
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class HttpOptions:
    timeout: float = 30.0
    proxy: str | None = None
    min_interval: float = 0.0      # seconds between two requests to the same host


class Pacer:
    """Keeps at least `min_interval` seconds between requests to one host."""

    def __init__(self, min_interval: float):
        self.min_interval = min_interval
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, url: str) -> None:
        if self.min_interval <= 0:
            return
        host = urlsplit(url).hostname or ""
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(host, 0.0))
            self._next[host] = at + self.min_interval
        if at > now:
            time.sleep(at - now)


MAX_RETRY_AFTER = 24 * 3600.0   # a server may not silence a source for longer than a day


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), at most a day;
    None when it is neither (1e20, NaN and the year 9999 are capped, not obeyed)."""
    if not value or len(value) > 100:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if not math.isfinite(seconds) and seconds == seconds:   # inf: the cap; NaN: nothing
        return MAX_RETRY_AFTER
    if seconds != seconds:
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


class Fetcher:
    """A reusable HTTP client for feeds (keeps connections open across a polling round)."""

    def __init__(self, options: HttpOptions = HttpOptions()):
        self.options = options
        self.pacer = Pacer(options.min_interval)
        self.client = httpx.Client(timeout=options.timeout, proxy=options.proxy,
                                   follow_redirects=True, headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        self.pacer.wait(url)
        try:
            resp = self.client.get(url, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise FeedError(f"invalid URL {url!r}: {exc}", transient=False) from exc
        except httpx.HTTPError as exc:
            raise FeedError(f"cannot reach {url}: {exc or type(exc).__name__}; "
                            "check the URL and the network") from exc
        if resp.status_code == 304:
            return Fetched(304, b"", etag, last_modified)
        if resp.status_code >= 400:
            transient = resp.status_code in (408, 425, 429) or resp.status_code >= 500
            raise FeedError(f"{url} answered HTTP {resp.status_code}"
                            + ("; will retry" if transient else "; check the URL"),
                            retry_after=retry_after(resp.headers.get("Retry-After")),
                            transient=transient)
        return Fetched(resp.status_code, resp.content, resp.headers.get("ETag"),
                       resp.headers.get("Last-Modified"))


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None,
          options: HttpOptions = HttpOptions()) -> Fetched:
    """One request with a client of its own."""
    with Fetcher(options) as f:
        return f.get(url, etag=etag, last_modified=last_modified)
