"""Precision and recall of Russian word families (store/families.py) against hand judgements.

bench/word_families.txt lists lemmas with every member the rules produced, each judged +
(the same action or event) or - (another meaning), and members a reader expects that the
rules miss (?). For each section ("tuned": the words the rules were written on; "held
out": words judged once, not used to write the rules) this prints precision (members
judged + / members produced), recall (+ / (+ and ?)), every member judged -, and any member
the rules now produce that has no judgement yet (judge it in the file).

    .venv/bin/python bench/word_families.py
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from store.text import family  # noqa: E402

DATA = Path(__file__).with_name("word_families.txt")


def load() -> dict[str, dict[str, dict[str, str]]]:
    sections: dict[str, dict[str, dict[str, str]]] = {}
    section = "?"
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.strip() and not line.startswith("#"):
            lemma, _, rest = line.partition(":")
            sections.setdefault(section, {})[lemma.strip()] = {m[:-1]: m[-1] for m in rest.split()}
    return sections


def main() -> None:
    for section, lemmas in load().items():
        produced = good = missed = 0
        wrong, unjudged, lost = [], [], []
        for lemma, judged in lemmas.items():
            members = set(family(lemma)) - {lemma}
            for m in members:
                mark = judged.get(m)
                if mark is None or mark == "?":
                    unjudged.append(f"{lemma}→{m}") if mark is None else None
                produced += 1
                good += mark in ("+", "?")
                if mark == "-":
                    wrong.append(f"{lemma}→{m}")
            for m, mark in judged.items():
                if mark in ("+", "?") and m not in members:
                    missed += 1
                    if mark == "+":
                        lost.append(f"{lemma}→{m}")
        print(f"{section}: {len(lemmas)} lemmas, {produced} family members produced; precision "
              f"{good / max(produced, 1):.1%}, recall {good / max(good + missed, 1):.1%}")
        print(f"  judged another meaning: {', '.join(wrong) or 'none'}")
        if lost:
            print(f"  judged + but no longer produced: {', '.join(lost)}")
        if unjudged:
            print(f"  not judged yet: {', '.join(unjudged)}")


if __name__ == "__main__":
    main()
