"""The query tree compiled to SQLite FTS5 MATCH expressions: the candidates' filter.

An expression here only has to find every row that may hold a mention (it may find more):
`match.py` decides on the words themselves. So each word is the OR of its indexed forms
(its family's and, when asked, its near spellings'), a phrase is an FTS5 phrase of them when
few combinations exist and the looser AND of its words otherwise, and words close together
are FTS5's NEAR. A bridge row (the words on both sides of a segment boundary, with the
boundary token between them) is asked for with the same expression or, for a query of
phrases only, with the phrases split at every place the boundary may fall, so that only
rows that a phrase crosses are read.
"""
from __future__ import annotations

import sqlite3
from collections import Counter
from itertools import islice, product
from typing import Callable

from .dialect import in_batches
from .errors import QueryError
from .filters import SearchOptions, filter_videos, narrow_ranges
from .match import Plan
from .phrases import boundary_splits, phrase_terms
from .query import Node, Or, Term

MAX_COMBINATIONS = 64


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _phrases(plan: Plan, term: Term, approximate: bool) -> list[str] | None:
    """The FTS5 phrases a term may be indexed as; None when there are too many."""
    specs = plan.specs[term]
    per_word = []
    for spec in specs:
        if spec.prefix is not None:   # "\x00" marks a prefix (only the last word)
            per_word.append([spec.prefix + "\x00", *sorted(spec.prefix_stems)])
        else:
            per_word.append(plan.fts_alternatives(spec, approximate or term.fuzzy))
    if any(not alts for alts in per_word):
        return []
    combos = list(islice(product(*per_word), MAX_COMBINATIONS + 1))
    if len(combos) > MAX_COMBINATIONS:
        return None
    out = []
    for combo in combos:
        if combo[-1].endswith("\x00"):
            out.append(_quote(" ".join(combo)[:-1]) + " *")
        else:
            out.append(_quote(" ".join(combo)))
    return out


def _loose(plan: Plan, term: Term, approximate: bool) -> str:
    """Every word of the term in the row, in any of its forms (not necessarily adjacent)."""
    groups = []
    for spec in plan.specs[term]:
        if spec.prefix is not None:
            starts = [_quote(spec.prefix) + " *", *map(_quote, sorted(spec.prefix_stems))]
            groups.append("(" + " OR ".join(starts) + ")")
        else:
            alts = plan.fts_alternatives(spec, approximate or term.fuzzy)
            groups.append("(" + " OR ".join(_quote(a) for a in alts) + ")" if alts else '"\x01"')
    return " AND ".join(groups)


def _node(plan: Plan, node: Node, approximate: bool) -> str:
    if isinstance(node, Term):
        loose = approximate or node.fuzzy   # near spellings allow a word inserted inside a phrase
        phrases = None if loose and len(node.words) > 1 else _phrases(plan, node, approximate)
        expr = "(" + _loose(plan, node, approximate) + ")" if phrases is None else \
            "(" + " OR ".join(phrases) + ")" if phrases else '"\x01"'
        if approximate and plan.regrouped.get(node):   # a word split in two, or two joined
            expr = "(" + " OR ".join([expr, *(_quote(" ".join(g)) for g in plan.regrouped[node])]) + ")"
        return expr
    if isinstance(node, Or):
        return "(" + " OR ".join(_node(plan, item, approximate) for item in node.items) + ")"
    # NEAR takes phrases: use it when every item is a term with few forms.
    if not approximate and all(isinstance(i, Term) and not i.fuzzy for i in node.items):
        options = [_phrases(plan, i, approximate) for i in node.items]   # type: ignore[arg-type]
        if all(o for o in options):
            combos = list(islice(product(*options), MAX_COMBINATIONS + 1))  # type: ignore[arg-type]
            if len(combos) <= MAX_COMBINATIONS:
                return "(" + " OR ".join(f"NEAR({' '.join(c)}, {node.distance})" for c in combos) + ")"
    return "(" + " AND ".join(_node(plan, item, approximate) for item in node.items) + ")"


def _exclusions(plan: Plan) -> str:
    return "".join(f" NOT {_node(plan, n, False)}" for n in plan.query.excluded)


def compile_segments(plan: Plan, approximate: bool) -> str:
    """The expression for segment rows."""
    return _node(plan, plan.query.root, approximate) + _exclusions(plan)


def compile_crossing(plan: Plan, approximate: bool) -> str | None:
    """For a query of exact phrases only: the expression that matches a bridge row only where
    a phrase crosses its boundary ("a b c" as "a ᛝ b c" or "a b ᛝ c"). None otherwise."""
    terms = phrase_terms(plan.query, approximate)
    if terms is None:
        return None
    out = []
    for term in terms:
        phrases = _phrases(plan, term, False)
        if phrases is None:
            return None
        for phrase in phrases:
            stems = tuple(phrase[1:-1].replace('""', '"').split(" "))
            out += [_quote(" ".join(split)) for split in boundary_splits(stems)]
    if not out:
        return None
    return "(" + " OR ".join(dict.fromkeys(out)) + ")" + _exclusions(plan)


# --- the candidates: FTS5 asked with the compiled expression ---------------------------------

Seed = tuple[int, int, int | None, float]    # (transcript, seq, segment id or None, score)
# A search that reads the best mentions only (not a report) reads at most this many matching
# rows, the newest: a common word's total is then "10,000+" and its best are ranked among the
# newest 10,000, never a pass over millions of rows (in FTS5 and in PostgreSQL alike).
COUNT_CAP = 10_000


def sampled(rows: int, limit: int | None) -> bool:
    """Whether a search read only the newest COUNT_CAP matching segments: its hits are then a
    sample of the best, and the bridges across segment boundaries are not asked (a phrase's
    crossings are found by checking the positions in every bridge holding its words: at 10M
    segments a quarter of a second for a common phrase, in FTS5 and PostgreSQL alike)."""
    return limit is not None and rows > COUNT_CAP


class Candidates:
    """Where a search's candidate rows come from: the full-text index, asked with the query
    compiled for it. This is SQLite FTS5's (`fts5.py`); another backend's index (PostgreSQL
    tsquery, `tsquery.py`) gives the same seeds for the same plan, and the matcher decides."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._videos: dict[tuple, dict[str, int]] = {}   # matching rows per video, by (expr, where, params)
        self._allowed: dict[SearchOptions, tuple[list[int] | None, list[tuple[int, int]] | None]] = {}

    def allowed_videos(self, opts: SearchOptions) -> tuple[list[int] | None, list[tuple[int, int]] | None]:
        """The videos the search's filters allow (None: no such filter) and, when they are few,
        the id ranges that hold their segments (`filters.narrow_ranges`) — asked once a search,
        not again for its near spellings."""
        if opts not in self._allowed:
            videos = filter_videos(self.conn, opts)
            self._allowed[opts] = videos, narrow_ranges(self.conn, videos)
        return self._allowed[opts]

    def find(self, plan: Plan, approximate: bool, where: str, params: list,
             limit_for: Callable[[int], int | None],
             opts: SearchOptions | None = None) -> tuple[int, list[Seed], int | None, str]:
        """(matching segment rows — COUNT_CAP + 1 when there are more and the search need not read
        them all —, seeds best first, the cap applied, the expression); FTS5 filters by `where`,
        another index may by `opts`."""
        conn = self.conn
        expr = compile_segments(plan, approximate)
        ranges = self.allowed_videos(opts)[1] if where and opts else None
        if ranges is not None and len(ranges) > RANGE_STATEMENTS:
            ranges = None
        try:
            if where:   # filtered: one pass over the matching rows counts, ranks and counts per video
                rows, seeds, limit = self._filtered(expr, where, params, limit_for, ranges)
            else:
                rows = _count(conn, "segments_fts", expr, COUNT_CAP + 1)
                limit = limit_for(rows)
                if rows > COUNT_CAP and limit is None:   # every row to be read (a report, by date)
                    rows = _count(conn, "segments_fts", expr, None)
                    limit = limit_for(rows)
                seeds = _candidates(conn, "segments_fts", expr, where, params, limit)
            if plan.query.multiword and not sampled(rows, limit):
                crossing = compile_crossing(plan, approximate)
                seeds += _candidates(conn, "bridges_fts", crossing or expr, where, params, limit, bridge=True,
                                     ranges=ranges)
        except sqlite3.OperationalError as exc:
            raise QueryError(f"cannot search for {plan.query.raw!r}: {exc}; simplify the query") from exc
        return rows, seeds, limit, expr

    def _filtered(self, expr: str, where: str, params: list, limit_for: Callable[[int], int | None],
                  ranges: list[tuple[int, int]] | None = None) -> tuple[int, list[Seed], int | None]:
        """One pass over a filtered search's matching rows (the joins are the cost), the newest
        COUNT_CAP + 1 unless all are to be read: their number, the best `limit`, the rows per
        video (when all were read)."""
        select = "SELECT s.transcript, s.seq, s.id, bm25(segments_fts) AS score, v.video_id"
        every = _newest(self.conn, select, "segments_fts", expr, where, params, ranges, COUNT_CAP + 1)
        limit = limit_for(len(every))
        if len(every) > COUNT_CAP and limit is None:
            every = _newest(self.conn, select, "segments_fts", expr, where, params, ranges, None)
            limit = limit_for(len(every))
        if len(every) <= COUNT_CAP or limit is None:
            self._videos[(expr, where, tuple(params))] = dict(Counter(row[4] for row in every))
        every.sort(key=lambda r: (r[3], r[2]))
        return len(every), [r[:4] for r in every[:limit]], limit

    def per_video(self, expr: str, where: str, params: list, found: list, rows: int) -> dict[str, int]:
        """Matching segment rows per video, for a search whose mentions were not all read."""
        known = self._videos.get((expr, where, tuple(params)))
        return dict(known) if known is not None else _per_video(self.conn, expr, where, params, found, rows)


def _count(conn: sqlite3.Connection, table: str, expr: str, cap: int | None) -> int:
    """Matching rows, counted up to `cap`."""
    if cap is None:
        return conn.execute(f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", (expr,)).fetchone()[0]
    return conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {table} MATCH ? LIMIT ?)",
                        (expr, cap)).fetchone()[0]


# A narrow filter's ranges are each asked in a statement of their own, and for each statement
# bm25() counts the rows holding each phrase anew (its idf: ~15 ms for a common word at 10M
# segments): a filter of more ranges than this is asked in one statement over every matching row.
RANGE_STATEMENTS = 16


def _newest(conn: sqlite3.Connection, select: str, table: str, expr: str, where: str, params: list,
            ranges: list[tuple[int, int]] | None, cap: int | None) -> list:
    """`select`'s columns of the matching rows the filter lets through, newest first: at most
    `cap` of them (all with None). With a narrow filter's `ranges` (`narrow_ranges`), asked a
    range of rowids at a time — FTS5 seeks to each in its lists —, not every matching row."""
    if ranges is None:
        return conn.execute(select + _from(table, where) + " ORDER BY f.rowid DESC"
                            + ("" if cap is None else f" LIMIT {int(cap)}"), (expr, *params)).fetchall()
    out: list = []
    sql = select + _from(table, where + " AND f.rowid BETWEEN ? AND ?") + " ORDER BY f.rowid DESC"
    for lo, hi in reversed(ranges):
        if cap is not None and len(out) >= cap:
            break
        out += conn.execute(sql, (expr, *params, lo, hi)).fetchall()
    return out[:cap]


def _candidates(conn: sqlite3.Connection, table: str, expr: str, where: str, params: list,
                limit: int | None, bridge: bool = False,
                ranges: list[tuple[int, int]] | None = None) -> list[tuple[int, int, int | None, float]]:
    """(transcript, seq, segment id, bm25) of the matching rows, best first; a bridge row
    stands for its first segment (the padding reads the next). With a `limit` (a search that
    reads the best only), the best of the newest COUNT_CAP + 1 rows: never a pass over all."""
    if where or bridge:
        rows = _newest(conn, f"SELECT s.transcript, s.seq, s.id, bm25({table}) AS score", table, expr, where,
                       params, ranges, None if limit is None else COUNT_CAP + 1)
        rows = sorted(rows, key=lambda r: (r[3], r[2]))[:limit]
    else:
        newest = "" if limit is None else f" ORDER BY f.rowid DESC LIMIT {COUNT_CAP + 1}"
        ranked = conn.execute(f"SELECT f.rowid, bm25({table}) FROM {table} f WHERE {table} MATCH ?"
                              + newest, (expr,)).fetchall()
        ranked = sorted(ranked, key=lambda r: (r[1], r[0]))[:limit]
        pos = {}
        for test, args in in_batches(conn, [r[0] for r in ranked]):
            pos.update({r[0]: (r[1], r[2]) for r in conn.execute(
                "SELECT s.id, s.transcript, s.seq FROM segments s JOIN transcripts t"
                f" ON t.id = s.transcript AND t.complete WHERE s.id {test}", args)})
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


FULL_COUNT_LIMIT = 20_000   # above this many matching segments a search is not sorted by date


def _per_video(conn: sqlite3.Connection, expr: str, where: str, params: list,
               found: list, rows: int) -> dict[str, int]:
    """Matching segments per video (a common word, whose mentions were not all read): for all
    videos when they are few, else for the videos of the mentions read."""
    if rows <= COUNT_CAP:
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
