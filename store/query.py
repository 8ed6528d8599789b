"""The query language, parsed once and shared by the CLI and the web.

    захват власти          all words, any form, close together
    "захват власти"        the words adjacent, in this order, any form
    выборы OR референдум   either (OR binds the words beside it)
    -суд                   exclude
    власт*                 prefix of the indexed form
    NEAR(захват власть, 5) the words within 5 words of each other, any order
    channel:X lang:ru video:ID after:2024-01-01 before:2024-12-31   filters
    channel:"Ne deidi"     a filter value with spaces
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .analysis import BOUNDARY, BRIDGE, LANGUAGES, analyse, normalise, words
from .errors import QueryError

FILTERS = ("channel", "lang", "video", "after", "before", "source")
SOURCES = ("asr", "subtitles", "metadata", "import")
NEAR_DISTANCE = 12  # words; "close together" means within one spoken sentence or so
# A token: "a phrase", NEAR(...), a filter whose value is quoted (channel:"Ne deidi"), a word.
_TOKEN = re.compile(r'\s*(-?)(?:"([^"]*)"|(NEAR\([^)]*\)?)|(\w+:"[^"]*"|\S+))')
_NEAR = re.compile(r"^NEAR\(\s*([^,)]+?)\s*(?:,\s*(\d+)\s*)?\)$")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


@dataclass(frozen=True)
class Term:
    text: str          # as the user wrote it
    phrase: bool = False
    prefix: bool = False
    negated: bool = False
    near: int | None = None   # NEAR(words, n): within n words of each other


@dataclass(frozen=True)
class Query:
    raw: str
    groups: tuple[tuple[Term, ...], ...]   # AND of groups; a group is an OR of terms
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def positive(self) -> list[Term]:
        return [t for g in self.groups for t in g if not t.negated]

    @property
    def multiword(self) -> bool:
        """Whether a match can span several words (and so a segment boundary)."""
        pos = self.positive
        return len(pos) > 1 or any((t.phrase or t.near) and len(words(t.text)) > 1 for t in pos)

    def fts(self, lang: str | None = None) -> str:
        """The FTS5 MATCH expression: the query read as each language, OR-ed."""
        langs = [lang] if lang in LANGUAGES else list(LANGUAGES)
        variants = list(dict.fromkeys(self._fts_for(lg) for lg in langs))
        return variants[0] if len(variants) == 1 else " OR ".join(f"({v})" for v in variants)

    def crossing_fts(self, lang: str | None = None) -> str | None:
        """For a query of phrases only (one group, OR-ed, with exclusions): the FTS5
        expression that matches a bridge row only where a phrase crosses its boundary
        ("a b c" as "a ᛝ b c" or "a b ᛝ c"), so bridges need no check row by row; the
        query read as each language, OR-ed, as in `fts`. None for other queries (words
        close together, NEAR, prefixes): their bridge matches are checked with highlight()."""
        pos = [g for g in self.groups if not g[0].negated]
        if len(pos) != 1 or any(t.near is not None or t.prefix for g in self.groups for t in g):
            return None
        langs = [lang] if lang in LANGUAGES else list(LANGUAGES)
        variants = [v for v in dict.fromkeys(self._crossing_for(pos[0], lg) for lg in langs) if v]
        if not variants:
            return None
        return variants[0] if len(variants) == 1 else " OR ".join(f"({v})" for v in variants)

    def _crossing_for(self, group: tuple[Term, ...], lang: str) -> str | None:
        phrases = []
        for term in group:
            stems = [t.stem for t in analyse(term.text, lang)]
            for k in range(max(1, len(stems) - BRIDGE), min(len(stems), BRIDGE + 1)):
                phrases.append('"' + " ".join(stems[:k] + [BOUNDARY] + stems[k:]) + '"')
        if not phrases:
            return None   # single words cannot cross a boundary
        expr = " OR ".join(dict.fromkeys(phrases))
        for g in self.groups:
            if g[0].negated:
                expr = f'({expr}) NOT "' + " ".join(t.stem for t in analyse(g[0].text, lang)) + '"'
        return expr

    def _fts_for(self, lang: str) -> str:
        def phrase(term: Term) -> str:
            if term.near is not None:
                stems = " ".join(f'"{t.stem}"' for t in analyse(term.text, lang))
                return f"NEAR({stems}, {term.near})"
            if term.prefix:
                return f'"{normalise(term.text)}" *'
            return '"' + " ".join(t.stem for t in analyse(term.text, lang)) + '"'

        plain = all(len(g) == 1 and g[0].near is None for g in self.groups)
        pos = [g for g in self.groups if not g[0].negated]
        neg = [g[0] for g in self.groups if g[0].negated]
        if plain and len(pos) > 1:
            expr = f"NEAR({' '.join(phrase(g[0]) for g in pos)}, {NEAR_DISTANCE})"
        else:
            parts = [" OR ".join(phrase(t) for t in g) for g in pos]
            expr = " AND ".join(f"({p})" if len(g) > 1 else p for p, g in zip(parts, pos))
        for term in neg:
            expr += f" NOT {phrase(term)}"
        return expr


def parse(raw: str) -> Query:
    """Parse a query; a QueryError's message says what to fix."""
    text = raw.replace(BOUNDARY, " ").strip()   # the index's own boundary token is no word
    if not text:
        raise QueryError("empty query: give at least one word, e.g. `dalel search 'захват власти'`")
    if text.count('"') % 2:
        raise QueryError('unbalanced quote in query: close the phrase with a second "')
    items: list[Term | str] = []
    filters: dict[str, str] = {}
    for m in _TOKEN.finditer(text):
        neg, quoted, near, bare = m.group(1), m.group(2), m.group(3), m.group(4)
        if quoted is not None:
            if not words(quoted):
                raise QueryError('empty phrase "": put words between the quotes')
            items.append(Term(quoted, phrase=True, negated=bool(neg)))
        elif near is not None:
            items.append(_near(near, neg))
        else:
            items.extend(_bare(bare, neg, filters))
    return Query(raw, _group(items), filters)


def _bare(token: str, neg: str, filters: dict[str, str]) -> list[Term | str]:
    if token == "OR" and not neg:
        return ["OR"]
    key, sep, value = token.partition(":")
    if sep and key.lower() in FILTERS:
        value = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
        if not value:
            raise QueryError(f"filter {key}: needs a value, e.g. {key}:{_example(key)}")
        _check_filter(key.lower(), value)
        filters[key.lower()] = value
        return []
    prefix = token.endswith("*")
    body = token.rstrip("*")
    found = words(body)
    if not found:
        what = "a bare *" if prefix else f"{token!r} has no letters or digits"
        raise QueryError(f"{what}: a prefix search needs letters before the *, e.g. власт*")
    if prefix:
        return [Term(found[-1] if len(found) == 1 else body, prefix=True, negated=bool(neg))]
    # "кто-то" or "e-mail" are several index words: keep them together as a phrase.
    return [Term(" ".join(found), phrase=len(found) > 1, negated=bool(neg))]


def _near(token: str, neg: str) -> Term:
    m = _NEAR.match(token)
    if not m or len(words(m.group(1))) < 2:
        raise QueryError("write NEAR as NEAR(word word, 5): two or more words, then the distance")
    return Term(" ".join(words(m.group(1))), near=int(m.group(2) or NEAR_DISTANCE),
                negated=bool(neg))


def _group(items: list[Term | str]) -> tuple[tuple[Term, ...], ...]:
    groups: list[list[Term]] = []
    pending_or = False
    for i, item in enumerate(items):
        if item == "OR":
            if not groups or pending_or or i == len(items) - 1:
                raise QueryError("OR needs a word on each side, e.g. выборы OR референдум")
            pending_or = True
            continue
        assert isinstance(item, Term)
        if pending_or:
            if item.negated or groups[-1][-1].negated:
                raise QueryError("cannot combine OR with an excluded -word; exclude it separately")
            groups[-1].append(item)
            pending_or = False
        else:
            groups.append([item])
    if not groups:
        raise QueryError("the query has only filters: add a word to search for")
    if all(g[0].negated for g in groups):
        raise QueryError("the query only excludes words: add a word to search for")
    return tuple(tuple(g) for g in groups)


def _example(key: str) -> str:
    return {"lang": "ru", "after": "2024-01-31", "before": "2024-12-31"}.get(key, "NAME")


def _check_filter(key: str, value: str) -> None:
    if key == "lang" and value not in LANGUAGES:
        raise QueryError(f"lang:{value} is not a known language; use one of {', '.join(LANGUAGES)}")
    if key == "source" and value not in SOURCES:
        raise QueryError(f"source:{value} is not a transcript source; use one of {', '.join(SOURCES)}")
    if key in ("after", "before") and not _DATE.match(value):
        raise QueryError(f"{key}:{value} is not a date; write it as YYYY-MM-DD")
