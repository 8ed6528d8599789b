"""The cluster, measured in three parts (`--part`, default all):

throughput: `dalel scheduler` and 1, 2, 4 `dalel worker` processes on a real PostgreSQL and a
real SeaweedFS archive and transcribe the same N videos from the loopback platform (the demo's
two recordings under N ids): wall time from the workers' start to the last transcript, videos
per minute, the scaling against one worker, and the exactly-once checks of the tests (one
capture and one transcription in each custody log, no job done twice).

claims: 1, 2, 4, 8 processes claim (and finish) 100 jobs each from the PostgreSQL queue at once:
p50/p95 of a claim, and every job done exactly once.

search: the same corpus written through `Store` into SQLite (FTS5) and into a cluster's
PostgreSQL (tsquery over GIN-indexed tsvectors of the same analysed words), the same queries
through the same matcher: mentions compared, each kind's first runs (the rows not yet in
memory) and then p50/p95 of ≥ 100 runs, 8 concurrent clients. PostgreSQL's memory is set as for a
server of its own (`server_settings`: a quarter of the memory as shared buffers, SSD costs), printed.

The corpus is bench/search_speed.py's (real Russian and Kazakh sentences from ../shared/fixtures
recombined into segments); PostgreSQL and SeaweedFS are servers this script starts on 127.0.0.1
(initdb as the postgres user, fsync off); each query kind is timed ≥ 100 times, ranked top 50.

    .venv/bin/python bench/cluster.py [--part throughput,claims,search] [--videos 8]
                                      [--segments 1000000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))


import store  # noqa: E402
from dalel.web import freeze_startup_objects  # noqa: E402
from search_speed import build_dalel, pick_queries, time_queries  # noqa: E402
from servers import postgres_server  # noqa: E402


def concurrent(url: str, queries: list[str], clients: int = 8, rounds: int = 3) -> tuple[float, float, int]:
    """`clients` threads, each with its own connection to the cluster's store, searching at once."""
    times: list[float] = []
    lock = threading.Lock()

    def client() -> None:
        with store.Store(url) as s:
            for _ in range(rounds):
                for q in queries:
                    start = time.perf_counter()
                    store.search(s, store.parse(q), store.SearchOptions(limit=50), approximate=False)
                    with lock:
                        times.append((time.perf_counter() - start) * 1000)
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times.sort()
    return statistics.median(times), times[int(0.95 * len(times))], len(times)


def throughput(n_videos: int, counts: tuple[int, ...] = (1, 2, 4)) -> None:
    from conftest import empty_cluster_database, make_bucket
    from servers import seaweed_server
    from test_cluster_processes import Cluster, videos

    from dalel.loopback import Platform
    print(f"archive + transcribe {n_videos} videos ({sum(v.media.stat().st_size for v in videos(n_videos)):,} bytes,"
          " Whisper base int8 on this machine's cores), scheduler + N workers:")
    first = None
    with postgres_server() as pg, seaweed_server() as s3:
        for n in counts:
            folder = Path(tempfile.mkdtemp(prefix=f"dalel-tp{n}-"))
            make_bucket(s3, f"bench-tp{n}")
            cluster = Cluster(folder, empty_cluster_database(pg, partition_ids=None), s3, f"bench-tp{n}")
            with Platform(videos(n_videos)) as platform:
                cluster.cli("channel", "add", platform.feed_url)
                cluster.start("scheduler", "scheduler")
                start = time.monotonic()
                for i in range(n):
                    cluster.start(f"worker-{i}", "worker")
                cluster.wait(lambda c=cluster: c.transcribed() == n_videos, timeout=3600)
                wall = time.monotonic() - start
                cluster.stop()
            cluster.assert_exactly_once(n_videos)
            first = first or wall
            print(f"  {n} worker(s): {wall:6.1f} s, {n_videos / wall * 60:5.1f} videos/min, "
                  f"scaling {first / wall:.2f}x; every video exactly once", flush=True)


def claims(counts: tuple[int, ...] = (1, 2, 4, 8), per_process: int = 100) -> None:
    from conftest import empty_cluster_database
    from test_pg_state import claim_in_processes, video   # the test's claiming processes and videos

    from store.pg import PgDatabase, PgQueue
    print(f"queue claims from the PostgreSQL queue ({per_process} jobs per process, 7 sources), ms:")
    with postgres_server() as pg:
        for n in counts:
            url = empty_cluster_database(pg, partition_ids=None)
            with PgDatabase(url) as d:
                q = PgQueue(d)
                for i in range(n * per_process):
                    q.enqueue("archive", video(d, f"v{i}", f"https://s{i % 7}.example/feed"))
            results = claim_in_processes(url, n)
            done = [j for ids, _ in results for j in ids]
            waits = sorted(w * 1000 for _, ws in results for w in ws)
            once = len(done) == len(set(done)) == n * per_process
            print(f"  {n} process(es): p50 {waits[len(waits) // 2]:.1f}, p95 {waits[int(len(waits) * 0.95)]:.1f}"
                  f" ({len(waits)} claims); {'every job done exactly once' if once else 'JOBS DONE TWICE OR LOST'}",
                  flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", default="throughput,claims,search")
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--segments", type=int, default=1_000_000)
    ap.add_argument("--keep", help="build the stores (a SQLite file, a PostgreSQL server) into this folder "
                    "and keep them: a second run with the same folder asks them again")
    args = ap.parse_args()
    parts = set(args.part.split(","))
    if "throughput" in parts:
        throughput(args.videos)
    if "claims" in parts:
        claims()
    if "search" in parts:
        search(args)


def server_settings() -> dict[str, str]:
    """PostgreSQL set as for a machine of its own, as README "Cluster" advises (its defaults are
    sized for a small shared host: 128 MB of shared buffers, 64 MB to build an index): a quarter
    of the memory as shared buffers, half as the planner's estimate of the cache, a sixteenth to
    build indexes; random_page_cost 1.1 for a store on SSD or in memory (with the default 4 the
    planner walked the newest of 10M rows backwards for a phrase's 34,000 matches, 870 ms, not
    through GIN, 170 ms); no JIT (it compiled most searches at 10M anew, ~10 ms each)."""
    mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return {"shared_buffers": f"{mb // 4}MB", "effective_cache_size": f"{mb // 2}MB",
            "maintenance_work_mem": f"{mb // 16}MB", "random_page_cost": "1.1", "jit": "off"}


def sized_queries(lite: store.Store, n: int) -> dict[str, list[str]]:
    """search_speed's query kinds, and two the corpus size decides: "rare" there means seen once
    in the first 100,000 segments, and at 10M such a word matches from ~90 to over 10,000 segments
    (the corpus recombines sentences); "rare here" are words, and "rare phrase" phrases of two
    common words, that match at most 1,000 segments of this corpus (counted in SQLite); "narrow"
    are common and rare words filtered to one day's broadcasts or to one broadcast."""
    from search_speed import corpus
    queries = pick_queries(n)
    freq = Counter(w for _, _, t in corpus(min(n, 100_000)) for w in t.lower().split())
    bigrams = Counter()
    for _, _, t in corpus(min(n, 20_000)):
        ws = t.lower().split()
        bigrams.update(zip(ws, ws[1:]))
    common = {w for w, _ in freq.most_common(1000) if re.fullmatch(r"[а-яёәғқңөұүһі]{4,}", w)}
    singles = [w for w in freq if freq[w] == 1 and re.fullmatch(r"[а-яёәғқңөұүһі]{4,}", w)]
    pairs = [f'"{a} {b}"' for (a, b), c in bigrams.items() if c == 1 and a in common and b in common and a != b]

    def few(qs: list[str]) -> list[str]:
        out = []
        for q in qs:
            if len(out) == 20:
                break
            if store.search(lite, store.parse(q), store.SearchOptions(limit=1), approximate=False).total <= 1000:
                out.append(q)
        return out
    day = "after:2024-03-03 before:2024-03-03"     # one day's broadcasts: 1/84 of the videos
    narrow = [f"{w} {day}" for w in queries["common"][:10]] + \
             [f"{w} video:v{k * 997 % 10_000:05d}" for k, w in enumerate(queries["common"][10:20])] + \
             [f"{w} {day}" for w in queries["rare"][:5]]
    return queries | {"rare here": few(singles[:400]), "rare phrase": few(pairs[:400]), "narrow": narrow}


def cold_then_warm(run, queries: list[str]) -> tuple[float, float, float, float, int]:
    """Each query run once (the first run: its rows read from disk or the OS's cache), then
    timed as time_queries does: (first p50, first max, p50, p95, timings)."""
    first = []
    for q in queries:
        start = time.perf_counter()
        run(q)
        first.append((time.perf_counter() - start) * 1000)
    p50, p95, k = time_queries(run, queries)
    return statistics.median(first), max(first), p50, p95, k


def search(args: argparse.Namespace) -> None:
    """The same corpus written through `Store` into SQLite and into a cluster's PostgreSQL (the
    app's own write path: segments, words, index rows), asked the same queries."""
    from conftest import empty_cluster_database
    folder = Path(args.keep or tempfile.mkdtemp(prefix="dalel-cluster-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "dalel.sqlite3"
    if not db.exists():
        print(f"SQLite store of {args.segments:,} segments built in {build_dalel(db, args.segments):.0f} s", flush=True)
    settings = server_settings()
    print("PostgreSQL settings:", ", ".join(f"{k} = {v}" for k, v in settings.items()), flush=True)
    with postgres_server(keep=folder / "pg" if args.keep else None, settings=settings) as server:
        built = folder / "pg" / "built"
        if built.exists():      # a kept store, upgraded as `dalel migrate` would
            from store.pg import PgDatabase
            url = server.rsplit("/", 1)[0] + "/" + built.read_text().strip()
            with PgDatabase(url) as kept:
                started = time.perf_counter()
                if steps := kept.migrate():
                    migrated = time.perf_counter() - started
                    kept.conn.execute("VACUUM ANALYZE")     # the rows an upgrade rewrote (autovacuum would)
                    print(f"kept PostgreSQL store upgraded by {steps} schema step(s) in {migrated:.0f} s,"
                          f" then VACUUM ANALYZE in {time.perf_counter() - started - migrated:.0f} s", flush=True)
        else:
            url = empty_cluster_database(server, partition_ids=None)
            print(f"PostgreSQL store of the same built in {build_dalel(url, args.segments):.0f} s (GIN)", flush=True)
            if args.keep:
                built.write_text(url.rsplit("/", 1)[1])
        with store.Store(db) as lite, store.Store(url) as pg:
            queries = sized_queries(lite, args.segments)
            freeze_startup_objects()        # as `dalel serve` starts: the searching process
            print("dalel search (matcher, sentences, context; top 50) on each store: the first run of each "
                  "query, then ≥ 100 runs")
            print(f"{'query':<12} {'SQLite first p50':>16} {'max':>6} {'then p50':>8} {'p95':>7}   "
                  f"{'PostgreSQL first p50':>20} {'max':>6} {'then p50':>8} {'p95':>7}   (ms; samples)")
            for kind, qs in queries.items():
                lite_t = cold_then_warm(lambda q: store.search(lite, store.parse(q), store.SearchOptions(limit=50),
                                                               approximate=False), qs)
                pg_t = cold_then_warm(lambda q: store.search(pg, store.parse(q), store.SearchOptions(limit=50),
                                                             approximate=False), qs)
                print(f"{kind:<12} {lite_t[0]:>16.1f} {lite_t[1]:>6.0f} {lite_t[2]:>8.1f} {lite_t[3]:>7.1f}   "
                      f"{pg_t[0]:>20.1f} {pg_t[1]:>6.0f} {pg_t[2]:>8.1f} {pg_t[3]:>7.1f}   ({pg_t[4]})", flush=True)
            differ, checked = 0, 0
            for qs in queries.values():
                for q in qs:   # every mention of each query (the top 50 differ by ranking: bm25 / ts_rank)
                    opts = store.SearchOptions(limit=10_000)
                    a = store.search(lite, store.parse(q), opts, approximate=False)
                    b = store.search(pg, store.parse(q), opts, approximate=False)
                    same = sorted((h.video_id, h.start) for h in a.hits) == \
                        sorted((h.video_id, h.start) for h in b.hits)
                    differ += (a.total != b.total) or (a.total_exact and not same)
                    checked += 1
            print(f"queries whose mentions differ between the backends: {differ} of {checked}")
        c50, c95, k = concurrent(url, [q for qs in queries.values() for q in qs])
        print(f"8 concurrent clients on PostgreSQL, all kinds: p50 {c50:.1f} ms, p95 {c95:.1f} ms ({k} searches)")


if __name__ == "__main__":
    main()
