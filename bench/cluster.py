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
through the same matcher: mentions compared, p50/p95 of each kind, 8 concurrent clients.

The corpus is bench/search_speed.py's (real Russian and Kazakh sentences from ../shared/fixtures
recombined into segments); PostgreSQL and SeaweedFS are servers this script starts on 127.0.0.1
(initdb as the postgres user, fsync off); each query kind is timed ≥ 100 times, ranked top 50.

    .venv/bin/python bench/cluster.py [--part throughput,claims,search] [--videos 8]
                                      [--segments 1000000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))


import store  # noqa: E402
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
            cluster = Cluster(folder, empty_cluster_database(pg), s3, f"bench-tp{n}")
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
            url = empty_cluster_database(pg)
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


def search(args: argparse.Namespace) -> None:
    """The same corpus written through `Store` into SQLite and into a cluster's PostgreSQL (the
    app's own write path: segments, words, index rows), asked the same queries."""
    from conftest import empty_cluster_database
    folder = Path(args.keep or tempfile.mkdtemp(prefix="dalel-cluster-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "dalel.sqlite3"
    if not db.exists():
        print(f"SQLite store of {args.segments:,} segments built in {build_dalel(db, args.segments):.0f} s", flush=True)
    with postgres_server(keep=folder / "pg" if args.keep else None) as server:
        built = folder / "pg" / "built"
        if built.exists():      # a kept store, upgraded as `dalel migrate` would
            from store.pg import PgDatabase
            url = server.rsplit("/", 1)[0] + "/" + built.read_text().strip()
            with PgDatabase(url) as kept:
                kept.migrate()
        else:
            url = empty_cluster_database(server)
            print(f"PostgreSQL store of the same built in {build_dalel(url, args.segments):.0f} s (GIN)", flush=True)
            if args.keep:
                built.write_text(url.rsplit("/", 1)[1])
        with store.Store(db) as lite, store.Store(url) as pg:
            queries = pick_queries(args.segments)
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
            print("dalel search (matcher, sentences, context; top 50) on each store")
            print(f"{'query':<8} {'SQLite p50':>10} {'p95':>7}   {'PostgreSQL p50':>14} {'p95':>7}   (ms; samples)")
            for kind, qs in queries.items():
                f50, f95, k = time_queries(lambda q: store.search(lite, store.parse(q), store.SearchOptions(limit=50),
                                                                  approximate=False), qs)
                p50, p95, _ = time_queries(lambda q: store.search(pg, store.parse(q), store.SearchOptions(limit=50),
                                                                  approximate=False), qs)
                print(f"{kind:<8} {f50:>10.1f} {f95:>7.1f}   {p50:>14.1f} {p95:>7.1f}   ({k})")
        c50, c95, k = concurrent(url, [q for qs in queries.values() for q in qs])
        print(f"8 concurrent clients on PostgreSQL, all kinds: p50 {c50:.1f} ms, p95 {c95:.1f} ms ({k} searches)")


if __name__ == "__main__":
    main()
