"""Search quality: recall and precision of `dalel search` on a set of queries with known answers.

bench/search_quality.txt holds Kazakh and Russian sentences (each indexed as its own
video) and queries with the sentences an analyst expects them to find: other word
forms, phrases, Latin and Cyrillic spellings, transliterated names, NEAR, and claimed
phrases that were never said. Each query runs through the real index and query
language (exact forms; the approximate fallback is a separate, marked feature).
Recall: expected sentences found / expected; precision: found sentences that were
expected / found; both over all queries of a language.

    .venv/bin/python bench/search_quality.py [-v] [--hits]

`--hits` prints every query's hits (mode, query, sentence ids), to compare two versions.
"""
from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import store  # noqa: E402

DATA = Path(__file__).with_name("search_quality.txt")


@dataclass
class Case:
    query: str
    lang: str
    lemma_expected: frozenset[str]          # with --lemma: the word's own forms
    family_expected: frozenset[str]         # by default: its family's forms too
    lemma: bool = False                     # which mode `found` and `expected` are for
    found: frozenset[str] = frozenset()

    @property
    def expected(self) -> frozenset[str]:
        return self.lemma_expected if self.lemma else self.family_expected


def load(path: Path = DATA) -> tuple[list[tuple[str, str, str]], list[Case]]:
    """The sentences (id, language, text) and the queries, each counted for the language
    of the section it is in ("# Kazakh", "# Russian")."""
    segments, cases, section = [], [], "?"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("S "):
            _, sid, lang, text = line.split(" ", 3)
            segments.append((sid, lang, text))
        elif line.startswith("Q "):
            query, _, ids = line[2:].partition(" => ")
            own, _, family = ids.partition("+")
            own_ids = frozenset(own.split()) - {"-"}
            cases.append(Case(query.strip(), section, own_ids, own_ids | frozenset(family.split())))
        elif line.startswith("# Kazakh"):
            section = "kk"
        elif line.startswith("# Russian"):
            section = "ru"
    return segments, cases


def run(db: Path, segments, cases: list[Case], lemma: bool = False) -> list[Case]:
    """Run every query (by default with word families; `lemma`: each word's own forms)."""
    cases = [Case(c.query, c.lang, c.lemma_expected, c.family_expected, lemma) for c in cases]
    s = store.Store(db)
    for sid, lang, text in segments:
        video, _ = s.videos.discover("quality", sid, f"https://example.org/{sid}", channel="quality")
        s.transcripts.add_text(video, source="asr", model="quality",
                              segments=[store.SegmentRecord(0.0, 5.0, text, lang)])
    for case in cases:
        res = store.search(s, store.parse(case.query), store.SearchOptions(limit=1000, lemma=lemma),
                           approximate=False)
        case.found = frozenset(h.video_id for h in res.hits)
    s.close()
    return cases


def scores(cases: list[Case], lang: str) -> tuple[float, float, int]:
    mine = [c for c in cases if c.lang == lang]
    hit = sum(len(c.found & c.expected) for c in mine)
    expected = sum(len(c.expected) for c in mine)
    found = sum(len(c.found) for c in mine)
    return hit / max(1, expected), (hit / found if found else 1.0), len(mine)


def main() -> None:
    segments, cases = load()
    for lemma, mode in ((False, "word families (default)"), (True, "--lemma")):
        with tempfile.TemporaryDirectory() as tmp:
            done = run(Path(tmp) / "quality.db", segments, cases, lemma)
        if "--hits" in sys.argv:
            for c in done:
                print(f"{mode}\t{c.query}\t{' '.join(sorted(c.found)) or '-'}")
            continue
        print(f"{mode}:")
        for lang, name in (("kk", "Kazakh"), ("ru", "Russian")):
            r, p, n = scores(done, lang)
            print(f"  {name}: {n} queries, recall {r:.1%}, precision {p:.1%}")
        wrong = [c for c in done if c.found != c.expected]
        for c in wrong if "-v" in sys.argv else wrong[:20]:
            print(f"    {c.query!r}: missed {sorted(c.expected - c.found)} extra {sorted(c.found - c.expected)}")


if __name__ == "__main__":
    main()
