"""Mentions: where a query was said, found word by word in the spoken order.

The full-text index only proposes candidates (segments and the bridges between them);
this module decides. It reads the candidates' words in spoken order — across Whisper's
segment boundaries, which speech does not respect — and evaluates the query tree on them:

- a term is its words adjacent and in order, not across a sentence's end;
- words close together (NEAR, AND, juxtaposition) are the shortest groups, taken left to
  right without overlap, whose items are within the distance in the spoken order;
- OR is either; an excluded word removes a mention from every segment it is said in;
- mentions that overlap or touch are one mention.

So one mention is one hit, however many index rows found it, and a hit's time is its
words' time. Each mention carries the sentence it is in and the sentences around it. The
module knows nothing of SQL backends beyond loading words (`load_runs`), so PostgreSQL can
share it.
"""
from __future__ import annotations

import re
import sqlite3
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import NamedTuple

from .dialect import in_batches, pairs_batches
from .text import LANGUAGES, WORD_RE, analyse, family, normalise, words
from .index import prefix_stems, similar
from .text.fuzzy import fold
from .query import Near, Node, Or, Query, Term

_STOPS = set(".!?…")
SHORT_INSERT = 2        # a word this short may be inserted inside a phrase (approximate)
CONTEXT_WORDS = 40      # a "sentence" of unpunctuated speech is cut at this many words


# --- what each query word matches ----------------------------------------------------

@dataclass(frozen=True)
class WordSpec:
    text: str
    stems: frozenset[str]                  # exact: the indexed forms (families included)
    lemmas: frozenset[str]                 # the word's own indexed forms (no family)
    prefix: str | None = None              # the word as spoken or its indexed form starts with this
    similar: dict[str, str] = field(default_factory=dict, compare=False, hash=False)  # spoken form → stem
    # a prefix's candidates beyond the indexed forms it begins: those of spoken words it begins
    prefix_stems: frozenset[str] = frozenset()

    def exact(self, tok: "Tok") -> bool:
        if self.prefix is None:
            return tok.stem in self.stems
        return tok.stem.startswith(self.prefix) or tok.word.startswith(self.prefix)

    def possible(self, tok: "Tok") -> bool:
        return tok.word in self.similar


@dataclass
class Plan:
    """The query with every word resolved against the index's vocabulary."""
    query: Query
    specs: dict[Term, tuple[WordSpec, ...]]
    # per term, the index forms of its words as speech recognition may have split or joined
    # them: a word written as two ("за хват") or two words as one ("захватвласти")
    regrouped: dict[Term, list[tuple[str, ...]]] = field(default_factory=dict)

    def fts_alternatives(self, spec: WordSpec, approximate: bool) -> list[str]:
        if spec.prefix is not None:
            return []
        alts = set(spec.stems)
        if approximate:
            alts |= set(spec.similar.values())
        return sorted(alts)


def resolve(conn: sqlite3.Connection, query: Query, lang: str | None, *, families: bool = True,
            approximate: bool = False) -> Plan:
    """Each query word's indexed forms in every language it may be read in, its family's,
    and (when asked, or when the word is written with ~) the spoken forms that may be it
    misheard."""
    langs = [lang] if lang in LANGUAGES else list(LANGUAGES)
    specs: dict[Term, tuple[WordSpec, ...]] = {}
    for term in query.terms(include_excluded=True):
        out = []
        for i, word in enumerate(term.words):
            last_prefix = term.prefix and i == len(term.words) - 1
            if last_prefix:
                start = normalise(word)
                out.append(WordSpec(word, frozenset(), frozenset(), prefix=start,
                                    prefix_stems=prefix_stems(conn, start)))
                continue
            lemmas = frozenset(t.stem for lg in langs for t in analyse(word, lg))
            stems = frozenset(f for s in lemmas for f in family(s)) if families else lemmas
            spec = WordSpec(word, stems, lemmas)
            if (approximate or term.fuzzy) and term not in query.excluded:
                # another word of the family is not a misspelling (with --lemma it is left out)
                related = {f for s in lemmas for f in family(s)}
                near = {w: s for w, s in similar(conn, word, stems).items() if s not in related}
                spec = WordSpec(word, stems, lemmas, similar=near)
            out.append(spec)
        specs[term] = tuple(out)
    plan = Plan(query, specs)
    if approximate:
        for term in query.terms():
            if not term.prefix and (found := _regrouped(conn, term)):
                plan.regrouped[term] = found
    return plan


def _regrouped(conn: sqlite3.Connection, term: Term) -> list[tuple[str, ...]]:
    """The stems, as an index phrase, of the term's words as the transcript may hold them split
    in two (each half a word it has seen) or two of them joined in one."""
    words_ = [normalise(w) for w in term.words]
    out: list[tuple[str, ...]] = []

    def stem_of(form: str) -> str | None:   # a seen spoken form, up to recognition's confusions
        row = conn.execute("SELECT stem FROM vocabulary WHERE fold = ?", (fold(form),)).fetchone()
        return row[0] if row else None

    for i, w in enumerate(words_):
        if i + 1 < len(words_) and (joined := stem_of(w + words_[i + 1])):
            out.append((joined,))
        if len(w) >= 5:
            for k in range(2, len(w) - 1):
                left, right = stem_of(w[:k]), stem_of(w[k:])
                if left and right:
                    out.append((left, right))
    return out


# --- the words of a stretch of transcript ------------------------------------------------

class Tok(NamedTuple):
    seg: int          # segment id
    a: int            # character range of the word in its segment's text
    b: int
    stem: str
    word: str         # normalised spoken form
    start: float
    end: float
    stop: bool        # a sentence ends after this word


@dataclass
class Run:
    """Consecutive segments of one transcript, as one stream of words."""
    transcript: int
    toks: list[Tok]
    texts: dict[int, str]            # segment id → its text
    meta: dict                       # transcript, video and source fields of the first segment
    lang: str | None = None
    seqs: dict[int, int] = field(default_factory=dict)   # segment id → its place in the transcript


_STOP_RE = re.compile(r"[.!?…]")


def _tokens(seg: dict, terms: str | None, spoken: list[tuple]) -> list[Tok]:
    text = seg["text"]
    found = list(WORD_RE.finditer(text))
    stems = terms.split(" ") if terms else []
    if len(stems) != len(found):   # not indexed as expected (should not happen): analyse again
        stems = [t.stem for t in analyse(text, seg["lang"])]
    times: list[tuple[float, float]] = []
    for start, end, word in spoken:
        times += [(start, end)] * len(words(word))
    if len(times) != len(found):   # no word timestamps (a cue of an imported file): the cue's
        times = [(seg["start"], seg["end"])] * len(found)   # times, never a made-up finer one
    low = normalise(text)
    same = len(low) == len(text)   # lowercasing kept every offset (almost always)
    sid, n, out = seg["id"], len(text), []
    for k, m in enumerate(found):
        a, b = m.span()
        nxt = found[k + 1].start() if k + 1 < len(found) else n
        out.append(Tok(sid, a, b, stems[k], low[a:b] if same else normalise(m.group()),
                       times[k][0], times[k][1], _STOP_RE.search(text, b, nxt) is not None))
    return out


_SEGMENT_COLS = ("id", "transcript", "seq", "start", "end", "text", "lang", "source", "video_id",
                 "platform", "title", "channel", "url", "removed_at", "published", "video_pk")


def load_runs(conn: sqlite3.Connection, seeds: list[tuple[int, int]], pad: int = 0) -> list[Run]:
    """The runs of consecutive segments holding the given (transcript, seq) seeds and `pad`
    segments on each side of each (matching needs none: a match across a boundary is seeded
    by its bridge on both sides; the sentences around a hit need a little)."""
    wanted = sorted({(tid, q) for tid, seq in seeds for q in range(seq - pad, seq + pad + 1) if q >= 0})
    segs: list[dict] = []
    for table, args in pairs_batches(conn, wanted):
        segs += [dict(zip(_SEGMENT_COLS, r)) for r in conn.execute(
            f"WITH want(t, q) AS ({table})"
            " SELECT s.id, s.transcript, s.seq, s.start, s.end, s.text, s.lang, t.source,"
            " v.video_id, v.platform, v.title, coalesce(v.channel, src.name), v.url,"
            " v.removed_at, v.published, v.id"
            " FROM want JOIN segments s ON s.transcript = want.t AND s.seq = want.q"
            " JOIN transcripts t ON t.id = s.transcript"
            " JOIN videos v ON v.id = s.video LEFT JOIN sources src ON src.id = v.source_id", args)]
    segs.sort(key=lambda r: (r["transcript"], r["seq"]))
    terms: dict[int, str] = {}
    spoken: dict[int, list[tuple]] = {}
    for test, args in in_batches(conn, [s["id"] for s in segs]):
        terms.update(conn.execute(f"SELECT rowid, terms FROM segments_fts WHERE rowid {test}", args))
        for seg, start, end, word in conn.execute(
                f"SELECT segment, start, \"end\", word FROM words WHERE segment {test}"
                " ORDER BY segment, position", args):
            spoken.setdefault(seg, []).append((start, end, word))
    runs: list[Run] = []
    last: dict | None = None
    for seg in segs:
        if last is None or seg["transcript"] != last["transcript"] or seg["seq"] != last["seq"] + 1:
            runs.append(Run(seg["transcript"], [], {}, seg, seg["lang"]))
        runs[-1].toks += _tokens(seg, terms.get(seg["id"]), spoken.get(seg["id"], []))
        runs[-1].texts[seg["id"]] = seg["text"]
        runs[-1].seqs[seg["id"]] = seg["seq"]
        last = seg
    return runs


# --- evaluation ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    i: int                       # first and last word (inclusive) in the run
    j: int
    words: frozenset[int]        # the words that matched (not those between NEAR's items)
    approximate: bool = False


def _term_spans(toks: list[Tok], specs: tuple[WordSpec, ...], approximate: bool) -> list[Span]:
    out = []
    for i in range(len(toks)):
        found = _step(toks, specs, approximate, 0, i, (), False)
        if found:
            out.append(found)
    return out


def _step(toks: list[Tok], specs: tuple[WordSpec, ...], approximate: bool, k: int, at: int,
          used: tuple[int, ...], approx: bool) -> Span | None:
    """The term's words from its k-th on, matched from the word at `at` (a function of its own,
    not a closure that calls itself: such a closure is a reference cycle, left for the garbage
    collector, one per segment read — its collections were a search's slowest 5%)."""
    if k == len(specs):
        return Span(used[0], used[-1], frozenset(used), approx)
    n = len(toks)
    spec = specs[k]
    options = [at]
    if approximate and k > 0 and at < n and len(toks[at].word) <= SHORT_INSERT \
            and not toks[at - 1].stop:
        options.append(at + 1)                       # «захвате в власти»
    for pos in options:
        if pos >= n or (k > 0 and toks[pos - 1].stop):
            continue
        tok = toks[pos]
        extra = pos != at
        if spec.exact(tok):
            found = _step(toks, specs, approximate, k + 1, pos + 1, used + (pos,), approx or extra)
        elif approximate and spec.possible(tok):
            found = _step(toks, specs, approximate, k + 1, pos + 1, used + (pos,), True)
        elif approximate and spec.prefix is None and pos + 1 < n and not tok.stop \
                and min(len(tok.word), len(toks[pos + 1].word)) >= 2 \
                and fold(tok.word + toks[pos + 1].word) == fold(spec.text):
            found = _step(toks, specs, approximate, k + 1, pos + 2, used + (pos, pos + 1), True)  # «за хват»
        elif approximate and k + 1 < len(specs) and spec.prefix is None \
                and fold(tok.word) == fold(spec.text + specs[k + 1].text):
            found = _step(toks, specs, approximate, k + 2, pos + 1, used + (pos,), True)  # «захватвласти»
        else:
            found = None
        if found:
            return found
    return None


def evaluate(node: Node, toks: list[Tok], plan: Plan, approximate: bool) -> list[Span]:
    """Every match of `node` in the words, left to right."""
    if isinstance(node, Term):
        return _term_spans(toks, plan.specs[node], approximate)
    if isinstance(node, Or):
        found = {(s.i, s.j, s.words): s for item in node.items for s in evaluate(item, toks, plan, approximate)}
        return sorted(found.values(), key=lambda s: (s.i, s.j))
    return _near(node, [evaluate(item, toks, plan, approximate) for item in node.items], toks)


def _near(node: Near, lists: list[list[Span]], toks: list[Tok]) -> list[Span]:
    """The shortest groups with one match of each item within `distance` words (and, for
    words side by side, in one sentence), taken left to right without overlap."""
    if any(not spans for spans in lists):
        return []
    starts = [[s.i for s in spans] for spans in lists]
    windows = []
    for anchor_item, spans in enumerate(lists):
        for anchor in spans:
            chosen = [anchor]
            for k, others in enumerate(lists):
                if k == anchor_item:
                    continue
                pick = None
                for idx in range(bisect_left(starts[k], anchor.i), len(others)):
                    cand = others[idx]
                    if all(cand.j < c.i or cand.i > c.j for c in chosen):
                        pick = cand
                        break
                if pick is None:
                    break
                chosen.append(pick)
            else:
                first_end = min(c.j for c in chosen)
                last_start = max(c.i for c in chosen)
                lo, hi = min(c.i for c in chosen), max(c.j for c in chosen)
                if last_start - first_end - 1 <= node.distance and not (
                        node.sentence and any(toks[k].stop for k in range(lo, hi))):
                    windows.append(Span(min(c.i for c in chosen), max(c.j for c in chosen),
                                        frozenset().union(*(c.words for c in chosen)),
                                        any(c.approximate for c in chosen)))
    out: list[Span] = []
    for w in sorted(windows, key=lambda s: (s.j, -s.i)):   # earliest end first: most matches
        if not out or w.i > out[-1].j:
            out.append(w)
    return out


def mentions(run: Run, plan: Plan, approximate: bool) -> list[Span]:
    """The query's mentions in a run: matches without an excluded word in their segments,
    overlapping or touching ones merged."""
    toks = run.toks
    spans = evaluate(plan.query.root, toks, plan, approximate)
    if plan.query.excluded and spans:
        banned = {toks[k].seg for node in plan.query.excluded
                  for s in evaluate(node, toks, plan, False) for k in s.words}
        spans = [s for s in spans if not any(toks[k].seg in banned for k in range(s.i, s.j + 1))]
    merged: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.i, s.j)):
        if merged and s.i <= merged[-1].j + 1:
            m = merged[-1]
            merged[-1] = Span(m.i, max(m.j, s.j), m.words | s.words, m.approximate and s.approximate)
        else:
            merged.append(s)
    return merged


# --- context ---------------------------------------------------------------------------

def sentence_bounds(toks: list[Tok], i: int, j: int) -> tuple[int, int]:
    """The first and last word of the sentence(s) holding words i..j."""
    a = i
    while a > 0 and not toks[a - 1].stop and i - a < CONTEXT_WORDS:
        a -= 1
    b = j
    while b < len(toks) - 1 and not toks[b].stop and b - j < CONTEXT_WORDS:
        b += 1
    return a, b


def text_of(run: Run, a: int, b: int, marked: frozenset[int] = frozenset()
            ) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The spoken text of words a..b (with their punctuation), and the character ranges of
    the `marked` words in it."""
    if a > b or a < 0 or b >= len(run.toks):
        return "", ()
    toks = run.toks
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    k = a
    while k <= b:
        seg = toks[k].seg
        text = run.texts[seg]
        first = k
        while k + 1 <= b and toks[k + 1].seg == seg:
            k += 1
        nxt = k + 1 < len(toks) and toks[k + 1].seg == seg
        lo = toks[first].a
        hi = _end_with_punctuation(text, toks[k].b, toks[k + 1].a if nxt else len(text))
        if parts:
            length += 1
        for m in range(first, k + 1):
            if m in marked:
                spans.append((length + toks[m].a - lo, length + toks[m].b - lo))
        parts.append(text[lo:hi])
        length += hi - lo
        k += 1
    return " ".join(parts), tuple(spans)


def _end_with_punctuation(text: str, end: int, limit: int) -> int:
    while end < limit and not text[end].isspace():
        end += 1
    return end
