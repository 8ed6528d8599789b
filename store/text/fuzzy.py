"""Approximate matching: the spellings speech recognition writes for a word it misheard.

Whisper's errors in Russian and Kazakh are not random edits. It writes an unstressed
vowel as its neighbour (о/а, е/и/я, э/е/а: «в прямом афере» for «эфире»), a voiced
consonant at a word's end as voiceless (д/т, б/п, г/к, ғ/қ), a doubled letter single, and
Kazakh letters as their Russian look-alikes (қ/к, ғ/г, ң/н, і/и). `fold` maps a word to a
key in which all of these are equal; two spellings with the same key are a possible
mention of each other, and for words of five letters or more one further edit of the key
is allowed. A misheard ending is caught by comparing stems as well (жыналыс for
жиналысқа). Other confusions — a word split in two («за хват») or two joined
(«захватвласти»), a short word inserted inside a phrase («захвате в власти») — are handled
where words are matched in order (`match.py`).

Candidates are looked up in the index's vocabulary (`store/index.py`: every spoken form the
index has seen, with its stem and its key); hits found this way are always labelled
possible, never counted with the exact ones.
"""
from __future__ import annotations

from rapidfuzz.distance import Levenshtein

from .base import normalise

_FOLD = str.maketrans({**{v: "а" for v in "аоэеияыіәөёй"}, **{v: "у" for v in "уюұү"},
                       "қ": "к", "ғ": "г", "ң": "н", "һ": "х", "ъ": None, "ь": None})
_DEVOICE = {"д": "т", "б": "п", "г": "к", "з": "с", "в": "ф", "ж": "ш"}


def fold(word: str) -> str:
    """The key under which recognition's usual confusions of a word are equal."""
    w = normalise(word).translate(_FOLD)
    if not w:
        return w
    w = w[:-1] + _DEVOICE.get(w[-1], w[-1])
    out = [w[0]]
    for ch in w[1:]:
        if ch != out[-1]:          # doubled letters, and vowel runs after folding
            out.append(ch)
    return "".join(out)


def max_edits(key: str) -> int:
    """Edits of the folded key allowed beyond the folded confusions."""
    return 0 if len(key) < 5 else 1


def within(a: str, b: str, limit: int) -> bool:
    """Levenshtein distance of a and b is at most `limit` (rapidfuzz: C, stops at the cutoff)."""
    return Levenshtein.distance(a, b, score_cutoff=limit) <= limit
