"""The query language: parsed once into a tree that every backend and the matcher share.

    захват власти          all words, any form, close together: within 12 words and
                           in one sentence
    захват AND власть      the same (AND, &&, + and plain juxtaposition all mean it)
    "захват власти"        the words adjacent, in this order, any form
    "захват власти"~5      the words within 5 words of each other, any order
    NEAR(захват власть, 5) the same (NEAR and ~N may cross a sentence's end)
    выборы OR референдум   either (OR, ||; OR binds the words beside it:
                           a b OR c means a AND (b OR c); group with parentheses)
    выборы -парламент      exclude (-, NOT, !): no hit in a segment that has the word
    власт*                 prefix of the word as spoken or of its indexed form
    эфир~                  this word also in near spellings (misheard by speech recognition)
    channel:X lang:ru video:ID after:2024-01-01 before:2024-12-31 source:asr   filters
    channel:"Ne deidi"     a filter value with spaces

Anything else that looks like query syntax — an unknown `field:`, a boost `^`, a range
`[a TO b]`, a stray operator — is refused with a QueryError, never searched as a word:
a claim check must not turn a query it could not read into "no occurrence".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

from .text import BOUNDARY, words
from .errors import QueryError
from .filters import FILTERS, check_filter, example

NEAR_DISTANCE = 12  # words; "close together" means within one spoken sentence or so
MAX_QUERY_CHARS = 2_000
MAX_WORDS = 32       # words in one query: each costs an index look-up and a matcher pass
MAX_DISTANCE = 100   # NEAR(…, n) and "…"~n
_FIELD = re.compile(r"^([A-Za-z_][A-Za-z_0-9]*):(.*)$", re.S)
_FORBIDDEN = {"^": "a boost (^) is not supported: remove it",
              "[": "ranges ([a TO b]) are not supported: search the words themselves",
              "]": "ranges ([a TO b]) are not supported: search the words themselves",
              "{": "ranges ({a TO b}) are not supported: search the words themselves",
              "}": "ranges ({a TO b}) are not supported: search the words themselves",
              "\\": "a backslash is not query syntax here: remove it"}


# --- the tree ------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    """Words that must be spoken adjacent and in order (one word: just that word)."""
    words: tuple[str, ...]
    prefix: bool = False        # the last word is a prefix of the spoken or indexed form (власт*)
    fuzzy: bool = False         # also in near spellings (эфир~)

    @property
    def text(self) -> str:
        return " ".join(self.words) + ("*" if self.prefix else "")


@dataclass(frozen=True)
class Near:
    """Every item spoken within `distance` words of the others, in any order; with
    `sentence`, also within one sentence (words side by side, AND)."""
    items: tuple["Node", ...]
    distance: int = NEAR_DISTANCE
    sentence: bool = False


@dataclass(frozen=True)
class Or:
    items: tuple["Node", ...]


Node = Union[Term, Near, Or]


@dataclass(frozen=True)
class Query:
    raw: str
    root: Node                                   # what must be said
    excluded: tuple[Node, ...] = ()              # no hit in a segment where one of these is said
    filters: dict[str, str] = field(default_factory=dict)

    def terms(self, include_excluded: bool = False) -> list[Term]:
        """The terms of the query, left to right (the excluded ones too if asked)."""
        nodes = [self.root, *(self.excluded if include_excluded else ())]
        return [t for n in nodes for t in leaves(n)]

    @property
    def multiword(self) -> bool:
        """Whether a match can span several words (and so a segment boundary)."""
        return not (isinstance(self.root, Term) and len(self.root.words) == 1) and not (
            isinstance(self.root, Or) and all(isinstance(i, Term) and len(i.words) == 1
                                              for i in self.root.items))


def leaves(node: Node) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    return [t for item in node.items for t in leaves(item)]


# --- the scanner -----------------------------------------------------------------

@dataclass(frozen=True)
class _Tok:
    kind: str      # word | phrase | near | filter | ( | ) | AND | OR | NOT | PLUS
    value: str = ""
    suffix: str = ""   # ~N after a phrase, * or ~ after a word


def _scan(text: str) -> list[_Tok]:
    """Split a query into tokens in one left-to-right pass (linear in its length)."""
    out: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Tok(c))
            i += 1
        elif c == '"':
            j = text.find('"', i + 1)
            if j < 0:
                raise QueryError('unbalanced quote in query: close the phrase with a second "')
            value = text[i + 1:j]
            i, suffix = _suffix(text, j + 1)
            out.append(_Tok("phrase", value, suffix))
        elif text.startswith("&&", i) or text.startswith("||", i):
            out.append(_Tok("AND" if c == "&" else "OR"))
            i += 2
        elif c == "!" or (c == "-" and _starts_term(text, i + 1)):
            out.append(_Tok("NOT"))
            i += 1
        elif c == "+" and _starts_term(text, i + 1):
            out.append(_Tok("PLUS"))
            i += 1
        elif c in _FORBIDDEN:
            raise QueryError(_FORBIDDEN[c])
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"' + "".join(_FORBIDDEN):
                j += 1
            token = text[i:j]
            if j < n and text[j] == '"' and token.endswith(":"):      # channel:"Ne deidi"
                k = text.find('"', j + 1)
                if k < 0:
                    raise QueryError('unbalanced quote in query: close the phrase with a second "')
                out.append(_Tok("filter", token + text[j + 1:k]))
                i = k + 1
                continue
            if token == "NEAR" and j < n and text[j] == "(":
                k = text.find(")", j)
                if k < 0:
                    raise QueryError("write NEAR as NEAR(word word, 5): close the parenthesis")
                out.append(_Tok("near", text[j + 1:k]))
                i = k + 1
                continue
            if j < n and text[j] in _FORBIDDEN:
                raise QueryError(_FORBIDDEN[text[j]])
            out.append(_word_token(token))
            i = j
    return out


_SLOP = re.compile(r"~(\d*)")


def _suffix(text: str, i: int) -> tuple[int, str]:
    """A `~N` right after a phrase: returns (index after it, the suffix)."""
    m = _SLOP.match(text, i)
    if not m:
        return i, ""
    return m.end(), m.group(0)


def _starts_term(text: str, i: int) -> bool:
    return i < len(text) and not text[i].isspace() and text[i] not in ")"


def _word_token(token: str) -> _Tok:
    if token in ("AND", "OR", "NOT"):
        return _Tok(token)
    if not token.strip("*"):
        raise QueryError("a bare *: a prefix search needs letters before the *, e.g. власт*")
    if token in ("&", "|", "&&&", "|||") or set(token) <= set("&|!+-~*:"):
        raise QueryError(f"{token!r} is not a word or an operator: use AND, OR, NOT, "
                         "&&, ||, !, +word or -word")
    m = _FIELD.match(token)
    if m:
        return _Tok("filter", token)
    if "~" in token and not re.fullmatch(r"[^~]+~\d?", token):
        raise QueryError(f"{token!r}: write ~ at the end of a word (эфир~) or after a phrase "
                         '("захват власти"~3)')
    return _Tok("word", token)


# --- the parser ------------------------------------------------------------------

class _Parser:
    def __init__(self, tokens: list[_Tok]):
        self.toks, self.i = tokens, 0
        self.filters: dict[str, str] = {}

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> tuple[Node | None, list[Node]]:
        pos, neg = self.conjunction(top=True)
        if self.peek() is not None:   # a stray ")"
            raise QueryError("unbalanced parenthesis: a ) has no matching (")
        return pos, neg

    def conjunction(self, top: bool = False) -> tuple[Node | None, list[Node]]:
        """Items side by side (or joined by AND): all of them, close together."""
        pos: list[Node] = []
        neg: list[Node] = []
        expect_item = False
        while (tok := self.peek()) is not None and tok.kind != ")":
            if tok.kind == "AND":
                self.take()
                if not (pos or neg) or expect_item:
                    raise QueryError("AND needs a word on each side, e.g. захват AND власть")
                expect_item = True
                continue
            if tok.kind == "OR":
                raise QueryError("OR needs a word on each side, e.g. выборы OR референдум")
            negated = False
            if tok.kind == "NOT":
                self.take()
                negated = True
                if (nxt := self.peek()) is None or nxt.kind in (")", "AND", "OR", "NOT"):
                    raise QueryError("NOT needs a word after it, e.g. выборы NOT парламент")
            elif tok.kind == "PLUS":
                self.take()
            item = self.disjunction()
            expect_item = False
            if item is None:
                continue   # a filter
            (neg if negated else pos).append(item)
        if expect_item:
            raise QueryError("AND needs a word on each side, e.g. захват AND власть")
        if not pos:
            if neg:
                raise QueryError("the query only excludes words: add a word to search for")
            if top:
                raise QueryError("the query has only filters: add a word to search for")
            raise QueryError("empty parentheses: put words between ( and )")
        if not top and neg:
            raise QueryError("exclude words at the top level of the query, not inside parentheses"
                             " (write: (a OR b) -c)")
        root = pos[0] if len(pos) == 1 else Near(tuple(pos), NEAR_DISTANCE, sentence=True)
        return root, neg

    def disjunction(self) -> Node | None:
        first = self.primary()
        items = [first]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.take()
            nxt = self.peek()
            if nxt is None or nxt.kind in (")", "OR", "AND"):
                raise QueryError("OR needs a word on each side, e.g. выборы OR референдум")
            if nxt.kind == "NOT":
                raise QueryError("cannot combine OR with an excluded word; exclude it separately")
            if nxt.kind == "PLUS":
                self.take()
            items.append(self.primary())
        if any(i is None for i in items):
            if len(items) > 1:
                raise QueryError("OR joins words, not filters: give each filter once")
            return None
        return items[0] if len(items) == 1 else Or(tuple(items))  # type: ignore[arg-type]

    def primary(self) -> Node | None:
        tok = self.take()
        if tok.kind == "(":
            root, _ = self.conjunction()
            if self.peek() is None or self.take().kind != ")":
                raise QueryError("unbalanced parenthesis: close it with )")
            return root
        if tok.kind == ")":
            raise QueryError("unbalanced parenthesis: a ) has no matching (")
        if tok.kind == "phrase":
            return _phrase(tok)
        if tok.kind == "near":
            return _near(tok.value)
        if tok.kind == "filter":
            self.filter(tok.value)
            return None
        if tok.kind in ("NOT", "PLUS", "AND", "OR"):
            raise QueryError(f"{tok.kind} must stand between words")
        return _word(tok.value)

    def filter(self, token: str) -> None:
        key, _, value = token.partition(":")
        if key.lower() not in FILTERS:
            raise QueryError(f"unknown field {key}: — the filters are "
                             + ", ".join(f"{f}:" for f in FILTERS)
                             + " (to search for the text, put it in quotes)")
        key = key.lower()
        if not value:
            raise QueryError(f"filter {key}: needs a value, e.g. {key}:{example(key)}")
        check_filter(key, value)
        if key in self.filters and self.filters[key] != value:
            raise QueryError(f"filter {key}: is given twice; give it once")
        self.filters[key] = value


def _phrase(tok: _Tok) -> Node:
    found = words(tok.value)
    if not found:
        raise QueryError('empty phrase "": put words between the quotes')
    if tok.suffix:
        digits = tok.suffix[1:]
        if not digits:
            return Term(tuple(found), fuzzy=True)
        if len(found) < 2:
            return Term(tuple(found))
        return Near(tuple(Term((w,)) for w in found), _distance(digits))
    return Term(tuple(found))


def _word(token: str) -> Node:
    fuzzy = False
    m = re.search(r"~\d?$", token)
    if m:
        fuzzy, token = True, token[:m.start()]
    prefix = token.endswith("*")
    body = token.rstrip("*")
    found = words(body)
    if not found:
        what = "a bare *" if prefix else f"{token!r} has no letters or digits"
        raise QueryError(f"{what}: a prefix search needs letters before the *, e.g. власт*")
    if prefix and fuzzy:
        raise QueryError(f"{token}~: a prefix cannot also be approximate; use one of * or ~")
    # "кто-то" or "e-mail" are several index words: keep them together as a phrase.
    return Term(tuple(found), prefix=prefix, fuzzy=fuzzy)


def _near(inner: str) -> Near:
    body, sep, dist = inner.rpartition(",")
    if not sep:
        body, dist = inner, ""
    found = words(body)
    if len(found) < 2 or (dist.strip() and not dist.strip().isdigit()):
        raise QueryError("write NEAR as NEAR(word word, 5): two or more words, then the distance")
    return Near(tuple(Term((w,)) for w in found), _distance(dist.strip() or str(NEAR_DISTANCE)))


def _distance(digits: str) -> int:
    n = int(digits[:6])
    if n > MAX_DISTANCE:
        raise QueryError(f"a distance of {n} words is too far to mean 'together'; "
                         f"use at most {MAX_DISTANCE}")
    return n


def parse(raw: str) -> Query:
    """Parse a query; a QueryError's message says what to fix."""
    if len(raw) > MAX_QUERY_CHARS:
        raise QueryError(f"query too long ({len(raw)} characters); keep it under {MAX_QUERY_CHARS}")
    text = raw.replace(BOUNDARY, " ").strip()   # the index's own boundary token is no word
    if not text:
        raise QueryError("empty query: give at least one word, e.g. `dalel search 'захват власти'`")
    if text.count('"') % 2:
        raise QueryError('unbalanced quote in query: close the phrase with a second "')
    parser = _Parser(_scan(text))
    root, excluded = parser.parse()
    assert root is not None
    query = Query(raw, root, tuple(excluded), parser.filters)
    if sum(len(t.words) for t in query.terms(include_excluded=True)) > MAX_WORDS:
        raise QueryError(f"too many words in one query (at most {MAX_WORDS}); split it")
    return query
