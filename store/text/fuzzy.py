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

Candidates are looked up in the `vocabulary` table (every spoken form the index has seen,
with its stem and its key); hits found this way are always labelled possible, never
counted with the exact ones.
"""
from __future__ import annotations

import sqlite3

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
    """Levenshtein distance of a and b is at most `limit` (banded, exits early)."""
    if abs(len(a) - len(b)) > limit:
        return False
    if limit == 0:
        return a == b
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return False
        prev = cur
    return prev[-1] <= limit


def similar(conn: sqlite3.Connection, word: str, stems: frozenset[str]) -> dict[str, str]:
    """Spoken forms (normalised) that may be `word` misheard, with their stems: same folded
    key, or the key with another ending (up to two more letters; keys of 4 or more), or one
    edit from it (5 or more, same first letter of the key), or a stem one edit from one of
    `stems` (a misheard ending). Forms whose stem is in `stems` are exact
    matches, not possible ones, and are left out."""
    key = fold(word)
    if len(key) < 3:
        return {}
    found = dict(conn.execute("SELECT word, stem FROM vocabulary WHERE fold = ?", (key,)).fetchall())
    if len(key) >= 4:   # another ending: эфир~ finds «афере»
        rows = conn.execute("SELECT word, stem, fold FROM vocabulary WHERE fold > ? AND fold < ?"
                            " AND length(fold) <= ?", (key, key + "\U0010ffff", len(key) + 2)).fetchall()
        found |= {w: s for w, s, _ in rows}
    if limit := max_edits(key):
        rows = conn.execute(
            "SELECT word, stem, fold FROM vocabulary WHERE fold >= ? AND fold < ?"
            " AND length(fold) BETWEEN ? AND ?",
            (key[0], key[0] + "\U0010ffff", len(key) - limit, len(key) + limit)).fetchall()
        found |= {w: s for w, s, f in rows if within(key, f, limit)}
    for stem in stems:
        if len(stem) >= 5:
            rows = conn.execute(
                "SELECT word, stem FROM vocabulary WHERE stem >= ? AND stem < ?"
                " AND length(stem) BETWEEN ? AND ?",
                (stem[0], stem[0] + "\U0010ffff", len(stem) - 1, len(stem) + 1)).fetchall()
            found |= {w: s for w, s in rows if within(stem, s, 1)}
    return {w: s for w, s in found.items() if s not in stems}
