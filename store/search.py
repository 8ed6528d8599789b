"""Full-text search over transcripts: FTS5 on analysed text, mapped back to spoken words.

FTS5's highlight() marks which index words matched; since the index holds one stem per
spoken word, in order, a marked position is a spoken word, and its timestamps give the
hit's start and end.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace

from .analysis import BOUNDARY, WORD_RE, words
from .db import Store
from .errors import QueryError
from .query import Query

_OPEN, _CLOSE = "\x01", "\x02"


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


@dataclass(frozen=True)
class Hit:
    video_id: str
    platform: str
    title: str | None
    channel: str | None
    url: str
    start: float
    end: float
    text: str
    lang: str | None
    score: float
    source: str
    removed: bool
    matches: tuple[str, ...] = ()       # the words as spoken that matched
    spans: tuple[tuple[int, int], ...] = field(default=(), repr=False)  # char ranges in text
    approximate: bool = False
    segment_id: int = 0


@dataclass(frozen=True)
class Results:
    query: str
    total: int
    hits: list[Hit]
    videos: dict[str, int] = field(default_factory=dict)   # video id → hits, over all pages
    approximate: bool = False


_SELECT = ("SELECT s.id, s.transcript, s.seq, s.start, s.end, s.text, s.lang, t.source,"
           " v.video_id, v.platform, v.title, coalesce(v.channel, src.name) AS channel, v.url,"
           " v.removed_at, bm25({t}) AS score, highlight({t}, 0, char(1), char(2)) AS marked")


def _from(table: str, where: str) -> str:
    return (f" FROM {table} f JOIN segments s ON s.id = f.rowid"
            " JOIN transcripts t ON t.id = s.transcript AND t.complete"
            " JOIN videos v ON v.id = s.video"
            " LEFT JOIN sources src ON src.id = v.source_id"
            f" WHERE {table} MATCH ?" + where)


def search(store: Store, query: Query, options: SearchOptions = SearchOptions(),
           approximate: bool | None = None) -> Results:
    """Run a parsed query.

    approximate: None — exact forms, and near spellings only when those find nothing;
    True — near spellings always; False — exact forms only.
    """
    if not approximate:
        exact = _search(store, query, options)
        if exact.total or approximate is False:
            return exact
    from .fuzzy import approximate_fts

    expr = approximate_fts(store, query, _merge_filters(query, options).lang)
    if expr is None:
        return _search(store, query, options)
    fuzzy = _search(store, query, options, expr, multiword=False)
    hits = [replace(h, approximate=True) for h in fuzzy.hits]
    return Results(fuzzy.query, fuzzy.total, hits, fuzzy.videos, approximate=True)


FULL_COUNT_LIMIT = 20_000  # above this many hits, per-video counts are made for the page only


def _search(store: Store, query: Query, options: SearchOptions, expr: str | None = None,
            multiword: bool | None = None) -> Results:
    opts = _merge_filters(query, options)
    where, params = _where(opts)
    exact = expr is None
    expr = expr or query.fts(opts.lang)
    base = _from("segments_fts", where)
    want = opts.offset + opts.limit
    try:
        if where:  # filters need the joins for every match
            total = store.conn.execute("SELECT count(*)" + base, (expr, *params)).fetchone()[0]
            rows = list(store.db.query(_SELECT.format(t="segments_fts") + base
                                       + " ORDER BY score, s.id LIMIT ?", (expr, *params, want)))
        else:      # the index alone ranks; details are fetched for the page only
            total = store.conn.execute("SELECT count(*) FROM segments_fts WHERE segments_fts MATCH ?",
                                       (expr,)).fetchone()[0]
            rows = _details(store, store.conn.execute(
                "SELECT rowid, bm25(segments_fts), highlight(segments_fts, 0, char(1), char(2))"
                " FROM segments_fts WHERE segments_fts MATCH ? ORDER BY bm25(segments_fts), rowid"
                " LIMIT ?", (expr, want)).fetchall())
        bridges = query.multiword if multiword is None else multiword
        crossing = query.crossing_fts(opts.lang) if exact else None
        bridged = _bridges(store, crossing or expr, where, params, checked=crossing is None) if bridges else []
    except sqlite3.OperationalError as exc:
        raise QueryError(f"cannot search for {query.raw!r}: {exc}; simplify the query") from exc
    ranked = sorted(rows + bridged, key=lambda r: (r["score"], r["id"]))
    page = ranked[opts.offset: opts.offset + opts.limit]
    per_video = _per_video(store, expr, base, params, total, page)
    for r in bridged:
        per_video[r["video_id"]] = per_video.get(r["video_id"], 0) + 1
    hits = [_hit(store, r) for r in page]
    order = sorted(per_video.items(), key=lambda kv: -kv[1])
    return Results(query.raw, total + len(bridged), hits, dict(order))


def _details(store: Store, ranked: list[tuple]) -> list[dict]:
    """Rows of the page with their segment, transcript and video (one query)."""
    if not ranked:
        return []
    marks = ",".join("?" * len(ranked))
    info = {r["id"]: r for r in store.db.query(
        "SELECT s.id, s.transcript, s.seq, s.start, s.end, s.text, s.lang, t.source, v.video_id,"
        " v.platform, v.title, coalesce(v.channel, src.name) AS channel, v.url, v.removed_at"
        " FROM segments s JOIN transcripts t ON t.id = s.transcript JOIN videos v ON v.id = s.video"
        f" LEFT JOIN sources src ON src.id = v.source_id WHERE s.id IN ({marks}) AND t.complete",
        [r[0] for r in ranked])}
    return [info[rid] | {"score": score, "marked": marked} for rid, score, marked in ranked
            if rid in info]


def _per_video(store: Store, expr: str, base: str, params: list, total: int,
               page: list[dict]) -> dict[str, int]:
    """Hits per video: for all videos when the hits are few; else for the page's videos,
    counted inside each video's range of segment ids (the index skips the rest)."""
    if total <= FULL_COUNT_LIMIT:
        return dict(store.conn.execute("SELECT v.video_id, count(*)" + base + " GROUP BY v.id",
                                       (expr, *params)).fetchall())
    counts = {}
    for vid in dict.fromkeys(r["video_id"] for r in page):
        lo, hi = store.conn.execute("SELECT min(s.id), max(s.id) FROM segments s JOIN videos v"
                                    " ON v.id = s.video WHERE v.video_id = ?", (vid,)).fetchone()
        counts[vid] = store.conn.execute(
            "SELECT count(*)" + base + " AND f.rowid BETWEEN ? AND ? AND v.video_id = ?",
            (expr, *params, lo, hi, vid)).fetchone()[0]
    return counts


def _bridges(store: Store, expr: str, where: str, params: list, checked: bool = True) -> list[dict]:
    """Matches across a segment boundary: only those that straddle it (the others are
    found in the segments themselves). With `checked`, each bridge match is checked with
    highlight(); otherwise `expr` matches only across the boundary (Query.crossing_fts),
    so only the few rows that cross are read. Details are read for those."""
    if checked:
        straddling = {rid: (split, marked) for rid, split, marked in (
            (rid, split, _unmark(marked)) for rid, split, marked in store.conn.execute(
                "SELECT rowid, split, highlight(bridges_fts, 0, char(1), char(2))"
                " FROM bridges_fts WHERE bridges_fts MATCH ?", (expr,))) if _straddles(marked, split)}
        if not straddling:
            return []
        scores = dict(store.conn.execute(  # ranked only when they count
            f"SELECT rowid, bm25(bridges_fts) FROM bridges_fts WHERE bridges_fts MATCH ?"
            f" AND rowid IN ({','.join('?' * len(straddling))})", (expr, *straddling)))
    else:  # one pass: every match crosses, and seeking rowids in the boundary's long list is slow
        found = store.conn.execute(
            "SELECT rowid, split, bm25(bridges_fts), highlight(bridges_fts, 0, char(1), char(2))"
            " FROM bridges_fts WHERE bridges_fts MATCH ?", (expr,)).fetchall()
        straddling = {rid: (split, _unmark(marked)) for rid, split, _, marked in found}
        scores = {rid: score for rid, _, score, _ in found}
    rows = _details(store, [(rid, scores.get(rid, 0.0), marked)
                            for rid, (_, marked) in straddling.items()])
    if where and rows:  # apply the filters to the few that straddle
        marks = ",".join("?" * len(rows))
        keep = {r[0] for r in store.conn.execute(
            "SELECT s.id FROM segments s JOIN transcripts t ON t.id = s.transcript"
            " JOIN videos v ON v.id = s.video LEFT JOIN sources src ON src.id = v.source_id"
            f" WHERE s.id IN ({marks})" + where, [r["id"] for r in rows] + list(params))}
        rows = [r for r in rows if r["id"] in keep]
    return [r | {"split": straddling[r["id"]][0]} for r in rows]


def _unmark(marked: str) -> str:
    """A bridge row's highlighted text without its boundary token: positions count words."""
    return " ".join(t for t in marked.split(" ") if t != BOUNDARY)  # phrases never start or end on it


def _straddles(marked: str, split: int) -> bool:
    """Whether highlight()'s marks begin before word `split` and end at or after it."""
    first = marked.find(_OPEN)
    if first < 0:
        return False
    return marked.count(" ", 0, first) < split <= marked.count(" ", 0, marked.rfind(_CLOSE))


def _merge_filters(query: Query, o: SearchOptions) -> SearchOptions:
    f = query.filters
    return SearchOptions(channel=o.channel or f.get("channel"), lang=o.lang or f.get("lang"),
                         video=o.video or f.get("video"), since=o.since or f.get("after"),
                         until=o.until or f.get("before"), source=o.source or f.get("source"),
                         transcript=o.transcript, limit=o.limit, offset=o.offset)


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
        params.append(o.since)
    if o.until:
        sql += " AND substr(v.published, 1, 10) <= ?"
        params.append(o.until)
    if o.source == "speech":  # what was said: everything but titles and descriptions
        sql += " AND t.source != 'metadata'"
    elif o.source:
        sql += " AND t.source = ?"
        params.append(o.source)
    if o.transcript is not None:
        sql += " AND t.id = ?"
        params.append(o.transcript)
    return sql, params


def marked_positions(marked: str) -> list[int]:
    """Word positions that highlight() wrapped in \\x01…\\x02 (a phrase is wrapped whole)."""
    found, inside = [], False
    for i, token in enumerate(marked.split()):
        if token.startswith(_OPEN):
            inside = True
        if inside:
            found.append(i)
        if token.endswith(_CLOSE):
            inside = False
    return found


def _token_words(text: str, spoken: list[dict]) -> list[dict | None]:
    """For each index position of `text`, the spoken word (with timestamps) it came from."""
    out: list[dict | None] = []
    for w in spoken:
        out += [w] * len(words(w["word"]))
    return out if len(out) == len(words(text)) else [None] * len(words(text))


def _hit(store: Store, r: dict) -> Hit:
    """A result row → a hit with the spoken words' times (a bridge row spans two segments)."""
    positions = marked_positions(r["marked"])
    text, start, end = r["text"], r["start"], r["end"]
    tokens = _token_words(text, _words(store, r["id"]))
    if "split" in r:  # bridge positions count from the first segment's last `split` words
        shift = len(words(text)) - r["split"]
        positions = [p + shift for p in positions]
        nxt = store.conn.execute("SELECT id, text, end FROM segments WHERE transcript = ? AND seq = ?",
                                 (r["transcript"], r["seq"] + 1)).fetchone()
        tokens += _token_words(nxt[1], _words(store, nxt[0]))
        text, end = f"{text} {nxt[1]}", nxt[2]
    timed = [tokens[p] for p in positions if p < len(tokens) and tokens[p] is not None]
    if timed:
        start, end = min(w["start"] for w in timed), max(w["end"] for w in timed)
    wanted = set(positions)
    spans = tuple((m.start(), m.end()) for i, m in enumerate(WORD_RE.finditer(text)) if i in wanted)
    return Hit(video_id=r["video_id"], platform=r["platform"], title=r["title"],
               channel=r["channel"], url=r["url"], start=round(start, 2), end=round(end, 2),
               text=text, lang=r["lang"], score=round(-r["score"], 4), source=r["source"],
               removed=r["removed_at"] is not None,
               matches=tuple(text[a:b] for a, b in spans), spans=spans, segment_id=r["id"])


def _words(store: Store, segment_id: int) -> list[dict]:
    return list(store.db.query("SELECT start, end, word FROM words WHERE segment = ?"
                               " ORDER BY position", (segment_id,)))


def scope(store: Store, o: SearchOptions) -> dict:
    """What a search covered: videos, hours, transcription, models, languages, dates."""
    where, params = _where(replace(o, source=None, transcript=None))
    where = where.replace("s.lang", "t.language")  # the transcript's language, here
    base = (" FROM videos v LEFT JOIN sources src ON src.id = v.source_id"
            " LEFT JOIN transcripts t ON t.video = v.id AND t.complete AND t.source = 'asr'"
            " WHERE v.archived_at IS NOT NULL" + where)
    row = store.conn.execute(
        "SELECT count(DISTINCT v.id), sum(coalesce(v.duration, t.audio_seconds, 0)),"
        " count(DISTINCT t.video), sum(coalesce(t.audio_seconds, 0)),"
        " min(v.published), max(v.published)" + base, params).fetchone()
    models = [r[0] for r in store.conn.execute(
        "SELECT DISTINCT t.model" + base + " AND t.model IS NOT NULL", params)]
    langs = [r[0] for r in store.conn.execute(
        "SELECT DISTINCT t.language" + base + " AND t.language IS NOT NULL", params)]
    videos = [dict(zip(("video_id", "title", "channel", "published", "transcribed"), r))
              for r in store.conn.execute(
                  "SELECT v.video_id, v.title, coalesce(v.channel, src.name), v.published,"
                  " t.id IS NOT NULL" + base + " GROUP BY v.id ORDER BY v.published", params)]
    return {"videos": row[0], "hours": round((row[1] or 0) / 3600, 3),
            "transcribed_videos": row[2], "transcribed_hours": round((row[3] or 0) / 3600, 3),
            "models": models, "languages": langs, "from": row[4], "to": row[5],
            "video_list": videos}


def context(store: Store, segment_id: int) -> tuple[str | None, str | None]:
    """The text of the segments just before and after one segment."""
    row = store.conn.execute("SELECT transcript, seq FROM segments WHERE id = ?", (segment_id,)).fetchone()
    if row is None:
        return None, None
    near = dict(store.conn.execute(
        "SELECT seq, text FROM segments WHERE transcript = ? AND seq IN (?, ?)",
        (row[0], row[1] - 1, row[1] + 1)).fetchall())
    return near.get(row[1] - 1), near.get(row[1] + 1)
