"""Near spellings (a misheard word's possible forms) in a large vocabulary: looked up by near keys
(`store/index.py: similar`) against the scan it replaced (every form beginning with the word's
letter, within the length band, compared by edit distance: tests/unit/test_near_keys.py's
`reference`, which SQLite answers with its own indexes on the same tables).

The vocabulary: real Russian and Kazakh words with their endings, each misheard four ways (a
letter changed, added, dropped, doubled), and made-up words of 4 to 14 letters up to N forms in
all (a real archive's vocabulary is mostly forms with few near neighbours: names, rare words,
misrecognitions), written into a SQLite store's vocabulary and near keys as the index writes
them. The words asked: 100 of the real forms and 100 mishearings of them, each with its analysed
stems, the same for both ways; the answers must be equal.

    .venv/bin/python bench/near_spellings.py [--forms 2000000]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import store                                             # noqa: E402
from store.index import near_keys, similar               # noqa: E402
from store.text import analyse, fold                     # noqa: E402
from unit.test_near_keys import (KK, KK_ENDINGS, LETTERS, RU, RU_ENDINGS,   # noqa: E402
                                 _mutations, reference)


def vocabulary(n: int, rng: random.Random) -> tuple[list[tuple[str, str]], set[str]]:
    """The real forms with their languages, and n forms in all (theirs, their mishearings and
    made-up words)."""
    real = [(b + e, "ru") for b in RU for e in RU_ENDINGS] + [(b + e, "kk") for b in KK for e in KK_ENDINGS]
    forms = {w for w, _ in real} | {m for w, _ in real for m in _mutations(w, rng)}
    while len(forms) < n:
        forms.add("".join(rng.choice(LETTERS) for _ in range(rng.randint(4, 14))))
    return real, forms


def percentile(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * p))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--forms", type=int, default=2_000_000)
    args = ap.parse_args()
    rng = random.Random(1)
    real, forms = vocabulary(args.forms, rng)
    with tempfile.TemporaryDirectory() as tmp, store.Store(Path(tmp) / "dalel.sqlite3") as st:
        start = time.monotonic()
        rows = [(w, next((t.stem for t in analyse(w, "ru")), w), fold(w)) for w in sorted(forms)]
        with st.transaction() as conn:
            conn.executemany("INSERT INTO vocabulary (word, stem, fold) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", rows)
            conn.executemany("INSERT INTO near_keys (kind, del, key) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                             ((kind, d, key) for _, s, f in rows for kind, key in (("f", f), ("s", s))
                              for d in near_keys(key)))
        keys = st.conn.execute("SELECT count(*) FROM near_keys").fetchone()[0]
        size = st.conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'near_keys%'").fetchone()[0]
        print(f"vocabulary: {len(rows):,} forms, {keys:,} near keys ({size / 2**20:,.0f} MB),"
              f" written in {time.monotonic() - start:.0f} s")
        asked = [(w, lang) for w, lang in rng.sample(real, 100)]
        asked += [(w[:i] + rng.choice(LETTERS) + w[i + 1:], lang) for w, lang in rng.sample(real, 100)
                  for i in [rng.randrange(len(w))]]
        timings: dict[str, list[float]] = {"scan (before)": [], "near keys": []}
        found, counts = 0, []
        for word, lang in asked:
            stems = frozenset(t.stem for t in analyse(word, lang))
            answers = []
            for name, way in (("scan (before)", reference), ("near keys", similar)):
                t = time.perf_counter()
                answers.append(way(st.conn, word, stems))
                timings[name].append((time.perf_counter() - t) * 1000)
            if answers[0] != answers[1]:
                raise SystemExit(f"the two ways differ for {word!r}")
            found += len(answers[1])
            counts.append(len(answers[1]))
        print(f"{len(asked)} words asked, {found:,} near spellings found, the same both ways (median"
              f" {statistics.median(counts):.0f} a word)")
        for name, ms in timings.items():
            print(f"  {name:14} p50 {statistics.median(ms):7.1f} ms  p95 {percentile(ms, 0.95):7.1f} ms"
                  f"  max {max(ms):7.1f} ms")
        ratio = statistics.median(timings["scan (before)"]) / statistics.median(timings["near keys"])
        print(f"  p50 ratio: {ratio:.0f}× faster by near keys")


if __name__ == "__main__":
    main()
