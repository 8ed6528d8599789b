"""Search over a synthetic 1,000,000-segment corpus: dalel's index vs a plain FTS5 table.

The corpus recombines real Russian and Kazakh sentences (../shared/fixtures when present)
into segments of 6–20 words, 1,000 segments per video, with dates and two channels. In
one run it builds dalel's index (store.add_segments: analysed words, boundary bridges,
vocabulary) and a plain FTS5 `unicode61` table of the same text, then times p50/p95 of
rare-word, common-word (top 50 ranked), phrase, prefix and filtered queries on each.

    .venv/bin/python bench/search_speed.py [--segments 1000000] [--keep DIR] [--demo-corpus]
"""
from __future__ import annotations

import argparse
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import store  # noqa: E402

FIXTURES = ROOT.parent / "shared" / "fixtures"
PER_VIDEO = 1000


def sentences(demo_ok: bool = False) -> list[tuple[str, list[str]]]:
    """(lang, words) of real sentences from ../shared/fixtures; the demo text only when asked
    (--demo-corpus): its few sentences give figures that compare with nothing."""
    out: list[tuple[str, list[str]]] = []
    ru = FIXTURES / "ud-russian-gsd-dev.conllu"
    if ru.exists():
        for block in ru.read_text(encoding="utf-8").split("\n\n"):
            m = re.search(r"^# text = (.+)$", block, re.M)
            if m:
                out.append(("ru", m.group(1).split()))
    kk = FIXTURES / "kazakh-segmentation-dev.tsv"
    if kk.exists():
        for line in kk.read_text(encoding="utf-8").splitlines():
            if "\t" in line:
                out.append(("kk", line.split("\t")[0].split()))
    if not out and not demo_ok:
        raise SystemExit(f"the corpus sentences are missing ({FIXTURES}); run beside ../shared, "
                         "or pass --demo-corpus for figures that compare with nothing")
    if not out:
        text = (ROOT / "dalel" / "demodata" / "ru_broadcast.txt").read_text(encoding="utf-8")
        out = [("ru", s.split()) for s in text.split(".") if s.split()]
    return out


DEMO_CORPUS = "--demo-corpus" in sys.argv


def corpus(n: int, seed: int = 7):
    """Yield (video number, lang, text) for n segments."""
    rng = random.Random(seed)
    pool = sentences(DEMO_CORPUS)
    for i in range(n):
        lang, words = rng.choice(pool)
        k = rng.randint(6, 20)
        start = rng.randint(0, max(0, len(words) - k))
        text = " ".join(words[start:start + k])
        if i % 100_003 == 17:
            text += " аблязов"  # a rare name: 10 segments in a million
        yield i // PER_VIDEO, lang, text


def build_dalel(path: Path | str, n: int) -> float:
    """Index the corpus as the app does: one transcript per video, segments in batches."""
    s = store.Store(path)
    started = time.perf_counter()
    by_video: dict[int, list[tuple[str, str]]] = {}
    for vno, lang, text in corpus(n):
        by_video.setdefault(vno, []).append((lang, text))
        if len(by_video) > 1:  # the previous video is complete
            _index_video(s, *_first(by_video))
    for item in list(by_video.items()):
        _index_video(s, *item)
    s.conn.execute("UPDATE videos SET state = 'transcribed', archived_at = '2024-01-01T00:00:00Z'")
    if s.dialect == "sqlite":
        s.conn.execute("INSERT INTO segments_fts(segments_fts) VALUES ('optimize')")
        s.conn.execute("INSERT INTO bridges_fts(bridges_fts) VALUES ('optimize')")
    else:                      # a cluster's PostgreSQL (bench/cluster.py): as autovacuum leaves it
        s.conn.execute("VACUUM ANALYZE")
    s.close()
    return time.perf_counter() - started


def _first(by_video: dict) -> tuple[int, list]:
    vno = next(iter(by_video))
    return vno, by_video.pop(vno)


def _index_video(s: store.Store, vno: int, lines: list[tuple[str, str]]) -> None:
    video, _ = s.videos.discover("bench", f"v{vno:05d}", f"https://example.org/v{vno}",
                          channel="NeDeidi" if vno % 2 else "Other",
                          published=f"2024-{1 + vno % 12:02d}-{1 + vno % 28:02d}")
    tid = s.transcripts.begin(video, source="asr", model="bench", settings={}, language=None,
                             language_probability=None, audio_seconds=None)
    t, records = 0.0, []
    for lang, text in lines:
        dur = len(text.split()) * 0.4
        records.append(store.SegmentRecord(t, t + dur, text, lang))
        t += dur
    s.transcripts.add_segments(tid, video, 0, records)
    s.transcripts.finish(tid, video, 0.0)


def build_plain(path: Path, n: int) -> float:
    """FTS5 at its defaults (the unicode61 tokenizer), with the filter columns beside the text."""
    db = sqlite3.connect(path)
    db.execute("CREATE VIRTUAL TABLE plain USING fts5(text, lang UNINDEXED, channel UNINDEXED,"
               " published UNINDEXED)")
    started = time.perf_counter()
    db.executemany("INSERT INTO plain (rowid, text, lang, channel, published) VALUES (?, ?, ?, ?, ?)",
                   ((i + 1, text, lang, "NeDeidi" if vno % 2 else "Other",
                     f"2024-{1 + vno % 12:02d}-{1 + vno % 28:02d}")
                    for i, (vno, lang, text) in enumerate(corpus(n))))
    db.execute("INSERT INTO plain(plain) VALUES ('optimize')")
    db.commit()
    db.close()
    return time.perf_counter() - started


def index_bytes(path: Path, prefixes: tuple[str, ...]) -> int:
    db = sqlite3.connect(path)
    total = sum(r[1] for r in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")
                if r[0].startswith(prefixes))
    db.close()
    return total


def pick_queries(n: int) -> dict[str, list[str]]:
    freq = Counter(w.lower().strip(".,!?«»()\"") for _, _, t in corpus(min(n, 100_000)) for w in t.split())
    words_ = [w for w in freq if re.fullmatch(r"[а-яёәғқңөұүһі]{4,}", w)]
    common = [w for w, _ in freq.most_common(200) if w in words_][:20]
    rare = [w for w in words_ if freq[w] == 1][:20]
    bigrams = Counter()
    for _, _, t in corpus(min(n, 20_000)):
        ws = t.lower().split()
        bigrams.update(zip(ws, ws[1:]))
    phrases = [f'"{a} {b}"' for (a, b), c in bigrams.most_common(400)
               if re.fullmatch(r"[а-яё]{4,}", a) and re.fullmatch(r"[а-яё]{4,}", b)][:20]
    prefixes = [w[:5] + "*" for w in common[:10] + rare[:10]]
    filtered = [f"{w} lang:ru after:2024-06-01" for w in common[:10]] + \
               [f"{w} channel:NeDeidi" for w in rare[:10]]
    return {"rare": rare + ["аблязов"], "common": common, "phrase": phrases,
            "prefix": prefixes, "filtered": filtered}


SAMPLES = 100   # at least this many timings per percentile: each query is timed in rounds


def time_queries(run, queries: list[str]) -> tuple[float, float, int]:
    times = []
    for _ in range(-(-SAMPLES // len(queries))):
        for q in queries:
            start = time.perf_counter()
            run(q)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))], len(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=1_000_000)
    ap.add_argument("--keep", help="build into this folder and keep it")
    ap.add_argument("--demo-corpus", action="store_true", help="without ../shared: the demo text only")
    args = ap.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="dalel-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    ours, plain = folder / "dalel.sqlite3", folder / "plain.sqlite3"
    n = args.segments
    if not ours.exists():
        print(f"building dalel index of {n:,} segments …", flush=True)
        print(f"  dalel build: {build_dalel(ours, n):.1f} s", flush=True)
    if not plain.exists():
        print(f"  plain FTS5 build: {build_plain(plain, n):.1f} s", flush=True)
    ours_idx = index_bytes(ours, ("segments_fts", "bridges_fts"))
    plain_idx = index_bytes(plain, ("plain",))
    print(f"index size: dalel {ours_idx / 1e6:.0f} MB (segment + bridge FTS) vs plain {plain_idx / 1e6:.0f} MB "
          f"= {ours_idx / plain_idx:.2f}x; whole files {ours.stat().st_size / 1e6:.0f} MB vs "
          f"{plain.stat().st_size / 1e6:.0f} MB")
    queries = pick_queries(n)
    s = store.Store(ours)
    db = sqlite3.connect(plain)

    def run_ours(q: str) -> None:
        store.search(s, store.parse(q), store.SearchOptions(limit=50), approximate=False)

    def run_plain(q: str) -> None:
        """The same query and filters, as FTS5 alone runs them: ranked top 50 with a snippet."""
        where, params = "", []
        for key, value in re.findall(r"\b(lang|after|channel):(\S+)", q):
            col, op = {"lang": ("lang", "="), "after": ("published", ">="), "channel": ("channel", "=")}[key]
            where += f" AND {col} {op} ?"
            params.append(value)
        fts = re.sub(r"\b(lang|after|channel):\S+", "", q).strip()
        db.execute("SELECT rowid, snippet(plain, 0, '[', ']', '…', 12) FROM plain WHERE plain MATCH ?"
                   f"{where} ORDER BY rank LIMIT 50", (fts, *params)).fetchall()

    run_ours("билік власть")   # steady state: the Russian and Kazakh dictionaries are loaded once per process
    run_plain("власть")
    print("corpus: " + ("../shared/fixtures sentences (Russian UD GSD dev, Kazakh segmentation dev)"
                         if (FIXTURES / "ud-russian-gsd-dev.conllu").exists()
                         else "the built-in demo text only (../shared/fixtures is absent: figures not comparable)"))
    print("dalel: store.search, mentions merged and each hit's sentence and context built (limit 50);"
          " plain: FTS5 defaults (unicode61), same filters as WHERE on the row's columns, ranked top 50 with snippet()")
    print(f"{'query':<9} {'dalel p50':>10} {'p95':>8}   {'plain p50':>10} {'p95':>8}   (ms; queries × rounds)")
    for kind, qs in queries.items():
        o50, o95, k = time_queries(run_ours, qs)
        p50, p95, _ = time_queries(run_plain, qs)
        print(f"{kind:<9} {o50:>10.1f} {o95:>8.1f}   {p50:>10.1f} {p95:>8.1f}   ({len(qs)} × {k // len(qs)} = {k})")
        print("          e.g. " + ", ".join(qs[:3]))
    if not args.keep:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
