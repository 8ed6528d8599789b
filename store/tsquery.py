"""The query tree compiled to PostgreSQL `tsquery` over `tsvector`s of Dalel's own analysed
words (the cluster backend's candidates' filter, as `fts5.py` is SQLite's).

The index holds each segment's indexed forms with explicit positions (`tsvector_literal`:
'захват':1 'власть':2), never PostgreSQL's own stemming, so a word means in PostgreSQL exactly
what it means in SQLite: each word is the OR of its indexed forms (`Plan`), a phrase is
`<->` of them — an exact phrase `<->` of its word pairs ('захват власть', which the index
holds beside the words: `tsvector_literal`) —, a prefix `:*`, an excluded word `!`. Like
FTS5's expression, a tsquery only has to find every row that may hold a mention — `match.py`
decides on the words themselves — so words close together (NEAR, words side by side) are asked
for with `&`, a superset. A bridge row (the words on both sides of a segment boundary with the
boundary token between them) is asked for with the same expression or, for a query of phrases
only, with each phrase split at every place the boundary may fall.
"""
from __future__ import annotations

from collections import Counter
from itertools import islice, product

from .dialect import in_batches, lexeme, pair, tsvector_literal
from .filters import SearchOptions, video_spans
from .match import Plan
from .phrases import boundary_splits, phrase_terms
from .fts5 import COUNT_CAP, Candidates, Seed, sampled
from .search import BACKENDS
from .query import Node, Or, Term
from .text import BOUNDARY

__all__ = ["PostgresCandidates", "compile_crossing", "compile_segments", "tsvector_literal"]

MAX_COMBINATIONS = 64
NOTHING = "'" + BOUNDARY * 2 + "'"      # a lexeme never indexed: a word with no indexed form


def _word(plan: Plan, term: Term, i: int, approximate: bool) -> str:
    spec = plan.specs[term][i]
    if spec.prefix is not None:
        starts = [lexeme(spec.prefix) + ":*", *map(lexeme, sorted(spec.prefix_stems))]
        return starts[0] if len(starts) == 1 else "(" + " | ".join(starts) + ")"
    alts = plan.fts_alternatives(spec, approximate or term.fuzzy)
    if not alts:
        return NOTHING
    return lexeme(alts[0]) if len(alts) == 1 else "(" + " | ".join(lexeme(a) for a in alts) + ")"


def _pairs(plan: Plan, term: Term) -> str | None:
    """An exact phrase as its neighbouring pairs, each the OR of its words' forms paired:
    'a b' <-> 'b c' holds exactly where 'a' <-> 'b' <-> 'c' does (a position holds one
    form), but GIN answers it from the pairs' own short lists, where the words' lists meet in
    every row holding both and each such row is read to check their positions. None: the
    phrase is asked word by word (a single word, a prefix, a word with no indexed form, or
    too many combinations of forms)."""
    forms = []
    for spec in plan.specs[term]:
        alts = plan.fts_alternatives(spec, False)
        if spec.prefix is not None or not alts:
            return None
        forms.append(alts)
    return _pair_chain(forms)


def _pair_chain(forms: list[list[str]]) -> str | None:
    """Words given as the forms each may take, as the chain of their neighbouring pairs
    ('a b' <-> 'b c'); None: fewer than two words, or too many pairs of forms."""
    links = []
    for first, second in zip(forms, forms[1:]):
        if len(first) * len(second) > MAX_COMBINATIONS:
            return None
        pairs = [lexeme(pair(a, b)) for a in first for b in second]
        links.append(pairs[0] if len(pairs) == 1 else "(" + " | ".join(pairs) + ")")
    return "(" + " <-> ".join(links) + ")" if links else None


def _term(plan: Plan, term: Term, approximate: bool) -> str:
    loose = approximate or term.fuzzy      # near spellings allow a word inserted inside a phrase
    if not loose and (pairs := _pairs(plan, term)) is not None:
        return pairs
    words = [_word(plan, term, i, approximate) for i in range(len(term.words))]
    expr = "(" + (" & " if loose else " <-> ").join(words) + ")"
    if approximate and plan.regrouped.get(term):   # a word split in two, or two joined
        expr = "(" + " | ".join([expr, *("(" + " <-> ".join(lexeme(w) for w in g) + ")"
                                         for g in plan.regrouped[term])]) + ")"
    return expr


def _node(plan: Plan, node: Node, approximate: bool) -> str:
    if isinstance(node, Term):
        return _term(plan, node, approximate)
    joiner = " | " if isinstance(node, Or) else " & "
    return "(" + joiner.join(_node(plan, item, approximate) for item in node.items) + ")"


def _exclusions(plan: Plan) -> str:
    return "".join(f" & !{_node(plan, n, False)}" for n in plan.query.excluded)


def compile_segments(plan: Plan, approximate: bool) -> str:
    """The tsquery for segment rows."""
    return _node(plan, plan.query.root, approximate) + _exclusions(plan)


def compile_crossing(plan: Plan, approximate: bool) -> str | None:
    """For a query of exact phrases only: the tsquery that matches a bridge row only where a
    phrase crosses its boundary ('a ᛝ' <-> 'ᛝ b': the pairs of 'a' <-> 'ᛝ' <-> 'b', which every
    bridge row's boundary token would otherwise join to each row holding the words). None
    otherwise."""
    terms = phrase_terms(plan.query, approximate)
    if terms is None:
        return None
    out = []
    for term in terms:
        per_word = [plan.fts_alternatives(spec, False) for spec in plan.specs[term]]
        if any(not alts for alts in per_word):
            continue
        combos = list(islice(product(*per_word), MAX_COMBINATIONS + 1))
        if len(combos) > MAX_COMBINATIONS:
            return None
        for stems in combos:
            out += [chain for split in boundary_splits(stems) if (chain := _pair_chain([[w] for w in split]))]
    if not out:
        return None
    return "(" + " | ".join(dict.fromkeys(out)) + ")" + _exclusions(plan)


# GIN (store/pg/schema.py). The RUM index (postgresql-15-rum 1.3.13, Debian's) ranked a common
# word's top 50 from the index, but its backend died of a segmentation fault within seconds of 8
# concurrent searching clients on 1M segments here (sequentially it ran): not an index to hold
# evidence searches.


class PostgresCandidates(Candidates):
    """Candidate rows from a cluster's index (`segments_tsv`, `bridges_tsv`: store/pg/schema.py),
    asked with the same plan compiled to tsquery; ranked by ts_rank (a common word's among its newest
    COUNT_CAP matching rows, as FTS5's among its). The matcher then reads the
    store. `pg` is the psycopg connection, `conn` the store's (the same database)."""

    def __init__(self, pg, conn):
        super().__init__(conn)
        self.pg = pg
        # each expression's matching rows read per video pk, and the lowest row id read when
        # they are only the newest (None: every matching row was read)
        self._per: dict[str, tuple[int | None, dict[int, int]]] = {}
        self._asked: dict[str, tuple[str, list]] = {}       # each expression's filters (SQL, arguments)
        # the current search's narrow filter's matching rows (`narrow_ranges`), per table and expression
        self._read: dict[tuple[str, str], list[tuple[int, int, float]]] = {}

    def _rows(self, table: str, expr: str, where: str, params: list, newest: bool, first: bool = False,
              ranges: list[tuple[int, int]] | None = None) -> list[tuple[int, int, float]]:
        """(id, video pk, -ts_rank) of the matching rows: all; the newest COUNT_CAP + 1 (a
        common word's found walking the primary key backwards, never a pass over every match);
        or, `first`, any COUNT_CAP + 1 of them (all when there are no more). With a narrow
        filter's `ranges`, the rows in them."""
        if ranges is not None:     # a narrow filter: its videos' rows read once, newest first, a
            # range at a time through the primary key (OFFSET 0 keeps each range apart: joined, the
            # planner scanned the whole table; ts_match_vq is `@@` as a function, no index answers it)
            every = self._read.get((table, expr))
            if every is None:
                every = self._read[table, expr] = self.pg.execute(
                    "SELECT x.* FROM unnest(CAST(%s AS bigint[]), CAST(%s AS bigint[])) r(lo, hi),"
                    f" CAST(%s AS tsquery) q, LATERAL (SELECT id, video, -ts_rank(tsv, q) FROM {table}"
                    f" WHERE id BETWEEN r.lo AND r.hi AND ts_match_vq(tsv, q){where} OFFSET 0) x ORDER BY 1 DESC",
                    ([lo for lo, _ in ranges], [hi for _, hi in ranges], expr, *params)).fetchall()
            return every[:COUNT_CAP + 1] if newest or first else every
        if newest and table == "segments_tsv":
            return self._newest(expr, where, params)
        cap = f" ORDER BY id DESC LIMIT {COUNT_CAP + 1}" if newest else f" LIMIT {COUNT_CAP + 1}" if first else ""
        return self.pg.execute(f"SELECT id, video, -ts_rank(tsv, q) FROM {table}, CAST(%s AS tsquery) q"
                               f" WHERE tsv @@ q{where}{cap}", (expr, *params)).fetchall()

    def _newest(self, expr: str, where: str, params: list) -> list[tuple[int, int, float]]:
        """The newest COUNT_CAP + 1 matching segment rows, read a partition at a time (store/pg/
        schema.py, step 5), newest first — the planner then takes the cheaper way within each:
        walking it backwards for a common word, or reading its matches through its own GIN
        index and sorting them (before, a common phrase's 60,000 matches were all read, or 10M
        rows walked backwards for them). When the rows found so far say the older partitions
        hold fewer matches than are still wanted (a rare word), those are asked at once. The
        bounds are written into the statement, never prepared: planned for bounds it does not
        know, the planner intersected the GIN index with the primary key's whole range."""
        listed = self.pg.execute("SELECT lo, hi, (SELECT max(id) FROM segments_tsv) FROM segments_tsv_parts"
                                 " ORDER BY lo DESC").fetchall()
        top = (listed[0][2] if listed else None) or 0
        parts = [(lo, hi) for lo, hi, _ in listed if lo <= top]
        rows: list[tuple[int, int, float]] = []
        k = 0
        while k < len(parts) and len(rows) <= COUNT_CAP:
            # the first statement reads at least a partition's span of ids (the newest one may
            # have just begun); then the rows found over the ids read say how many ids those
            # still wanted take: all the older partitions' or more (a rare word) → all at once
            wanted, span, j = COUNT_CAP + 1 - len(rows), top + 1 - parts[k][1], k
            if not k:
                while j + 1 < len(parts) and top + 1 - parts[j][0] < parts[j][1] - parts[j][0]:
                    j += 1
            elif not rows or wanted * span / len(rows) >= parts[k][1] - parts[-1][0]:
                j = len(parts) - 1
            rows += self.pg.execute(
                "SELECT id, video, -ts_rank(tsv, q) FROM segments_tsv, CAST(%s AS tsquery) q"
                f" WHERE id >= {int(parts[j][0])} AND id < {int(parts[k][1])} AND tsv @@ q{where}"
                f" ORDER BY id DESC LIMIT {wanted}", (expr, *params), prepare=False).fetchall()
            k = j + 1
        return rows

    def _count(self, expr: str, where: str, params: list, cap: int | None = COUNT_CAP + 1,
               ranges: list[tuple[int, int]] | None = None) -> int:
        """Matching segment rows, counted up to `cap` (the planner then takes the cheapest way
        to the first `cap` of them: no order is asked)."""
        if ranges is not None:
            every = len(self._rows("segments_tsv", expr, where, params, newest=False, ranges=ranges))
            return every if cap is None else min(every, cap)
        inner = f"SELECT 1 FROM segments_tsv WHERE tsv @@ CAST(%s AS tsquery){where}"
        if cap is not None:
            inner += f" LIMIT {int(cap)}"
        return self.pg.execute(f"SELECT count(*) FROM ({inner}) x", (expr, *params)).fetchone()[0]

    def _filters(self, opts: SearchOptions | None) -> tuple[str, list[object], list[tuple[int, int]] | None]:
        """The search's filters on the index rows' columns: the videos a channel, a video id or
        broadcast dates allow (asked of the store, as FTS5's search asks it), the language, the
        transcript source, the transcript; and, when those videos are few, the id ranges that
        hold their segments (`narrow_ranges`)."""
        if opts is None:
            return "", [], None
        sql = ""
        params: list[object] = []
        videos, ranges = self.allowed_videos(opts)
        if videos is not None:
            sql, params = " AND video = ANY(%s)", [videos]
        if opts.lang:
            sql, params = sql + " AND lang = %s", params + [opts.lang]
        if opts.source == "speech":
            sql += " AND source != 'metadata'"
        elif opts.source:
            sql, params = sql + " AND source = %s", params + [opts.source]
        if opts.transcript is not None:
            sql, params = sql + " AND transcript = %s", params + [opts.transcript]
        return sql, params, ranges

    def _seeds(self, rows: list[tuple[int, float]], bridge: bool) -> list[Seed]:
        where: dict[int, tuple[int, int]] = {}
        for test, args in in_batches(self.conn, [r[0] for r in rows]):
            where.update({sid: (t, seq) for sid, t, seq in self.conn.execute(
                "SELECT s.id, s.transcript, s.seq FROM segments s JOIN transcripts t ON t.id = s.transcript"
                f" AND t.complete WHERE s.id {test}", args)})
        seeds: list[Seed] = [(*where[sid], sid, score) for sid, score in rows if sid in where]
        return seeds + [(t, seq + 1, None, score) for t, seq, _, score in seeds] if bridge else seeds

    def per_video(self, expr: str, where: str, params: list, found: list, rows: int) -> dict[str, int]:
        """Matching segment rows per video, by platform id: as counted in `find` when every
        matching row was read, else (COUNT_CAP passed) for the videos of the mentions read. Of
        those, a video whose segments all lie at or above the lowest row read is counted from
        the rows read (they hold every matching row above it); only the others are counted
        anew, each in its id range."""
        lowest, read = self._per[expr]
        per = read
        if lowest is not None:
            bounds = video_spans(self.conn, sorted({m.video for m in found}))
            per = {v: read.get(v, 0) for v, lo, _ in bounds if lo >= lowest}
            older = [(v, lo, hi) for v, lo, hi in bounds if lo < lowest]
            if older:   # each in one query: ts_match_vq is `@@` called as a function, which no
                # index answers — the planner would otherwise walk the GIN index's millions of
                # matches once per video, not the video's id range
                where, params = self._asked[expr]
                per |= dict(self.pg.execute(
                    "SELECT w.v, (SELECT count(*) FROM segments_tsv WHERE ts_match_vq(tsv, CAST(%s AS tsquery))"
                    f" AND video = w.v AND id BETWEEN w.lo AND w.hi{where}) FROM unnest(CAST(%s AS bigint[]),"
                    " CAST(%s AS bigint[]), CAST(%s AS bigint[])) w(v, lo, hi)",
                    (expr, *params, *map(list, zip(*older)))).fetchall())
        counts: dict[str, int] = {}
        for test, args in in_batches(self.conn, list(per)):
            for pk, vid in self.conn.execute(f"SELECT id, video_id FROM videos WHERE id {test}", args):
                counts[vid] = per[pk]
        return counts

    def find(self, plan, approximate, where, params, limit_for, opts=None):
        expr = compile_segments(plan, approximate)
        sql, args, ranges = self._filters(opts)
        self._asked[expr] = sql, args
        self._read = {}
        # one pass over the matching rows (the newest COUNT_CAP + 1 unless every one is to be
        # read) counts them, per video, and ranks them. Filtered: the rows let through, asked
        # unordered (through the index: walking the newest rows backwards, as the planner would
        # for a word it counts as common, reads every one of its rows when the filter lets none
        # through; a narrow filter's own rows are read instead) — all of them, unless there are
        # more than COUNT_CAP; then, as unfiltered, the newest
        found = self._rows("segments_tsv", expr, sql, args, newest=False, first=True, ranges=ranges) if sql else []
        if not sql or len(found) > COUNT_CAP:
            found = self._rows("segments_tsv", expr, sql, args, newest=True, ranges=ranges)
        limit = limit_for(len(found))
        if len(found) > COUNT_CAP and limit is None:    # a report, a sort by date: every row
            limit_for(self._count(expr, sql, args, None, ranges))   # (refuses too many to sort, unread)
            found = self._rows("segments_tsv", expr, sql, args, newest=False, ranges=ranges)
            limit = limit_for(len(found))
        every = len(found) <= COUNT_CAP or limit is None
        self._per[expr] = (None if every else min(i for i, _, _ in found), dict(Counter(v for _, v, _ in found)))
        seeds = self._seeds(_best(found, limit), bridge=False)
        if plan.query.multiword and not sampled(len(found), limit):
            crossing = compile_crossing(plan, approximate)
            bridges = self._rows("bridges_tsv", crossing or expr, sql, args, newest=limit is not None, ranges=ranges)
            seeds += self._seeds(_best(bridges, limit), bridge=True)
        return len(found), seeds, limit, expr


def _best(rows: list[tuple[int, int, float]], limit: int | None) -> list[tuple[int, float]]:
    """The best-ranked rows (ts_rank, then id) as (id, score)."""
    return [(i, score) for i, _, score in sorted(rows, key=lambda r: (r[2], r[0]))[:limit]]


# The store's search on a cluster's PostgreSQL asks its own index (segments_tsv, bridges_tsv:
# store/pg/schema.py), the matcher reading the same database.
BACKENDS["postgresql"] = lambda store: PostgresCandidates(store.conn.raw, store.conn)
