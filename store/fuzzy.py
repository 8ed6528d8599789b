"""Approximate matching for words speech recognition misheard.

Each query word is compared, as written, with every word form the index has seen
(the `vocabulary` table), and its stem with every stem seen; forms within a small edit
distance count as the word, under their indexed stems. Comparing surface forms matters:
a misspelling often has no proper lemma (насильствиному → "насильствин", far from
"насильственный"); comparing stems finds a misheard inflected form whose endings differ
from every form seen (жыналыс for жиналысқа). The result is an FTS5
expression in which every word must appear in a segment, in any of its spellings.
"""
from __future__ import annotations

from itertools import islice, product

from .analysis import LANGUAGES, analyse, normalise
from .db import Store
from .query import NEAR_DISTANCE, Query


def max_edits(word: str) -> int:
    return 0 if len(word) <= 3 else 1 if len(word) <= 6 else 2


def within(a: str, b: str, limit: int) -> bool:
    """Levenshtein distance of a and b is at most `limit` (banded, exits early)."""
    if abs(len(a) - len(b)) > limit:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return False
        prev = cur
    return prev[-1] <= limit


def similar_terms(store: Store, word: str, stem: str) -> list[str]:
    """Stems of the seen word forms within the edit budget of `word`, and seen stems within
    the budget of `stem` (a misheard vowel in an inflected form: жыналысқа for жиналысқа is
    three edits from any seen form, one from the stem) — same first letter: recognition
    errors rarely change a word's onset — plus `stem` itself."""
    word = normalise(word)
    limit = max_edits(word)
    if limit == 0:
        return [stem]
    rows = store.conn.execute(
        "SELECT word, stem FROM vocabulary WHERE word >= ? AND word < ?"
        " AND length(word) BETWEEN ? AND ?",
        (word[0], word[0] + "\U0010ffff", len(word) - limit, len(word) + limit)).fetchall()
    found = {s for w, s in rows if within(word, w, limit)}
    if (stem_limit := max_edits(stem)) and stem:
        stems = store.conn.execute(
            "SELECT DISTINCT stem FROM vocabulary WHERE stem >= ? AND stem < ?"
            " AND length(stem) BETWEEN ? AND ?",
            (stem[0], stem[0] + "\U0010ffff", len(stem) - stem_limit, len(stem) + stem_limit)).fetchall()
        found |= {s for (s,) in stems if within(stem, s, stem_limit)}
    return sorted(found | {stem})


MAX_COMBINATIONS = 64


def approximate_fts(store: Store, query: Query, lang: str | None = None) -> str | None:
    """The query with each word also in near spellings; phrases keep their word order and
    plain words stay close together, as in the exact query."""
    langs = [lang] if lang in LANGUAGES else list(LANGUAGES)
    spellings = []  # per positive term: the FTS5 phrases it may appear as
    for term in query.positive:
        if term.prefix:
            spellings.append([f'"{normalise(term.text)}" *'])
            continue
        per_word = []
        for i in range(len(analyse(term.text, "ru"))):
            alts: set[str] = set()
            for lg in langs:
                token = analyse(term.text, lg)[i]
                alts.update(similar_terms(store, token.word, token.stem))
            per_word.append(sorted(alts))
        spellings.append([f'"{" ".join(c)}"' for c in islice(product(*per_word), MAX_COMBINATIONS)])
    if not spellings:
        return None
    plain = all(len(g) == 1 for g in query.groups) and len(spellings) > 1
    combos = list(islice(product(*spellings), MAX_COMBINATIONS + 1))
    if plain and len(combos) <= MAX_COMBINATIONS:
        expr = " OR ".join(f"NEAR({' '.join(c)}, {NEAR_DISTANCE})" for c in combos)
    else:
        expr = " AND ".join("(" + " OR ".join(alts) + ")" for alts in spellings)
    for group in query.groups:
        if group[0].negated:
            expr = f"({expr}) NOT " + " ".join(f'"{t.stem}"' for t in analyse(group[0].text, lang))
    return expr


def forms_of(store: Store, query: Query, lang: str | None = None) -> dict[str, list[str]]:
    """For each searched word: every form seen in the transcripts that shares its indexed form."""
    langs = [lang] if lang in LANGUAGES else list(LANGUAGES)
    out: dict[str, list[str]] = {}
    for term in query.positive:
        for i, word in enumerate(analyse(term.text, "ru")):
            if term.prefix:
                p = normalise(term.text)
                rows = store.conn.execute("SELECT word FROM vocabulary WHERE stem >= ? AND stem < ?",
                                          (p, p + "\U0010ffff")).fetchall()
            else:
                stems = {analyse(term.text, lg)[i].stem for lg in langs}
                marks = ",".join("?" * len(stems))
                rows = store.conn.execute(f"SELECT word FROM vocabulary WHERE stem IN ({marks})",
                                          tuple(stems)).fetchall()
            key = term.text + "*" if term.prefix else word.word
            out[key] = sorted({r[0] for r in rows} | {normalise(word.word)})
    return out
