"""HTTP for feeds: httpx with conditional GET, errors translated to FeedError."""
from __future__ import annotations

from dataclasses import dataclass

import httpx

from .errors import FeedError

USER_AGENT = "dalel (media-monitoring archive; +https://github.com/dalel-archive)"


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


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None,
          options: HttpOptions = HttpOptions()) -> Fetched:
    headers = {"User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with httpx.Client(timeout=options.timeout, proxy=options.proxy,
                          follow_redirects=True) as client:
            resp = client.get(url, headers=headers)
    except httpx.InvalidURL as exc:
        raise FeedError(f"invalid URL {url!r}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise FeedError(f"cannot reach {url}: {exc or type(exc).__name__}; check the URL and the network") from exc
    if resp.status_code == 304:
        return Fetched(304, b"", etag, last_modified)
    if resp.status_code >= 400:
        raise FeedError(f"{url} answered HTTP {resp.status_code}; check the URL")
    return Fetched(resp.status_code, resp.content, resp.headers.get("ETag"),
                   resp.headers.get("Last-Modified"))
