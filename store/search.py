"""Full-text search over transcripts: every spoken mention once, with its time and context.

FTS5 on the analysed words proposes candidate rows (segments, and the bridges across their
boundaries) ranked by bm25; `match.py` reads the candidates' words in spoken order and
finds the mentions themselves. A mention found through several rows — a segment and the
bridge beside it, an ASR transcript and an imported one of the same speech — is one hit.
When the candidates are few (always for a report) every one is read and the counts are
exact; for a common word only the best-ranked are, and the total is the number of matching
segments, marked as not exact.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field, replace

from . import fts5
from .db import Store
from .errors import NotFound, QueryError
from .match import Plan, Run, Span, load_runs, mentions, resolve, sentence_bounds, text_of
from .query import Query, check_date


@dataclass(frozen=True)
class SearchOptions:
    channel: str | None = None
    lang: str | None = None
    video: str | None = None
    since: str | None = None   # YYYY-MM-DD, inclusive, on the published date
    until: str | None = None
    source: str | None = None  # asr | subtitles | metadata | import | speech (all but metadata)
    transcript: int | None = None
    limit: int = 20
    offset: int = 0
    lemma: bool = False        # only the words' own forms, not their families


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
    forms: dict[str, list[str]] = field(default_factory=dict)   # query word → indexed forms asked


EXACT_LIMIT = 500         # candidate rows read in full for exact counts in a search
SOURCE_RANK = {"import": 0, "subtitles": 1, "asr": 2, "metadata": 3}


def search(store: Store, query: Query, options: SearchOptions = SearchOptions(),
           approximate: bool | None = None, exhaustive: bool = False) -> Results:
    """Run a parsed query.

    approximate: None — exact forms, and near spellings when those find nothing or a word is
    written with ~; True — near spellings always, as possible mentions after the exact ones;
    False — exact forms only. exhaustive: read every candidate (a report), never estimate.
    """
    opts = _merge_filters(query, options)
    check_scope(store, opts)
    conn = store.conn
    fuzzy_words = any(t.fuzzy for t in query.terms())
    plan = resolve(conn, query, opts.lang, families=not opts.lemma)
    exact = _mentions(store, plan, opts, approximate=False, exhaustive=exhaustive)
    possible: list[_Mention] = []
    estimated = exact.estimated
    if approximate or fuzzy_words or (approximate is None and not exact.found):
        near = resolve(conn, query, opts.lang, families=not opts.lemma, approximate=True)
        loose = _mentions(store, near, opts, approximate=True, exhaustive=exhaustive)
        possible = [m for m in loose.found if not _overlaps_any(m, exact.found)]
        estimated = estimated or loose.estimated
    ranked = sorted(exact.found, key=lambda m: (m.score, m.order)) + \
        sorted(possible, key=lambda m: (m.score, m.order))
    page = ranked[opts.offset: opts.offset + opts.limit]
    hits = _hits(conn, page)
    per_video: dict[str, int] = {}
    for m in ranked:
        per_video[m.video_id] = per_video.get(m.video_id, 0) + 1
    total = len(ranked)
    if estimated:
        total = max(total, exact.rows)
        per_video = exact.per_video or per_video
    order = sorted(per_video.items(), key=lambda kv: -kv[1])
    forms = {spec.text: sorted(spec.stems) for specs in plan.specs.values() for spec in specs
             if spec.prefix is None}
    return Results(query.raw, total, hits, dict(order), approximate=not exact.found and bool(possible),
                   exact_total=len(exact.found) if not exact.estimated else max(len(exact.found), exact.rows),
                   possible_total=len(possible), total_exact=not estimated, forms=forms)


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


def _mentions(store: Store, plan: Plan, opts: SearchOptions, *, approximate: bool,
              exhaustive: bool) -> _Found:
    conn = store.conn
    where, params = _where(opts)
    expr = fts5.compile_segments(plan, approximate)
    try:
        rows = _count(conn, "segments_fts", expr, where, params)
        limit = None if exhaustive or rows <= EXACT_LIMIT else (opts.offset + opts.limit) * 2 + 20
        seeds = _candidates(conn, "segments_fts", expr, where, params, limit)
        if plan.query.multiword:
            crossing = fts5.compile_crossing(plan, approximate)
            seeds += _candidates(conn, "bridges_fts", crossing or expr, where, params, limit, bridge=True)
    except sqlite3.OperationalError as exc:
        raise QueryError(f"cannot search for {plan.query.raw!r}: {exc}; simplify the query") from exc
    score: dict[int, float] = {}
    for tid, seq, sid, s in seeds:
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
        result.per_video = _per_video(conn, expr, where, params, found, rows)
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


def _count(conn: sqlite3.Connection, table: str, expr: str, where: str, params: list) -> int:
    if where:
        return conn.execute("SELECT count(*)" + _from(table, where), (expr, *params)).fetchone()[0]
    return conn.execute(f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", (expr,)).fetchone()[0]


def _candidates(conn: sqlite3.Connection, table: str, expr: str, where: str, params: list,
                limit: int | None, bridge: bool = False) -> list[tuple[int, int, int | None, float]]:
    """(transcript, seq, segment id, bm25) of the matching rows, best first; a bridge row
    stands for its first segment (the padding reads the next)."""
    cap = "" if limit is None else f" LIMIT {int(limit)}"
    if where or bridge:
        sql = (f"SELECT s.transcript, s.seq, s.id, bm25({table}) AS score" + _from(table, where)
               + f" ORDER BY score, s.id{cap}")
        rows = conn.execute(sql, (expr, *params)).fetchall()
    else:
        ranked = conn.execute(f"SELECT rowid, bm25({table}) FROM {table} WHERE {table} MATCH ?"
                              f" ORDER BY bm25({table}), rowid{cap}", (expr,)).fetchall()
        pos = {}
        ids = [r[0] for r in ranked]
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            pos.update({r[0]: (r[1], r[2]) for r in conn.execute(
                "SELECT s.id, s.transcript, s.seq FROM segments s JOIN transcripts t"
                f" ON t.id = s.transcript AND t.complete WHERE s.id IN ({','.join('?' * len(part))})", part)})
        rows = [(pos[rid][0], pos[rid][1], rid, score) for rid, score in ranked if rid in pos]
    if bridge:   # the bridge's score belongs to both segments it joins
        rows += [(t, seq + 1, None, score) for t, seq, _, score in rows]
    return rows


def _from(table: str, where: str) -> str:
    return (f" FROM {table} f JOIN segments s ON s.id = f.rowid"
            " JOIN transcripts t ON t.id = s.transcript AND t.complete"
            " JOIN videos v ON v.id = s.video"
            " LEFT JOIN sources src ON src.id = v.source_id"
            f" WHERE {table} MATCH ?" + where)


FULL_COUNT_LIMIT = 20_000   # above this many matching segments, videos are counted for the page only


def _per_video(conn: sqlite3.Connection, expr: str, where: str, params: list,
               found: list[_Mention], rows: int) -> dict[str, int]:
    """Matching segments per video (a common word, whose mentions were not all read): for all
    videos when they are few, else for the videos of the mentions read."""
    if rows <= FULL_COUNT_LIMIT:
        return dict(conn.execute("SELECT v.video_id, count(*)" + _from("segments_fts", where)
                                 + " GROUP BY v.id", (expr, *params)).fetchall())
    counts = {}
    for vid in dict.fromkeys(m.video_id for m in found):
        lo, hi = conn.execute("SELECT min(s.id), max(s.id) FROM segments s JOIN videos v"
                              " ON v.id = s.video WHERE v.video_id = ?", (vid,)).fetchone()
        counts[vid] = conn.execute(
            "SELECT count(*)" + _from("segments_fts", where) + " AND f.rowid BETWEEN ? AND ? AND v.video_id = ?",
            (expr, *params, lo, hi, vid)).fetchone()[0]
    return counts


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


# --- filters and scope ---------------------------------------------------------------------

def _merge_filters(query: Query, o: SearchOptions) -> SearchOptions:
    f = query.filters
    return replace(o, channel=o.channel or f.get("channel"), lang=o.lang or f.get("lang"),
                   video=o.video or f.get("video"), since=o.since or f.get("after"),
                   until=o.until or f.get("before"), source=o.source or f.get("source"))


def check_scope(store: Store, o: SearchOptions) -> None:
    """Refuse a scope that cannot match anything: a search in nothing is no evidence of
    absence. Unknown video or channel → NotFound; a date that does not exist or an empty
    date range → QueryError."""
    if o.since:
        check_date(o.since, "--since")
    if o.until:
        check_date(o.until, "--until")
    if o.since and o.until and _day(o.since, False) > _day(o.until, True):
        raise QueryError(f"the date range {o.since} – {o.until} is empty: the start is after the end")
    if o.video and store.conn.execute("SELECT 1 FROM videos WHERE video_id = ?", (o.video,)).fetchone() is None:
        raise NotFound(f"unknown video id {o.video!r}; see `dalel status` for the archive's videos")
    if o.channel and store.conn.execute(
            "SELECT 1 FROM videos v LEFT JOIN sources src ON src.id = v.source_id"
            " WHERE v.channel = ? COLLATE NOCASE OR src.name = ? COLLATE NOCASE OR src.url = ?"
            " UNION SELECT 1 FROM sources WHERE name = ? COLLATE NOCASE OR url = ? LIMIT 1",
            (o.channel,) * 5).fetchone() is None:
        raise NotFound(f"no channel {o.channel!r} in the archive; see `dalel channel list`")


def _day(value: str, last: bool) -> str:
    parts = value.split("-")
    if len(parts) == 3:
        return value
    if len(parts) == 2:
        y, m = int(parts[0]), int(parts[1])
        end = (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)).day
        return f"{value}-{end if last else 1:02d}"
    return f"{value}-12-31" if last else f"{value}-01-01"


def _where(o: SearchOptions) -> tuple[str, list]:
    sql, params = "", []
    if o.channel:
        sql += " AND (v.channel = ? COLLATE NOCASE OR src.name = ? COLLATE NOCASE OR src.url = ?)"
        params += [o.channel, o.channel, o.channel]
    if o.lang:
        sql += " AND s.lang = ?"
        params.append(o.lang)
    if o.video:
        sql += " AND v.video_id = ?"
        params.append(o.video)
    if o.since:
        sql += " AND substr(v.published, 1, 10) >= ?"
        params.append(_day(o.since, False))
    if o.until:
        sql += " AND substr(v.published, 1, 10) <= ?"
        params.append(_day(o.until, True))
    if o.source == "speech":  # what was said: everything but titles and descriptions
        sql += " AND t.source != 'metadata'"
    elif o.source:
        sql += " AND t.source = ?"
        params.append(o.source)
    if o.transcript is not None:
        sql += " AND t.id = ?"
        params.append(o.transcript)
    return sql, params


def scope(store: Store, o: SearchOptions) -> dict:
    """What a search covered: videos, hours, which are transcribed (by speech recognition,
    platform subtitles or an imported transcript), models, languages, dates."""
    where, params = _where(replace(o, source=None, transcript=None, lang=None))
    rows = store.conn.execute(
        "SELECT v.id, v.video_id, v.title, coalesce(v.channel, src.name), v.published, v.duration"
        " FROM videos v LEFT JOIN sources src ON src.id = v.source_id"
        " WHERE v.archived_at IS NOT NULL" + where + " ORDER BY v.published, v.id", params).fetchall()
    videos, hours, done_hours, models, langs = [], 0.0, 0.0, set(), set()
    for pk, vid, title, channel, published, duration in rows:
        ts = store.conn.execute(
            "SELECT t.source, t.model, t.language, t.audio_seconds,"
            " (SELECT max(s.end) FROM segments s WHERE s.transcript = t.id)"
            " FROM transcripts t WHERE t.video = ? AND t.complete AND t.source != 'metadata'", (pk,)).fetchall()
        if o.lang:
            ts = [t for t in ts if t[2] == o.lang]
        seconds = duration or max((t[3] or t[4] or 0 for t in ts), default=0)
        hours += seconds
        if ts:
            done_hours += max((t[3] or t[4] or 0 for t in ts), default=0) if not duration else duration
            models |= {t[1] for t in ts if t[0] == "asr" and t[1]}
            langs |= {t[2] for t in ts if t[2]}
        videos.append({"video_id": vid, "title": title, "channel": channel, "published": published,
                       "transcribed": bool(ts), "sources": sorted({t[0] for t in ts})})
    done = [v for v in videos if v["transcribed"]]
    pks = [pk for (pk, *_), v in zip(rows, videos) if v["transcribed"]]
    return {"coverage": store.coverage(pks), "videos": len(videos), "hours": round(hours / 3600, 3),
            "transcribed_videos": len(done), "transcribed_hours": round(done_hours / 3600, 3),
            "models": sorted(models), "languages": sorted(langs),
            "from": min((v["published"] for v in videos if v["published"]), default=None),
            "to": max((v["published"] for v in videos if v["published"]), default=None),
            "video_list": videos}
