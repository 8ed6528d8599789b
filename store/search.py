"""Full-text search over transcripts: FTS5 on analysed text, mapped back to spoken words."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from .analysis import WORD_RE, analyse, normalise
from .db import Store
from .errors import QueryError
from .query import Query


@dataclass(frozen=True)
class SearchOptions:
    channel: str | None = None
    lang: str | None = None
    video: str | None = None
    since: str | None = None   # YYYY-MM-DD, inclusive, on the published date
    until: str | None = None
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


@dataclass(frozen=True)
class Results:
    query: str
    total: int
    hits: list[Hit]


def search(store: Store, query: Query, options: SearchOptions = SearchOptions()) -> Results:
    opts = _merge_filters(query, options)
    where, params = _where(opts)
    expr = query.fts(opts.lang)
    base = (" FROM segments_fts f JOIN segments s ON s.id = f.rowid"
            " JOIN transcripts t ON t.id = s.transcript AND t.complete"
            " JOIN videos v ON v.id = s.video"
            " LEFT JOIN sources src ON src.id = v.source_id"
            " WHERE segments_fts MATCH ?" + where)
    try:
        total = store.conn.execute("SELECT count(*)" + base, (expr, *params)).fetchone()[0]
        rows = list(store.db.query(
            "SELECT s.id, s.start, s.end, s.text, s.lang, t.source, v.video_id, v.platform,"
            " v.title, coalesce(v.channel, src.name) AS channel, v.url, v.removed_at,"
            " bm25(segments_fts) AS score" + base + " ORDER BY score, s.id LIMIT ? OFFSET ?",
            (expr, *params, opts.limit, opts.offset)))
    except sqlite3.OperationalError as exc:
        raise QueryError(f"cannot search for {query.raw!r}: {exc}; simplify the query") from exc
    exact, prefixes = query.stems()
    return Results(query.raw, total, [_hit(store, r, exact, prefixes) for r in rows])


def _merge_filters(query: Query, o: SearchOptions) -> SearchOptions:
    f = query.filters
    return SearchOptions(channel=o.channel or f.get("channel"), lang=o.lang or f.get("lang"),
                         video=o.video or f.get("video"), since=o.since or f.get("after"),
                         until=o.until or f.get("before"), limit=o.limit, offset=o.offset)


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
    return sql, params


def _matches(word: str, lang: str | None, exact: set[str], prefixes: set[str]) -> bool:
    for tok in analyse(word, lang):
        if tok.stem in exact or any(normalise(tok.word).startswith(p) or tok.stem.startswith(p)
                                    for p in prefixes):
            return True
    return False


def _hit(store: Store, r: dict, exact: set[str], prefixes: set[str]) -> Hit:
    spoken = list(store.db.query("SELECT start, end, word FROM words WHERE segment = ?"
                                 " ORDER BY position", (r["id"],)))
    matched = [w for w in spoken if _matches(w["word"], r["lang"], exact, prefixes)]
    start = min((w["start"] for w in matched), default=r["start"])
    end = max((w["end"] for w in matched), default=r["end"])
    return Hit(video_id=r["video_id"], platform=r["platform"], title=r["title"],
               channel=r["channel"], url=r["url"], start=round(start, 2), end=round(end, 2),
               text=r["text"], lang=r["lang"], score=round(-r["score"], 4), source=r["source"],
               removed=r["removed_at"] is not None,
               matches=tuple(w["word"] for w in matched),
               spans=_spans(r["text"], r["lang"], exact, prefixes))


def _spans(text: str, lang: str | None, exact: set[str], prefixes: set[str]) -> tuple:
    return tuple((m.start(), m.end()) for m in WORD_RE.finditer(text)
                 if _matches(m.group(), lang, exact, prefixes))


