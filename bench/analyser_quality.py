"""Conflation recall and precision of the Russian and Kazakh analysers on gold data.

Recall: of the pairs of words that share a gold lemma/root, the share the analyser
indexes under one form. Precision: of the pairs it indexes under one form, the share
that truly share the lemma/root. Two weightings: "types" counts each distinct word
form once; "tokens" counts every running word (frequent words weigh more, as they
do in search). Reads ../shared/fixtures when present.

    .venv/bin/python bench/analyser_quality.py [--fixtures DIR]
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from math import comb
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from store.text import analyse, normalise, words  # noqa: E402


def indexed(word: str, lang: str) -> str:
    """The form a word is indexed under in a segment of `lang` (per-word routing included)."""
    return analyse(word, lang)[0].stem


def conllu_pairs(path: Path) -> list[tuple[str, str]]:
    """(word form, gold lemma) per running word (letters only, lowercased)."""
    gold: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) < 4 or not cols[0].isdigit() or cols[3] in ("PUNCT", "NUM", "SYM", "X"):
            continue
        form, lemma = normalise(cols[1]), normalise(cols[2])
        if words(form) == [form] and any(c.isalpha() for c in form):
            gold.append((form, lemma))
    return gold


def segmentation_pairs(path: Path) -> list[tuple[str, str]]:
    """(word form, gold root = first morpheme) per running word of `sentence<TAB>seg·ment·ed`."""
    gold: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if "\t" not in line:
            continue
        for token in line.split("\t")[1].split():
            form = normalise(token.replace("·", ""))
            if words(form) == [form] and any(c.isalpha() for c in form):
                gold.append((form, normalise(token.split("·")[0])))
    return gold


def lexical_roots(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The same gold with each root written as the dictionary writes it: the segmentation
    spells a root as it appears in the word (аумағ·ы, халқ·ы), Dalel indexes аумақ, халық."""
    voiced = {"ғ": "қ", "г": "к", "б": "п"}
    dropped = {"халқ": "халық", "орн": "орын", "мұрн": "мұрын", "ерн": "ерін", "қалп": "қалып",
               "ерк": "ерік", "мойн": "мойын", "әрп": "әріп"}
    out = []
    for form, root in pairs:
        root = dropped.get(root, root)
        out.append((form, root[:-1] + voiced[root[-1]] if root[-1:] in voiced else root))
    return out


def measure(gold: list[tuple[str, str]], analyse, types: bool) -> tuple[float, float]:
    """(recall, precision) of conflation, counting pairs through group sizes."""
    if types:
        gold = list(dict(gold).items())  # each form once, with its first gold lemma
    cell, by_gold, by_ours = Counter(), Counter(), Counter()
    cache: dict[str, str] = {}
    for form, lemma in gold:
        ours = cache.get(form) or cache.setdefault(form, analyse(form))
        cell[(lemma, ours)] += 1
        by_gold[lemma] += 1
        by_ours[ours] += 1
    def pairs(counts) -> int:
        return sum(comb(n, 2) for n in counts.values())

    both = pairs(cell)
    return both / max(1, pairs(by_gold)), both / max(1, pairs(by_ours))


def bcubed(gold: list[tuple[str, str]], analyse) -> tuple[float, float]:
    """B-cubed recall and precision over running words: for each word, the share of its gold
    group that shares its indexed form, and the share of its indexed-form group that shares
    its gold lemma, averaged (the standard clustering measure)."""
    from collections import defaultdict
    by_gold, by_ours, keys = defaultdict(set), defaultdict(set), []
    cache: dict[str, str] = {}
    for i, (form, lemma) in enumerate(gold):
        ours = cache.get(form) or cache.setdefault(form, analyse(form))
        by_gold[lemma].add(i)
        by_ours[ours].add(i)
        keys.append((lemma, ours))
    r = sum(len(by_gold[g] & by_ours[o]) / len(by_gold[g]) for g, o in keys) / len(keys)
    p = sum(len(by_gold[g] & by_ours[o]) / len(by_ours[o]) for g, o in keys) / len(keys)
    return r, p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default=str(Path(__file__).resolve().parents[2] / "shared" / "fixtures"))
    fx = Path(ap.parse_args().fixtures)
    cases = [
        ("Russian UD GSD dev (lemmas)", fx / "ud-russian-gsd-dev.conllu", conllu_pairs, "ru"),
        ("Kazakh segmentation dev (roots)", fx / "kazakh-segmentation-dev.tsv", segmentation_pairs, "kk"),
        ("Kazakh segmentation dev (roots as the dictionary writes them)", fx / "kazakh-segmentation-dev.tsv",
         lambda path: lexical_roots(segmentation_pairs(path)), "kk"),
        ("Kazakh UD KTB train (lemmas)", fx / "ud-kazakh-ktb-train.conllu", conllu_pairs, "kk"),
    ]
    for label, path, reader, lang in cases:
        if not path.exists():
            print(f"{label}: {path} not found, skipped")
            continue
        gold = reader(path)
        print(f"{label}: {len(gold)} running words, {len(set(f for f, _ in gold))} distinct forms")
        for types in (True, False):
            r, p = measure(gold, lambda w, lang=lang: indexed(w, lang), types)
            br, bp = measure(gold, lambda w: w[:4], types)
            print(f"  {'types ' if types else 'tokens'}: dalel recall {r:.1%} precision {p:.1%}"
                  f"   (4-letter truncation: recall {br:.1%} precision {bp:.1%})")
        r, p = bcubed(gold, lambda w, lang=lang: indexed(w, lang))
        br, bp = bcubed(gold, lambda w: w[:4])
        print(f"  B-cubed: dalel recall {r:.1%} precision {p:.1%}"
              f"   (4-letter truncation: recall {br:.1%} precision {bp:.1%})")


if __name__ == "__main__":
    main()
