"""Full-text search over transcripts: every spoken mention once, with its time and context.

FTS5 on the analysed words proposes candidate rows (segments, and the bridges across their
boundaries) ranked by bm25; `match.py` reads the candidates' words in spoken order and
finds the mentions themselves. A mention found through several rows — a segment and the
bridge beside it, an ASR transcript and an imported one of the same speech — is one hit.
When the candidates are few (always for a report) every one is read and the counts are
exact; for a common word only the best-ranked are, and the total is the number of matching
segments, marked as not exact — or, past COUNT_CAP (10,000) of them, "10,000+": the best are
then ranked among the newest 10,000 matching segments, never a pass over millions.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from typing import Callable

from . import fts5
from .db import Store
from .errors import QueryError
from .match import Plan, Run, Span, load_runs, mentions, resolve, sentence_bounds, text_of
from .filters import SearchOptions, check_scope, merge_filters, sql_where
from .query import Query


@dataclass(frozen=True)
class Hit:
    video_id: str
    platform: str
    title: str | None
    channel: str | None
    url: str
    start: float
    end: float
    text: str                           # the sentence the mention is in
    lang: str | None
    score: float
    source: str
    removed: bool
    matches: tuple[str, ...] = ()       # the words as spoken that matched
    spans: tuple[tuple[int, int], ...] = field(default=(), repr=False)  # their ranges in text
    approximate: bool = False           # a possible mention: spelled differently
    segment_id: int = 0
    context_before: str = ""            # the sentence before
    context_after: str = ""             # the sentence after
    marks: tuple[tuple[int, int, int], ...] = field(default=(), repr=False)  # (segment, a, b)
    published: str | None = None
    sources: tuple[str, ...] = ()       # every transcript source that holds this mention


@dataclass(frozen=True)
class Results:
    query: str
    total: int                          # hits (exact and possible) over all pages
    hits: list[Hit]
    videos: dict[str, int] = field(default_factory=dict)   # video id → hits, over all pages
    approximate: bool = False           # no exact hit; the hits are possible mentions
    exact_total: int = 0
    possible_total: int = 0
    total_exact: bool = True            # False: too many to read; total counts segments
    total_capped: bool = False          # more than `total` (COUNT_CAP) segments match: "10,000+"
    forms: dict[str, list[str]] = field(default_factory=dict)   # query word → indexed forms asked
    # the shape of the answer, counted in mentions (each sums to total when total_exact):
    # {"channel"|"lang"|"source"|"year"|"month": [{"value", "count"}]}, and mentions per period
    facets: dict[str, list[dict]] = field(default_factory=dict)
    histogram: list[dict] = field(default_factory=list)


EXACT_LIMIT = 500         # candidate rows read in full for exact counts in a search
SOURCE_RANK = {"import": 0, "subtitles": 1, "asr": 2, "metadata": 3}
# Each engine's index, asked for candidate rows (the PostgreSQL one registers itself: tsquery.py).
BACKENDS: dict[str, Callable[[Store], fts5.Candidates]] = {"sqlite": lambda store: fts5.Candidates(store.conn)}


def search(store: Store, query: Query, options: SearchOptions = SearchOptions(),
           approximate: bool | None = None, exhaustive: bool = False,
           candidates: fts5.Candidates | None = None) -> Results:
    """Run a parsed query.

    approximate: None — exact forms, and near spellings when those find nothing or a word is
    written with ~; True — near spellings always, as possible mentions after the exact ones;
    False — exact forms only. exhaustive: read every candidate (a report), never estimate.
    candidates: the index asked for candidate rows (default: the store's FTS5 tables).
    """
    source = candidates or BACKENDS[store.dialect](store)
    opts = merge_filters(query, options)
    check_scope(store, opts)
    conn = store.conn
    fuzzy_words = any(t.fuzzy for t in query.terms())
    plan = resolve(conn, query, opts.lang, families=not opts.lemma)
    exact = _mentions(store, source, plan, opts, approximate=False, exhaustive=exhaustive)
    possible: list[_Mention] = []
    estimated = exact.estimated
    loose = _Found([])
    if approximate or fuzzy_words or (approximate is None and not exact.found):
        near = resolve(conn, query, opts.lang, families=not opts.lemma, approximate=True)
        loose = _mentions(store, source, near, opts, approximate=True, exhaustive=exhaustive)
        possible = [m for m in loose.found if not _overlaps_any(m, exact.found)]
        estimated = estimated or loose.estimated
    ranked = sorted(exact.found, key=lambda m: (m.score, m.order)) + \
        sorted(possible, key=lambda m: (m.score, m.order))
    if opts.sort != "relevance":   # by broadcast date; undated last either way
        dated = sorted((m for m in ranked if m.run.meta["published"]), key=lambda m: (m.run.meta["published"], m.start),
                       reverse=opts.sort == "newest")
        ranked = dated + [m for m in ranked if not m.run.meta["published"]]
    page = ranked[opts.offset: opts.offset + opts.limit]
    hits = _hits(conn, page)
    per_video: dict[str, int] = {}
    for m in ranked:
        per_video[m.video_id] = per_video.get(m.video_id, 0) + 1
    total = len(ranked)
    # Past the rows read in full, the counts come from the rows matched: the exact forms' and,
    # when near spellings were asked, theirs (which hold the exact forms' too), never only from
    # the mentions read — those are the best ~120, not all of them
    exact_capped = exact.estimated and exact.rows > fts5.COUNT_CAP
    capped = exact_capped or (loose.estimated and loose.rows > fts5.COUNT_CAP)
    possible_total = len(possible)
    if loose.estimated:
        possible_total = max(possible_total, loose.rows - exact.rows)
    if estimated:
        total = fts5.COUNT_CAP if capped else max(total, exact.rows, loose.rows)
        per_video = _merged(exact.per_video, loose.per_video) or per_video
    order = sorted(per_video.items(), key=lambda kv: -kv[1])
    forms = {spec.text: sorted(spec.stems) for specs in plan.specs.values() for spec in specs
             if spec.prefix is None}
    facets, histogram = shape(ranked, opts.per)
    return Results(query.raw, total, hits, dict(order), approximate=not exact.found and bool(possible),
                   exact_total=len(exact.found) if not exact.estimated else
                   fts5.COUNT_CAP if exact_capped else max(len(exact.found), exact.rows),
                   possible_total=possible_total, total_exact=not estimated, total_capped=capped, forms=forms,
                   facets=facets, histogram=histogram)


def _merged(exact: dict[str, int], loose: dict[str, int]) -> dict[str, int]:
    """Matching rows per video from both passes: the near spellings' rows hold the exact
    forms' rows too, so a video's count is the larger of its two."""
    return {v: max(exact.get(v, 0), loose.get(v, 0)) for v in exact.keys() | loose.keys()}


def _period(published: str | None, per: str) -> str:
    if not published:
        return "undated"
    if per == "week":
        y, w, _ = dt.date.fromisoformat(published[:10]).isocalendar()
        return f"{y}-W{w:02d}"
    return published[:4] if per == "year" else published[:7]


def shape(mentions: list, per: str = "month") -> tuple[dict[str, list[dict]], list[dict]]:
    """Facets (channel, language, source, year, month) and the histogram over time of these
    mentions: every mention counted once in each, so each sums to their number."""
    counts: dict[str, dict[str, int]] = {"channel": {}, "lang": {}, "source": {}, "year": {}, "month": {}}
    periods: dict[str, dict[str, int]] = {}
    for m in mentions:
        meta = m.run.meta
        channel, when = meta["channel"] or "unknown", meta["published"]
        for facet, value in (("channel", channel), ("lang", meta["lang"] or "unknown"), ("source", meta["source"]),
                             ("year", _period(when, "year")), ("month", _period(when, "month"))):
            counts[facet][value] = counts[facet].get(value, 0) + 1
        per_channel = periods.setdefault(_period(when, per), {})
        per_channel[channel] = per_channel.get(channel, 0) + 1
    facets = {facet: [{"value": v, "count": n} for v, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]
              for facet, c in counts.items()}
    histogram = [{"period": p, "count": sum(c.values()), "channels": dict(sorted(c.items()))}
                 for p, c in sorted(periods.items(), key=lambda kv: (kv[0] == "undated", kv[0]))]
    return facets, histogram


def _overlaps_any(m: "_Mention", others: list["_Mention"]) -> bool:
    return any(o.video == m.video and o.start <= m.end and m.start <= o.end for o in others)


# --- candidates and mentions ---------------------------------------------------------------

@dataclass
class _Mention:
    video: int
    video_id: str
    start: float
    end: float
    score: float
    order: tuple
    run: Run
    span: Span
    sources: tuple[str, ...]

    def rank(self) -> int:
        return SOURCE_RANK.get(self.run.meta["source"], 9)


@dataclass
class _Found:
    found: list[_Mention]
    rows: int = 0                 # candidate segment rows (the estimate when not exhaustive)
    estimated: bool = False
    per_video: dict[str, int] = field(default_factory=dict)


def _mentions(store: Store, source: fts5.Candidates, plan: Plan, opts: SearchOptions, *, approximate: bool,
              exhaustive: bool) -> _Found:
    conn = store.conn
    where, params = sql_where(opts)

    def limit_for(rows: int) -> int | None:
        if opts.sort != "relevance" and rows > fts5.FULL_COUNT_LIMIT:
            raise QueryError(f"{rows} matching segments are too many to sort by date; narrow the search "
                             "(a channel, dates) or sort by relevance")
        if exhaustive or opts.sort != "relevance" or rows <= EXACT_LIMIT:
            return None          # every candidate read: exact counts (and a true order by date)
        return (opts.offset + opts.limit) * 2 + 20
    rows, seeds, limit, expr = source.find(plan, approximate, where, params, limit_for, opts)
    score: dict[int, float] = {}
    for _tid, _seq, sid, s in seeds:
        if sid is not None:
            score[sid] = min(score.get(sid, 0.0), s)
    runs = load_runs(conn, [(tid, seq) for tid, seq, _, _ in seeds])
    found: list[_Mention] = []
    for run in runs:
        for span in mentions(run, plan, approximate):
            toks = run.toks
            segs = {toks[k].seg for k in range(span.i, span.j + 1)}
            best = min((score[s] for s in segs if s in score), default=None)
            if best is None:
                continue   # only in a bridge's second segment: that segment's own row finds it
            meta = run.meta
            found.append(_Mention(meta["video_pk"], meta["video_id"],
                                  min(toks[k].start for k in span.words),
                                  max(toks[k].end for k in span.words), best,
                                  (toks[span.i].seg, span.i), run, span, (meta["source"],)))
    found = _one_per_moment(found)
    result = _Found(found, rows, estimated=limit is not None)
    if result.estimated:
        result.per_video = source.per_video(expr, where, params, found, rows)
    return result


def _one_per_moment(found: list[_Mention]) -> list[_Mention]:
    """Mentions of one video in different transcripts that overlap in time are one (the same
    speech in an ASR transcript and an imported one): the one from the most trusted source
    stands, naming the others. Within one transcript the matcher has merged them already."""
    by_video: dict[int, list[_Mention]] = {}
    for m in found:
        by_video.setdefault(m.video, []).append(m)
    out = []
    for ms in by_video.values():
        groups: list[list[_Mention]] = []
        for m in sorted(ms, key=lambda m: (m.start, m.end)):
            g = groups[-1] if groups else None
            if g and m.run.meta["source"] != "metadata" and g[0].run.meta["source"] != "metadata" \
                    and m.start <= max(x.end for x in g) and all(x.run.transcript != m.run.transcript for x in g):
                g.append(m)
            else:
                groups.append([m])
        for g in groups:
            best = min(g, key=lambda m: (m.rank(), m.score))
            best.score = min(m.score for m in g)
            best.sources = tuple(sorted({m.run.meta["source"] for m in g}, key=lambda s: SOURCE_RANK.get(s, 9)))
            out.append(best)
    return out


def _hits(conn: sqlite3.Connection, page: list[_Mention]) -> list[Hit]:
    """The page's mentions as hits, each in its sentence with the sentences around it (the
    segments beside each mention are read now, for the page only)."""
    seeds = [(m.run.transcript, m.run.seqs[m.run.toks[k].seg]) for m in page
             for k in (m.span.i, m.span.j)]
    where: dict[tuple[int, int], tuple[Run, int]] = {}   # (segment, char) → (run, word)
    for run in load_runs(conn, seeds, pad=CONTEXT_SEGMENTS):
        for k, tok in enumerate(run.toks):
            where[tok.seg, tok.a] = (run, k)
    out = []
    for m in page:
        toks = m.run.toks
        located = [where.get((toks[k].seg, toks[k].a)) for k in (m.span.i, m.span.j)]
        if located[0] and located[1] and located[0][0] is located[1][0]:
            run = located[0][0]
            shift = located[0][1] - m.span.i
            span = Span(m.span.i + shift, m.span.j + shift, frozenset(k + shift for k in m.span.words),
                        m.span.approximate)
            out.append(_hit(m, run, span))
        else:   # the segments changed meanwhile (a reindex): the mention's own words
            out.append(_hit(m, m.run, m.span))
    return out


CONTEXT_SEGMENTS = 2   # segments read on each side of a hit for its sentence and the ones around


def _hit(m: _Mention, run: Run, span: Span) -> Hit:
    toks = run.toks
    a, b = sentence_bounds(toks, span.i, span.j)
    text, spans = text_of(run, a, b, span.words)
    before = after = ""
    if a > 0:
        pa, pb = sentence_bounds(toks, a - 1, a - 1)
        before = text_of(run, pa, pb)[0]
    if b + 1 < len(toks):
        na, nb = sentence_bounds(toks, b + 1, b + 1)
        after = text_of(run, na, nb)[0]
    meta = run.meta
    matched = sorted(span.words)
    return Hit(video_id=meta["video_id"], platform=meta["platform"], title=meta["title"],
               channel=meta["channel"], url=meta["url"], start=round(m.start, 2), end=round(m.end, 2),
               text=text, lang=meta["lang"], score=round(-m.score, 4), source=meta["source"],
               removed=meta["removed_at"] is not None,
               matches=tuple(text[x:y] for x, y in spans), spans=spans, approximate=span.approximate,
               segment_id=toks[span.i].seg, context_before=before, context_after=after,
               marks=tuple((toks[k].seg, toks[k].a, toks[k].b) for k in matched),
               published=meta["published"], sources=m.sources)
