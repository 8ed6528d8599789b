"""HTTP for feeds: one httpx client, conditional GET, polite per-host pacing.

Errors are translated to FeedError at this boundary, with the server's Retry-After.
"""
from __future__ import annotations

import ipaddress
import math
import socket
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpcore
import httpx

from .errors import FeedError
from .failures import transient_status

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
    max_bytes: int = 20_000_000    # a feed larger than this is refused, not read whole
    allow_private_redirects: bool = False   # may a public source redirect into this network?

    @property
    def deadline(self) -> float:
        """The whole request — connect, headers, body — must finish within this: a server
        that trickles one byte every few seconds never trips a per-read timeout."""
        return 2 * self.timeout


class _Deadlines:
    """The deadline of the request each thread is making, read by the network streams."""

    def __init__(self) -> None:
        self._by_thread: dict[int, float] = {}

    def set(self, at: float | None) -> None:
        if at is None:
            self._by_thread.pop(threading.get_ident(), None)
        else:
            self._by_thread[threading.get_ident()] = at

    def remaining(self, timeout: float | None) -> float | None:
        at = self._by_thread.get(threading.get_ident())
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the request's total deadline passed")
        return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    """A socket stream whose every read, write and handshake is bounded by the deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadlines: _Deadlines):
        self._inner, self._deadlines = inner, deadlines

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadlines.remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadlines.remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):  # noqa: ANN001 (httpcore's)
        inner = self._inner.start_tls(ssl_context, server_hostname, self._deadlines.remaining(timeout))
        return _Stream(inner, self._deadlines)

    def get_extra_info(self, info: str):  # noqa: ANN201
        return self._inner.get_extra_info(info)


class _Backend(httpcore.SyncBackend):
    def __init__(self, deadlines: _Deadlines):
        self._deadlines = deadlines

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # noqa: ANN001
        return _Stream(super().connect_tcp(host, port, self._deadlines.remaining(timeout), local_address,
                                           socket_options), self._deadlines)


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


@lru_cache(maxsize=1024)
def _addresses(host: str) -> tuple[str, ...]:
    try:
        return tuple({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except (OSError, UnicodeError):
        return ()


def is_public(host: str) -> bool:
    """Whether a host name or address is on the public internet (every address it resolves
    to is global); a name that does not resolve counts as public (connecting will fail)."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        pass
    found = _addresses(host)
    return all(ipaddress.ip_address(a.split("%")[0]).is_global for a in found) if found else True


def redirect_refusal(source: str, target: str, allow_private: bool = False) -> str | None:
    """Why a redirect from `source` to `target` is not followed, or None: never to anything
    but http(s), and from a public host never into a private, loopback or link-local network
    (a feed must not make Dalel reach the machines beside it) unless the operator allows it."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"it redirects to {target[:200]!r}, which is not an http(s) URL"
    if not allow_private and is_public(urlsplit(source).hostname or "") and not is_public(parts.hostname):
        return (f"it redirects to {target[:200]!r}, an address inside a private network; set "
                "[monitor] allow_private_redirects = true if that is intended")
    return None


class Fetcher:
    """A reusable HTTP client for feeds (keeps connections open across a polling round)."""

    def __init__(self, options: HttpOptions = HttpOptions()):
        self.options = options
        self.pacer = Pacer(options.min_interval)
        self._deadlines = _Deadlines()
        transport = httpx.HTTPTransport(proxy=httpx.Proxy(options.proxy) if options.proxy else None)
        # httpx has no total timeout; its connection pool takes the network backend from here
        # (httpcore's documented NetworkBackend interface), so every socket read is bounded.
        transport._pool._network_backend = _Backend(self._deadlines)
        self.client = httpx.Client(timeout=options.timeout, transport=transport,
                                   follow_redirects=True, headers={"User-Agent": USER_AGENT},
                                   event_hooks={"response": [self._check_redirect]})

    def _check_redirect(self, response: httpx.Response) -> None:
        if not response.has_redirect_location:
            return
        source = str(response.request.url)
        target = str(response.request.url.join(response.headers["Location"]))
        why = redirect_refusal(source, target, self.options.allow_private_redirects)
        if why:
            raise FeedError(f"{source} not followed: {why}", transient=False, answered=True)

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
        deadline = self.options.deadline
        self._deadlines.set(time.monotonic() + deadline)
        try:
            with self.client.stream("GET", url, headers=headers) as resp:
                if resp.status_code == 304:
                    return Fetched(304, b"", etag, last_modified)
                if resp.status_code >= 400:
                    transient = transient_status(resp.status_code)
                    raise FeedError(f"{url} answered HTTP {resp.status_code}"
                                    + ("; will retry" if transient else "; check the URL"),
                                    retry_after=retry_after(resp.headers.get("Retry-After")),
                                    transient=transient, answered=True)
                body = bytearray()
                for chunk in resp.iter_bytes(65536):
                    body += chunk
                    if len(body) > self.options.max_bytes:
                        raise FeedError(f"{url} is larger than {self.options.max_bytes // 1_000_000} MB: "
                                        "not a feed Dalel reads", transient=False)
                return Fetched(resp.status_code, bytes(body), resp.headers.get("ETag"),
                               resp.headers.get("Last-Modified"))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise FeedError(f"invalid URL {url!r}: {exc}", transient=False) from exc
        except httpx.ConnectTimeout as exc:
            raise FeedError(f"cannot reach {url}: the connection timed out; check the URL and "
                            "the network") from exc
        except httpx.TimeoutException as exc:
            raise FeedError(f"{url} timed out: no complete answer within {deadline:.0f} s; "
                            "will retry", answered=True) from exc
        except httpx.HTTPError as exc:
            raise FeedError(f"cannot reach {url}: {exc or type(exc).__name__}; "
                            "check the URL and the network") from exc
        finally:
            self._deadlines.set(None)


def preflight(url: str, source: str, options: HttpOptions = HttpOptions()) -> None:
    """Before a download tool fetches `url` with its own HTTP stack: follow its redirects here
    under the same rule as feeds (never from a public source into a private network, never to
    anything but http(s)), reading no body. A refused redirect raises FeedError; any other
    trouble is left to the download itself."""
    why = redirect_refusal(source, url, options.allow_private_redirects)
    if why:
        raise FeedError(f"{url} not fetched: {why.replace('redirects', 'points')}", transient=False)
    with Fetcher(options) as f:
        f.pacer.min_interval = 0.0
        try:
            with f.client.stream("GET", url, timeout=options.timeout):
                pass
        except FeedError:
            raise
        except httpx.HTTPError:
            pass


def fetch(url: str, *, etag: str | None = None, last_modified: str | None = None,
          options: HttpOptions = HttpOptions()) -> Fetched:
    """One request with a client of its own."""
    with Fetcher(options) as f:
        return f.get(url, etag=etag, last_modified=last_modified)
