"""A stand-in video platform on 127.0.0.1, with faults on demand: what the demo runs
against and what the tests and benchmarks drive.

The server publishes a feed in YouTube's channel-feed format (yt:videoId, media:group)
and serves the bundled speech media. Entries can be added and removed, and paths can be
made to fail (a status, Retry-After, a stall, a truncated body, a redirect, throttling,
random chaos), while it runs.
"""
from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

__all__ = ["DEMO_CHANNEL_ID", "DEMO_DIR", "DemoVideo", "Platform", "demo_videos"]

DEMO_DIR = Path(__file__).parent / "demodata"
DEMO_CHANNEL_ID = "UCdalelDemoChannel0000001"


@dataclass
class DemoVideo:
    video_id: str
    title: str
    media: Path
    published: str
    description: str = ""


def demo_videos() -> list[DemoVideo]:
    return [
        DemoVideo("DaLeLdemo01", "Эфир: о выборах и мирных переменах", DEMO_DIR / "ru_broadcast.mp4",
                  "2024-03-01T18:00:00+00:00", "Еженедельный эфир канала."),
        DemoVideo("DaLeLdemo02", "Новости недели", DEMO_DIR / "ru_news.mp4",
                  "2024-03-08T18:00:00+00:00", "Обзор новостей."),
    ]


class Platform:
    """A loopback HTTP server: `/feeds/videos.xml` (YouTube's Atom format) and `/media/…`."""

    def __init__(self, videos: list[DemoVideo] | None = None, channel: str = "Ne deidi (demo)"):
        self.videos = list(videos if videos is not None else demo_videos())
        self.channel = channel
        # Faults for tests, by URL path:
        self.failures: dict[str, int] = {}      # answer this HTTP status instead
        self.retry_after: dict[str, int] = {}   # with this Retry-After header
        self.truncate: set[str] = set()         # send half the body, then close
        self.stall: dict[str, float] = {}       # wait this long before answering
        self.throttle: float | None = None      # media bytes per second
        self.files: dict[str, Path] = {}        # more files under /media/ (e.g. HLS segments)
        self.hits: dict[str, int] = {}          # path → requests served
        self.extra_entries: list[str] = []      # raw <entry> XML added to the feed (hostile ones)
        self.redirects: dict[str, str] = {}     # path → Location of a 302
        # Random faults on every request (bench/soak.py): {"5xx": p, "timeout": p, "truncate": p,
        # "stall_s": seconds, "rng": random.Random}
        self.chaos: dict | None = None
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def feed_url(self) -> str:
        return f"{self.base}/feeds/videos.xml?channel_id={DEMO_CHANNEL_ID}"

    def media_url(self, video: DemoVideo) -> str:
        return f"{self.base}/media/{video.video_id}{video.media.suffix}"

    def __enter__(self) -> "Platform":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def feed_xml(self) -> bytes:
        entries = "".join(self._entry(v) for v in self.videos) + "".join(self.extra_entries)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" '
            'xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">\n'
            f'  <link rel="self" href="{self.feed_url}"/>\n'
            f"  <id>yt:channel:{DEMO_CHANNEL_ID}</id>\n"
            f"  <yt:channelId>{DEMO_CHANNEL_ID}</yt:channelId>\n"
            f"  <title>{escape(self.channel)}</title>\n"
            f"  <author><name>{escape(self.channel)}</name></author>\n"
            f"{entries}</feed>\n").encode("utf-8")

    def _entry(self, v: DemoVideo) -> str:
        return (
            "  <entry>\n"
            f"    <id>yt:video:{v.video_id}</id>\n    <yt:videoId>{v.video_id}</yt:videoId>\n"
            f"    <yt:channelId>{DEMO_CHANNEL_ID}</yt:channelId>\n"
            f"    <title>{escape(v.title)}</title>\n"
            f'    <link rel="alternate" href="{self.media_url(v)}"/>\n'
            f"    <author><name>{escape(self.channel)}</name></author>\n"
            f"    <published>{v.published}</published>\n    <updated>{v.published}</updated>\n"
            f"    <media:group><media:title>{escape(v.title)}</media:title>"
            f"<media:description>{escape(v.description)}</media:description></media:group>\n"
            "  </entry>\n")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"platform": self})


class _Handler(BaseHTTPRequestHandler):
    """The platform's answers; `platform` is set on a subclass per server."""

    platform: Platform
    cut = False

    def log_message(self, *args) -> None:  # keep test and demo output clean
        pass

    def do_HEAD(self) -> None:
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        path = urlsplit(self.path).path
        fail, wait = self._faults(path)
        if wait:
            time.sleep(wait)
        if fail:
            extra = {"Retry-After": str(self.platform.retry_after[path])} \
                if path in self.platform.retry_after else None
            self._send(fail, b"error\n", "text/plain", head, extra)
        elif path in self.platform.redirects:
            self._send(302, b"", "text/plain", head, {"Location": self.platform.redirects[path]})
        elif path == "/feeds/videos.xml":
            self._feed(head)
        elif path.startswith("/media/"):
            self._media(path.removeprefix("/media/"), head)
        else:
            self._send(404, b"not found\n", "text/plain", head)

    def _faults(self, path: str) -> tuple[int | None, float]:
        """Count the request; the status to fail with and seconds to stall, as set (or rolled)."""
        p = self.platform
        with p.lock:
            p.hits[path] = p.hits.get(path, 0) + 1
            fail, wait = p.failures.get(path), p.stall.get(path, 0.0)
            self.cut = path in p.truncate
            if p.chaos and not fail:
                roll, c = p.chaos["rng"].random(), p.chaos
                if roll < c["5xx"]:
                    fail = 503
                elif roll < c["5xx"] + c["timeout"]:
                    wait = c["stall_s"]
                elif roll < c["5xx"] + c["timeout"] + c["truncate"] and path.startswith("/media/"):
                    self.cut = True
        return fail, wait

    def _feed(self, head: bool) -> None:
        body = self.platform.feed_xml()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self._send(200, body, "application/atom+xml; charset=utf-8", head,
                   {"ETag": etag, "Last-Modified": formatdate(usegmt=True)})

    def _media(self, name: str, head: bool) -> None:
        video = next((v for v in self.platform.videos
                      if f"{v.video_id}{v.media.suffix}" == name), None)
        path = video.media if video else self.platform.files.get(name)
        if path is None:
            self._send(404, b"not found\n", "text/plain", head)
            return
        body = path.read_bytes()
        ctype = {".mp4": "video/mp4", ".wav": "audio/wav", ".ts": "video/mp2t",
                 ".m3u8": "application/vnd.apple.mpegurl"}.get(path.suffix, "application/octet-stream")
        start = self._range_start(len(body))
        if start is None:
            self._send(200, body, ctype, head)
        else:
            self._send(206, body[start:], ctype, head, {
                "Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"})

    def _range_start(self, size: int) -> int | None:
        value = self.headers.get("Range", "")
        if not value.startswith("bytes="):
            return None
        first = value[6:].split("-")[0]
        return int(first) if first.isdigit() and int(first) < size else None

    def _send(self, code: int, body: bytes, ctype: str, head: bool,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if head:
            return
        path = urlsplit(self.path).path
        if getattr(self, "cut", False):
            body = body[: len(body) // 2]
            self.close_connection = True
        try:
            self._write(body, self.platform.throttle if path.startswith("/media/") else None)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (yt-dlp probes, then downloads)

    def _write(self, body: bytes, rate: float | None) -> None:
        if not rate:
            self.wfile.write(body)
            return
        step = max(1024, int(rate / 10))
        for i in range(0, len(body), step):
            self.wfile.write(body[i:i + step])
            self.wfile.flush()
            time.sleep(step / rate)
