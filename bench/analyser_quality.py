"""Conflation recall and precision of the Russian and Kazakh analysers on gold data.

Recall: of the pairs of distinct words that share a gold lemma/root, the share the
analyser indexes under one form. Precision: of the pairs it indexes under one form,
the share that truly share the lemma/root. Reads ../shared/fixtures when present.

    .venv/bin/python bench/analyser_quality.py [--fixtures DIR]
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from store.analysis import normalise, stem, words  # noqa: E402


def conllu_pairs(path: Path) -> dict[str, str]:
    """word form → gold lemma (letters only, lowercased)."""
    gold: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) < 4 or not cols[0].isdigit() or cols[3] in ("PUNCT", "NUM", "SYM", "X"):
            continue
        form, lemma = normalise(cols[1]), normalise(cols[2])
        if words(form) == [form] and any(c.isalpha() for c in form):
            gold.setdefault(form, lemma)
    return gold


def segmentation_pairs(path: Path) -> dict[str, str]:
    """word form → gold root (the first morpheme) from `sentence<TAB>seg·ment·ed`."""
    gold: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "\t" not in line:
            continue
        for token in line.split("\t")[1].split():
            form = normalise(token.replace("·", ""))
            if words(form) == [form] and any(c.isalpha() for c in form):
                gold.setdefault(form, normalise(token.split("·")[0]))
    return gold


def measure(gold: dict[str, str], analyse) -> tuple[float, float, int]:
    by_gold, by_ours = defaultdict(set), defaultdict(set)
    for form, lemma in gold.items():
        by_gold[lemma].add(form)
        by_ours[analyse(form)].add(form)
    gold_pairs = {p for g in by_gold.values() for p in combinations(sorted(g), 2)}
    our_pairs = {p for g in by_ours.values() for p in combinations(sorted(g), 2)}
    both = len(gold_pairs & our_pairs)
    recall = both / len(gold_pairs) if gold_pairs else 1.0
    precision = both / len(our_pairs) if our_pairs else 1.0
    return recall, precision, len(gold)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default=str(Path(__file__).resolve().parents[2] / "shared" / "fixtures"))
    fx = Path(ap.parse_args().fixtures)
    cases = [
        ("Russian UD GSD dev (lemmas)", fx / "ud-russian-gsd-dev.conllu", conllu_pairs, "ru"),
        ("Kazakh segmentation dev (roots)", fx / "kazakh-segmentation-dev.tsv", segmentation_pairs, "kk"),
        ("Kazakh UD KTB train (lemmas)", fx / "ud-kazakh-ktb-train.conllu", conllu_pairs, "kk"),
    ]
    for label, path, reader, lang in cases:
        if not path.exists():
            print(f"{label}: {path} not found, skipped")
            continue
        gold = reader(path)
        r, p, n = measure(gold, lambda w: stem(w, lang))
        base = measure(gold, lambda w: w[:4])
        print(f"{label}: {n} word forms; dalel recall {r:.1%} precision {p:.1%}; "
              f"4-letter truncation recall {base[0]:.1%} precision {base[1]:.1%}")


if __name__ == "__main__":
    main()
