"""Fuzz: generated hostile queries, feeds, subtitle files and configs against the real parsers.

Every input must end in the answer or in one of the errors Dalel means to give (QueryError,
NotFound; FeedError; a refused cue; ConfigError) — anything else is a defect and is printed
with its traceback. Queries also go to the web app (a real uvicorn server on 127.0.0.1):
every answer must be < 500. Prints the counts, the defects, and the slowest input of each
kind (target: 0 defects, 0 answers ≥ 500, slowest < 1 s).

    .venv/bin/python bench/fuzz.py [--queries 10000] [--feeds 1000] [--subtitles 200] [--configs 1000]
"""
from __future__ import annotations

import argparse
import random
import socket
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import store  # noqa: E402
from dalel import config as configmod  # noqa: E402
from dalel.errors import ConfigError, DalelError  # noqa: E402
from dalel.formats import parse_subtitles  # noqa: E402
from monitor import FeedError, parse_feed  # noqa: E402

WORDS = ["захват", "власти", "выборы", "билік", "bilikti", "Ablyazov", "ә", "және", "NEAR", "AND",
         "OR", "NOT", "x", "123", "кто-то", "e-mail", "ᛝ", "\u0301", "İ", "ß", "😀", "\x00", "\x1b[31m"]
SYNTAX = ['"', "(", ")", "*", "~", "~3", "^2", "[", "]", "{", "}", ":", "&&", "||", "!", "+", "-",
          "NEAR(", ",", "\\", "/", "lang:", "lang:ru", "lang:de", "after:", "after:2024-99-01",
          "before:2024-02-30", "channel:", 'channel:"Ne deidi"', "video:nope", "source:asr",
          "source:x", "foo:bar", "AND", "OR", "NOT", " " * 50]


def gen_query(rng: random.Random) -> str:
    parts = [rng.choice(WORDS + SYNTAX) for _ in range(rng.randint(1, 12))]
    q = rng.choice([" ", "", "  "]).join(parts)
    if rng.random() < 0.02:
        q = "NEAR(a" + " " * rng.randint(1000, 60000) + "b)"
    if rng.random() < 0.02:
        q = "a " * rng.randint(20, 2000)
    if rng.random() < 0.02:
        q = '"' * rng.randint(1, 500)
    return q


def gen_feed(rng: random.Random) -> bytes:
    links = ["http://example.org/v.mp4", "file:///etc/passwd", "javascript:alert(1)", "http://[::1",
             "http://127.0.0.1:99999/x", "gopher://x/", "", "  ", "http://a b/", "x" * 5000,
             "http://example.org/" + "..%2F" * 20 + "etc"]
    ids = ["a/b", "../../x", "..", "", "x" * 500, "yt:video:abc", "<", "&amp;", "\u202e"]
    dates = ["2024-03-01T18:00:00+00:00", "2030 maybe", "Tue, 05 Mar 2024 18:00:00 GMT",
             "9999-99-99", "", "Fri, 31 Dec 9999 23:59:59 GMT", "0000-00-00T00:00:00"]
    kind = rng.random()
    if kind < 0.1:
        return (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "' + b"a" * 1000
                + b'"><!ENTITY b "&a;&a;&a;">]><rss>&b;</rss>')
    if kind < 0.15:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 2000)))
    if kind < 0.2:
        return b"<rss>" + b"<channel>" * rng.randint(1, 5000)
    items = []
    for _ in range(rng.randint(0, 30)):
        link, guid, date = rng.choice(links), rng.choice(ids), rng.choice(dates)
        if rng.random() < 0.5:
            items.append(f"<item><title>{rng.choice(WORDS)}</title><guid>{guid}</guid><link>{link}</link>"
                         f"<enclosure url='{link}'/><pubDate>{date}</pubDate></item>")
        else:
            items.append(f"<entry><id>{guid}</id><link rel='alternate' href='{link}'/>"
                         f"<published>{date}</published><title>{rng.choice(WORDS)}</title></entry>")
    text = "".join(items).replace("&", rng.choice(["&", "&amp;"]))
    if rng.random() < 0.5:
        body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{text}</channel></rss>'
    else:
        body = f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{text}</feed>'
    return body.encode("utf-8", "surrogatepass")


def gen_subtitles(rng: random.Random) -> str:
    size = rng.choice([10, 1000, 100_000])
    pieces = ["00:00:01.000 --> 00:00:02.000", "00:00:05,000 --> 00:00:02,000", "-00:00:01,000 --> 1",
              "99:99:99.999 --> 99:99:99.999", "WEBVTT", "1", "", "<b>", "<" * 50, "text", "-->",
              "00:00:01.000 -->", "1" * 500, "\ufeff", "\r\n"]
    if rng.random() < 0.5:   # half without a reversed cue, so the whole file is parsed
        pieces = [p for p in pieces if not p.startswith("00:00:05,000")]
    out, n = [], 0
    while n < size:
        p = rng.choice(pieces)
        out.append(p)
        n += len(p) + 1
    return "\n".join(out)


def gen_config(rng: random.Random) -> str:
    values = ['"x"', "1", "-1", "0", "99999", "1e400", "nan", "inf", "true", "false", '""', "[]",
              '["kk"]', '["de"]', "{}", '"15m"', '"99999999999d"', '"2GB"', '"0"', '"\\u0000"',
              "9" * 40, '"~nouser"', "[" * 50 + "]" * 50]
    sections = {"monitor": ["poll_every", "max_attempts", "download_workers", "per_host", "min_free_space",
                            "max_queued_per_source", "request_timeout", "subtitle_langs", "js_runtime"],
                "transcribe": ["workers", "batch_size", "beam_size", "languages", "device", "window", "models"],
                "search": ["limit"], "web": ["port", "host", "token", "allowed_hosts"],
                "evidence": ["pad", "tsa_urls"], "watch": ["webhook"]}
    data_dirs = ['"data"', '""', '"/proc/x/y"', '"~nouser/x"', '"a\\u0000b"', "1"]
    lines = ["data_dir = " + rng.choice(data_dirs)]
    for _ in range(rng.randint(0, 6)):
        sec = rng.choice(list(sections))
        lines.append(f"[{sec}]")
        for _ in range(rng.randint(1, 3)):
            lines.append(f"{rng.choice(sections[sec] + ['unknown'])} = {rng.choice(values)}")
    if rng.random() < 0.1:
        lines.append("x = " + "[" * 3000 + "]" * 3000)
    return "\n".join(lines) + "\n"


class Tally:
    def __init__(self, name: str):
        self.name, self.n, self.defects, self.slowest = name, 0, [], (0.0, "")

    def run(self, fn, data, allowed: tuple[type[BaseException], ...]) -> None:
        self.n += 1
        start = time.perf_counter()
        try:
            fn(data)
        except allowed:
            pass
        except Exception:
            self.defects.append((repr(data)[:160], traceback.format_exc()))
        took = time.perf_counter() - start
        if took > self.slowest[0]:
            self.slowest = (took, repr(data)[:80])

    def report(self) -> None:
        print(f"{self.name:10} {self.n:>6} inputs  {len(self.defects):>3} defects  slowest "
              f"{self.slowest[0] * 1000:8.1f} ms  ({self.slowest[1]})")
        for data, tb in self.defects[:5]:
            print(f"  DEFECT on {data}\n" + "".join("    " + line + "\n" for line in tb.splitlines()[-6:]))


def corpus(path: Path) -> store.Store:
    s = store.Store(path)
    v, _ = s.videos.discover("example", "v1", "https://example.org/v1", channel="Ne deidi")
    s.transcripts.add_text(v, source="asr", model="m", segments=[
        store.SegmentRecord(0, 3, "Мы никогда не призывали к насильственному захвату власти.", "ru"),
        store.SegmentRecord(3, 6, "Біз билікті бейбіт жолмен өзгертуге шақырамыз.", "kk"),
        store.SegmentRecord(6, 9, "Выборы прошли, кто-то писал на e-mail.", "ru")])
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--feeds", type=int, default=1_000)
    ap.add_argument("--subtitles", type=int, default=200)
    ap.add_argument("--configs", type=int, default=1_000)
    ap.add_argument("--web", type=int, default=2_000, help="queries also sent to the web app")
    args = ap.parse_args()
    import logging
    logging.disable(logging.CRITICAL)   # the parsers' warnings about each hostile entry
    rng = random.Random(20261128)
    tmp = Path(tempfile.mkdtemp(prefix="dalel-fuzz-"))
    s = corpus(tmp / "dalel.sqlite3")

    queries = Tally("queries")
    generated = [gen_query(rng) for _ in range(args.queries)]
    for q in generated:
        queries.run(lambda q: store.search(s, store.parse(q), store.SearchOptions(limit=10)), q,
                    (store.QueryError, store.NotFound))
    feeds = Tally("feeds")
    for _ in range(args.feeds):
        feeds.run(parse_feed, gen_feed(rng), (FeedError,))
    subs = Tally("subtitles")
    for _ in range(args.subtitles):
        subs.run(parse_subtitles, gen_subtitles(rng), (ValueError,))
    configs = Tally("configs")
    for i in range(args.configs):
        path = tmp / f"c{i}.toml"
        path.write_text(gen_config(rng), encoding="utf-8", errors="surrogatepass")
        configs.run(lambda p: configmod.load(str(p)), path, (ConfigError, DalelError))
    web = _web(tmp, generated[: args.web])
    for t in (queries, feeds, subs, configs):
        t.report()
    print(f"web        {web[0]:>6} requests  {web[1]:>3} answers >= 500  slowest {web[2] * 1000:8.1f} ms")
    defects = sum(len(t.defects) for t in (queries, feeds, subs, configs)) + web[1]
    slowest = max(t.slowest[0] for t in (queries, feeds, subs, configs))
    print(f"target: 0 defects and 0 answers >= 500 (got {defects}), slowest input < 1 s "
          f"(got {slowest:.2f} s) — " + ("met" if defects == 0 and slowest < 1 else "NOT met"))


def _web(tmp: Path, queries: list[str]) -> tuple[int, int, float]:
    import httpx
    import uvicorn

    from dalel.web import create_app
    (tmp / "web.toml").write_text('data_dir = "."\n', encoding="utf-8")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(configmod.load(str(tmp / "web.toml"))),
                                           host="127.0.0.1", port=port, log_level="critical"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    bad, slowest = 0, 0.0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for i, q in enumerate(queries):
            path = ("/api/search?q=" if i % 2 else "/search?q=") + quote(q, safe="")
            start = time.perf_counter()
            try:
                code = client.get(path).status_code
            except httpx.InvalidURL:       # too long for a URL: the client refuses to send it
                continue
            except httpx.HTTPError:
                code = 599
            slowest = max(slowest, time.perf_counter() - start)
            if code >= 500:
                bad += 1
                print(f"  {code} on {q[:80]!r}")
    server.should_exit = True
    return len(queries), bad, slowest


if __name__ == "__main__":
    main()
