"""Cluster search: the same queries through Dalel's matcher with candidates from SQLite FTS5
and from PostgreSQL (tsquery over a GIN-indexed mirror of the same analysed words).

Builds the corpus of bench/search_speed.py (real Russian and Kazakh sentences from
../shared/fixtures recombined into segments) into a Dalel store, mirrors its index into a
PostgreSQL server this script starts on 127.0.0.1 (initdb as the postgres user, fsync off),
checks that both give the same hits, then times p50/p95 of each query kind (≥ 100 samples,
ranked top 50) on each, and 8 concurrent clients on PostgreSQL.

    .venv/bin/python bench/cluster.py [--segments 1000000] [--keep DIR]

Not measured yet (the parts are not built): archive+transcribe throughput with N workers,
queue claims from N processes.
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

import psycopg  # noqa: E402

import store  # noqa: E402
from search_speed import build_dalel, pick_queries, time_queries  # noqa: E402
from servers import postgres_server  # noqa: E402
from store import tsquery  # noqa: E402


def concurrent(url: str, db: Path, queries: list[str], clients: int = 8, rounds: int = 3) -> tuple[float, float, int]:
    times: list[float] = []
    lock = threading.Lock()

    def client() -> None:
        s = store.Store(db)
        with psycopg.connect(url, autocommit=True) as pg:
            source = tsquery.PostgresCandidates(pg, s.conn)
            for _ in range(rounds):
                for q in queries:
                    start = time.perf_counter()
                    store.search(s, store.parse(q), store.SearchOptions(limit=50), approximate=False,
                                 candidates=source)
                    with lock:
                        times.append((time.perf_counter() - start) * 1000)
        s.close()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times.sort()
    return statistics.median(times), times[int(0.95 * len(times))], len(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=1_000_000)
    ap.add_argument("--keep", help="build the store into this folder and keep it")
    args = ap.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="dalel-cluster-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "dalel.sqlite3"
    if not db.exists():
        print(f"building the dalel store of {args.segments:,} segments: {build_dalel(db, args.segments):.0f} s",
              flush=True)
    with postgres_server() as url:
        s = store.Store(db)
        with psycopg.connect(url, autocommit=True) as pg:
            started = time.perf_counter()
            rows = tsquery.mirror(pg, s.conn)
            source = tsquery.PostgresCandidates(pg, s.conn)
            print(f"PostgreSQL mirror: {rows:,} rows in {time.perf_counter() - started:.0f} s (GIN)", flush=True)
            queries = pick_queries(args.segments)
            differ, checked = 0, 0
            for qs in queries.values():
                for q in qs:   # every mention of each query (the top 50 differ by ranking: bm25 / ts_rank)
                    opts = store.SearchOptions(limit=10_000)
                    a = store.search(s, store.parse(q), opts, approximate=False)
                    b = store.search(s, store.parse(q), opts, approximate=False, candidates=source)
                    same = sorted((h.video_id, h.start) for h in a.hits) == \
                        sorted((h.video_id, h.start) for h in b.hits)
                    differ += (a.total != b.total) or (a.total_exact and not same)
                    checked += 1
            print(f"queries whose mentions differ between the backends: {differ} of {checked}")
            print("dalel search (matcher, sentences, context; top 50), candidates from each engine")
            print(f"{'query':<8} {'FTS5 p50':>9} {'p95':>7}   {'PostgreSQL p50':>14} {'p95':>7}   (ms; samples)")
            for kind, qs in queries.items():
                f50, f95, k = time_queries(lambda q: store.search(s, store.parse(q), store.SearchOptions(limit=50),
                                                           approximate=False), qs)
                p50, p95, _ = time_queries(lambda q: store.search(s, store.parse(q), store.SearchOptions(limit=50),
                                                           approximate=False, candidates=source), qs)
                print(f"{kind:<8} {f50:>9.1f} {f95:>7.1f}   {p50:>14.1f} {p95:>7.1f}   ({k})")
            c50, c95, k = concurrent(url, db, [q for qs in queries.values() for q in qs])
            print(f"8 concurrent clients on PostgreSQL, all kinds: p50 {c50:.1f} ms, p95 {c95:.1f} ms ({k} searches)")
        s.close()


if __name__ == "__main__":
    main()
