"""Build store/text/data/kk_lexicon.tsv.gz from the Kazakh Hunspell word list.

The list (hunspell-kk 1.1: Akmaral Mussayeva, László Németh, Rail Aliev, 2009;
GPL-2+ or LGPL-2.1+ or MPL-1.1+) has 54,000 Kazakh words: dictionary forms and
frequent inflected forms. The stemmer needs, for each stem it may cut a word down
to, whether it is a word (noun-like) or a verb stem, and how many of the listed
words are that stem plus a valid ending (its paradigm's size): a real stem has a
large family (адам: адамды, адамның, адамдар…), an accidental prefix a small one.

    apt-get install hunspell-kk
    .venv/bin/python scripts/build_kk_lexicon.py [/usr/share/hunspell/kk_KZ.dic]

Output, one line per stem: `stem<TAB>kinds<TAB>noun family<TAB>verb family`, kinds `n`,
`v` or `nv` (a noun's family counts its noun endings, a verb's its verb endings); і and й
are written и, as the stemmer looks them up (Latin i is all three).
"""
from __future__ import annotations

import gzip
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from store.text.base import normalise  # noqa: E402
from store.text.kk import _FOLD, SHORT_STEMS, Lexicon, analyses  # noqa: E402
from store.text.kk_suffixes import BACK, VOWELS  # noqa: E402

OUT = ROOT / "store" / "data" / "kk_lexicon.tsv.gz"



def read_dic(path: Path) -> tuple[list[str], Lexicon]:
    """The listed words as spelled, and the lexicon (keys folded, families still empty)."""
    words, nouns, verbs = [], set(), set()
    lines = path.read_text(encoding="utf-8").lstrip("\ufeff").splitlines()[1:]
    for line in lines:
        word, _, flags = line.partition("/")
        word = normalise(word.strip())
        if not word.isalpha():
            continue
        words.append(word)
        # Verbs are listed by their verbal noun in -у, flagged Mm… (абайлау → абайла);
        # a stem in -ы/-і loses it before -у (оқы·у → оқу), so both readings are kept.
        # The verbal noun itself is a form of the verb, not a word of its own.
        stem = word[:-1]
        if not (flags.startswith("Mm") and word.endswith("у") and len(word) > 2) or (
                len(stem) == 2 and stem.translate(_FOLD) not in SHORT_STEMS["v"]):
            nouns.add(word.translate(_FOLD))   # тау "mountain", жау "enemy": nouns in -у
        else:
            verbs.add(stem.translate(_FOLD))
            if stem[-1] not in VOWELS:
                verbs.add((stem + ("ы" if set(stem) & BACK else "і")).translate(_FOLD))
    return words, Lexicon(nouns=frozenset(nouns), verbs=frozenset(verbs), family=Counter())


def _plural(ending: str) -> bool:
    return ending[:3] in {"лар", "лер", "дар", "дер", "тар", "тер"}


def main() -> None:
    dic = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/hunspell/kk_KZ.dic")
    if not dic.exists():
        sys.exit(f"{dic} not found: apt-get install hunspell-kk, or pass the path to kk_KZ.dic")
    words, lex = read_dic(dic)
    family: Counter[tuple[str, str]] = Counter()
    for word in words:
        for split in analyses(word, lex):
            family[split.lemma, split.kind] += 1
    # The list has many plurals as entries (үйлер, жағдайлар): they are forms of the
    # singular, not stems of their own, and their families are the singular's.
    plurals = {w.translate(_FOLD) for w in words
               for s in analyses(w, lex)[1:] if s.kind == "n" and _plural(s.ending)}
    lex = Lexicon(nouns=lex.nouns - plurals, verbs=lex.verbs, family=Counter())
    family = Counter()
    for word in words:
        for split in analyses(word, lex):
            family[split.lemma, split.kind] += 1
    stems = sorted(lex.nouns | lex.verbs)
    lines = []
    for s in stems:
        kinds = ("n" if s in lex.nouns else "") + ("v" if s in lex.verbs else "")
        lines.append(f"{s}\t{kinds}\t{family[s, 'n']}\t{family[s, 'v']}\n")
    with open(OUT, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write("".join(lines).encode("utf-8"))   # mtime 0: the same input gives the same bytes
    print(f"{OUT.relative_to(ROOT)}: {len(stems)} stems, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
