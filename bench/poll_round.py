"""One polling round over 500 feeds on loopback: dalel (conditional GET) vs yt-dlp listing.

A loopback server publishes N RSS feeds of 15 entries each (ETag + 304 support).
Measured in one run:
  dalel:  the daemon's check of every source (App.check_source), after a first round
          has recorded the ETags — what every round costs while nothing is new;
  dalel cold: the first round (full download + parse + discovery of N*15 videos);
  yt-dlp: listing the same N feeds with plain yt-dlp (one YoutubeDL at its defaults but
          extract_flat, which listing needs, and quiet), as an archiver without its own feed
          handling does every round.

    .venv/bin/python bench/poll_round.py [--feeds 500]
"""
from __future__ import annotations

import argparse
import hashlib
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dalel import config as configmod  # noqa: E402
from dalel.app import App  # noqa: E402


def feed(n: int, base: str) -> bytes:
    items = "".join(
        f"<item><title>Feed {n} episode {i}</title><guid>feed{n}-ep{i}</guid>"
        f"<link>{base}/media/{n}/{i}.mp4</link>"
        f'<enclosure url="{base}/media/{n}/{i}.mp4" type="video/mp4" length="1000"/>'
        f"<pubDate>Tue, 05 Mar 2024 18:{i:02d}:00 GMT</pubDate></item>" for i in range(15))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>'
            f"<link>{base}/</link>{items}</channel></rss>").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: dict[str, bytes] = {}

    def log_message(self, *a) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        body = self.bodies.get(self.path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=500)
    n = ap.parse_args().feeds
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    Handler.bodies = {f"/feed/{i}.xml": feed(i, base) for i in range(n)}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    urls = [f"{base}/feed/{i}.xml" for i in range(n)]

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "config.toml").write_text(
            'data_dir = "data"\n[monitor]\nmin_request_interval = "0s"\n', encoding="utf-8")
        app = App(configmod.load(str(Path(tmp) / "config.toml")))
        for url in urls:
            app.store.sources.add(url, "feed", url, None, None)

        def round_() -> tuple[float, int]:
            start, found = time.perf_counter(), 0
            for src in app.store.sources.all():
                found += len(app.check_source(src)[0])
            return time.perf_counter() - start, found

        cold, found = round_()
        warm, again = round_()
        app.close()

    import yt_dlp
    start = time.perf_counter()
    with yt_dlp.YoutubeDL({"extract_flat": "in_playlist", "quiet": True, "no_warnings": True}) as ydl:
        listed = sum(len((ydl.extract_info(url, download=False) or {}).get("entries") or [])
                     for url in urls)
    ytdlp_s = time.perf_counter() - start
    server.shutdown()

    print(f"{n} feeds, {n * 15} entries on loopback")
    print(f"dalel first round (download, parse, record {found} new videos): {cold:.2f} s")
    print(f"dalel polling round (conditional GET, all unchanged, {again} new): {warm:.2f} s "
          f"({warm / n * 1000:.1f} ms per feed)")
    print(f"plain yt-dlp listing of the same feeds ({listed} entries; YoutubeDL defaults + extract_flat): "
          f"{ytdlp_s:.2f} s")
    print(f"ratio: dalel round is {ytdlp_s / warm:.1f}x cheaper than yt-dlp listing "
          f"({ytdlp_s / cold:.1f}x even on the first round)")


if __name__ == "__main__":
    main()
