"""The web app on 1,000,000 segments: the search page (hits, facets, chart) and the dashboard.

Builds the corpus of bench/search_speed.py (real Russian and Kazakh sentences from
../shared/fixtures recombined into segments, 1,000 per video, two channels, a year of dates)
into a Dalel data folder, gives each video an hour of broadcast archived in its own week, and
serves it with `dalel serve`'s app (uvicorn on 127.0.0.1). Each page is fetched over HTTP
(httpx), ≥ 100 timings per percentile, whole answers read.

Baseline, in the same run: the plain libraries at their defaults doing the same work on the
same text — a FastAPI page over a plain FTS5 table (`unicode61`) with the same filters as
WHERE clauses: the 20 best rows by rank with snippet(), the total, the facets and the
histogram as GROUP BY counts of matching rows, a pygal StackedBar at its defaults, a Jinja2
template; its dashboard: the same per-channel counts and hours, hours per week, newest videos.

    .venv/bin/python bench/web.py [--segments 1000000] [--keep DIR]

Targets (issue 14): the search page with facets and chart p95 ≤ 300 ms; the dashboard ≤ 200 ms.
"""
from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from search_speed import build_dalel, build_plain, pick_queries, time_queries  # noqa: E402

FILTERS = re.compile(r"\b(lang|after|channel):(\S+)")


def give_hours(db: Path) -> None:
    """An hour of broadcast per video, archived the day it was published (a year of weeks)."""
    con = sqlite3.connect(db)
    con.execute("UPDATE videos SET duration = 3600, archived_at = published || 'T12:00:00Z'")
    con.commit()
    con.close()


PLAIN_SEARCH = (
    "<!doctype html><title>{{ q }}</title><p>{{ total }} rows</p>{{ chart|safe }}"
    "{% for name, values in facets %}<div><b>{{ name }}</b>{% for v, n in values %} <a href='?f={{ v }}'>"
    "{{ v }}</a> {{ n }}{% endfor %}</div>{% endfor %}"
    "{% for r in rows %}<p>{{ r[2] }} · {{ r[3] }} · {{ r[1] }}</p>{% endfor %}")
PLAIN_HOME = (
    "<!doctype html><table>{% for r in channels %}<tr>{% for c in r %}<td>{{ c }}</td>{% endfor %}</tr>"
    "{% endfor %}</table>{{ chart|safe }}<ul>{% for v in newest %}<li>{{ v[0] }} {{ v[1] }}</li>{% endfor %}</ul>")


def plain_chart(rows) -> str:
    """pygal's StackedBar at its defaults: (period, channel, value) rows."""
    import pygal
    bar = pygal.StackedBar()
    periods = sorted({r[0] for r in rows})
    bar.x_labels = periods
    for channel in sorted({r[1] for r in rows}):
        got = {r[0]: r[2] for r in rows if r[1] == channel}
        bar.add(channel, [got.get(p, 0) for p in periods])
    return bar.render(is_unicode=True)


def plain_search(db: sqlite3.Connection, q: str) -> dict:
    """The search page's work on the plain FTS5 table: top 20, total, facets, histogram."""
    where, params = "", []
    for key, value in FILTERS.findall(q):
        col, op = {"lang": ("lang", "="), "after": ("published", ">="), "channel": ("channel", "=")}[key]
        where += f" AND {col} {op} ?"
        params.append(value)
    args = (FILTERS.sub("", q).strip(), *params)
    match = f"FROM plain WHERE plain MATCH ?{where}"
    rows = db.execute(f"SELECT rowid, snippet(plain, 0, '[', ']', '…', 12), channel, published {match}"
                      " ORDER BY rank LIMIT 20", args).fetchall()
    total = db.execute(f"SELECT count(*) {match}", args).fetchone()[0]
    facets = [(name, db.execute(f"SELECT {col}, count(*) {match} GROUP BY 1 ORDER BY 2 DESC", args).fetchall())
              for name, col in (("channel", "channel"), ("lang", "lang"), ("month", "substr(published, 1, 7)"))]
    histogram = db.execute(f"SELECT substr(published, 1, 7), channel, count(*) {match} GROUP BY 1, 2",
                           args).fetchall()
    return {"q": q, "total": total, "rows": rows, "facets": facets, "chart": plain_chart(histogram)}


def plain_dashboard(db: sqlite3.Connection) -> dict:
    channels = db.execute(
        "SELECT channel, count(*), count(archived_at), sum(state = 'transcribed'), sum(duration) / 3600.0,"
        " sum(CASE WHEN state = 'transcribed' THEN duration END) / 3600.0, count(removed_at)"
        " FROM videos GROUP BY 1").fetchall()
    weeks = db.execute("SELECT strftime('%Y-%W', archived_at), channel, sum(duration) / 3600.0 FROM videos"
                       " WHERE archived_at IS NOT NULL GROUP BY 1, 2").fetchall()
    newest = db.execute("SELECT video_id, title FROM videos ORDER BY published DESC LIMIT 10").fetchall()
    return {"channels": channels, "chart": plain_chart(weeks[-26 * 2:]), "newest": newest}


def plain_app(plain_db: Path, videos_db: Path):
    """The baseline: FastAPI + FTS5 + pygal + Jinja2 at their defaults, the same pages' work."""
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse
    from jinja2 import Environment
    env = Environment(autoescape=True)
    page, home = env.from_string(PLAIN_SEARCH), env.from_string(PLAIN_HOME)
    web = FastAPI()
    local = threading.local()

    def con(path: Path) -> sqlite3.Connection:   # one connection per server thread
        if not hasattr(local, str(path)):
            setattr(local, str(path), sqlite3.connect(path, check_same_thread=False))
        return getattr(local, str(path))

    @web.get("/search", response_class=HTMLResponse)
    def search(q: str) -> str:
        return page.render(**plain_search(con(plain_db), q))

    @web.get("/", response_class=HTMLResponse)
    def dashboard() -> str:
        return home.render(**plain_dashboard(con(videos_db)))
    return web


class Served:
    def __init__(self, app) -> None:
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(5)


def timed(client: httpx.Client, urls: list[str]) -> tuple[float, float, int]:
    """p50 and p95 in ms over ≥ SAMPLES fetches (search_speed's sampler), each URL in turn; every
    answer must be a 200."""
    def fetch(url: str) -> None:
        r = client.get(url)
        if r.status_code != 200:
            raise SystemExit(f"{url}: {r.status_code} {r.text[:200]}")
    return time_queries(fetch, urls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=1_000_000)
    ap.add_argument("--keep", help="build into this folder and keep it")
    args = ap.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="dalel-bench-web-"))
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    ours, plain = data / "dalel.sqlite3", folder / "plain.sqlite3"
    if not ours.exists():
        print(f"building dalel index of {args.segments:,} segments …", flush=True)
        print(f"  dalel build: {build_dalel(ours, args.segments):.1f} s", flush=True)
    if not plain.exists():
        print(f"  plain FTS5 build: {build_plain(plain, args.segments):.1f} s", flush=True)
    give_hours(ours)
    cfg = folder / "web.toml"
    cfg.write_text(f'data_dir = "{data}"\n', encoding="utf-8")
    from dalel import config as configmod
    from dalel.web import create_app
    queries = pick_queries(args.segments)
    kinds = {k: queries[k] for k in ("rare", "common", "phrase", "prefix", "filtered")}
    print(f"corpus: {args.segments:,} segments in {args.segments // 1000:,} videos, 2 channels, 12 months;"
          " pages fetched over HTTP from uvicorn on 127.0.0.1, answers read whole")
    print("dalel: /search?q=… (mentions, 20 hits with sentence and context, facets channel/lang/source/month,"
          " histogram, pygal chart) and / (the dashboard)")
    print("plain: FastAPI + FTS5 unicode61 (top 20 by rank with snippet, count, GROUP BY facets and histogram)"
          " + pygal StackedBar + Jinja2; dashboard: GROUP BY channel, hours per week, newest 10")
    print(f"{'page':<16} {'dalel p50':>10} {'p95':>8}   {'plain p50':>10} {'p95':>8}   (ms; fetches)")
    everything: dict[str, list[float]] = {"dalel": [], "plain": []}
    with Served(create_app(configmod.load(str(cfg)))) as dalel_url, Served(plain_app(plain, ours)) as plain_url, \
            httpx.Client(timeout=60) as client:
        client.get(dalel_url + "/search", params={"q": "билік власть"})   # dictionaries loaded once a process
        for kind, qs in kinds.items():
            o = timed(client, [f"{dalel_url}/search?q={q}" for q in qs])
            p = timed(client, [f"{plain_url}/search?q={q}" for q in qs])
            everything["dalel"].append(o[1])
            everything["plain"].append(p[1])
            print(f"search {kind:<9} {o[0]:>10.1f} {o[1]:>8.1f}   {p[0]:>10.1f} {p[1]:>8.1f}   ({o[2]})"
                  f"   e.g. {', '.join(qs[:2])}")
        o = timed(client, [dalel_url + "/"])
        p = timed(client, [plain_url + "/"])
        print(f"{'dashboard':<16} {o[0]:>10.1f} {o[1]:>8.1f}   {p[0]:>10.1f} {p[1]:>8.1f}   ({o[2]})")
    worst = max(everything["dalel"])
    print(f"search page: worst p95 of a query kind {worst:.0f} ms (target ≤ 300: "
          f"{'met' if worst <= 300 else 'NOT met'}); dashboard p95 {o[1]:.0f} ms (target ≤ 200: "
          f"{'met' if o[1] <= 200 else 'NOT met'}); dalel/plain p95 ratio, worst kind "
          f"{worst / max(everything['plain']):.2f}x, dashboard {o[1] / p[1]:.2f}x")
    if not args.keep:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
