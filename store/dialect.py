"""The two SQL engines the store runs on, and what differs between them that the repositories
must know: which one a connection speaks (`dialect`), and PostgreSQL's tsvector form of indexed
words (`tsvector_literal`). The repositories' SQL is otherwise written once, in the dialect both
engines accept: `?` placeholders (translated for psycopg by `store/pg/conn.py`), upserts as
`ON CONFLICT`, counts as `count(*) FILTER (WHERE …)`, booleans as TRUE/FALSE, and the columns
named like SQL words quoted ("end", "user"). A list of values to look up is passed as the
engine takes it best (`in_batches`, `pairs_batches`): SQLite's `?` each, PostgreSQL's one array."""
from __future__ import annotations

from typing import Iterator, Sequence

__all__ = ["dialect", "in_batches", "lexeme", "pair", "pairs_batches", "tsvector_literal"]

BATCH = 500     # values in one SQLite statement (its `?`s)


def dialect(conn: object) -> str:
    """"postgresql" for the cluster's connection (`store/pg/conn.py`), else "sqlite"."""
    return getattr(conn, "dialect", "sqlite")


def in_batches(conn: object, values: Sequence[object]) -> Iterator[tuple[str, list]]:
    """The test "is one of `values`" as SQL to put after a column, with its arguments, in as
    many statements as the engine needs (none for no values): `IN (?, ?, …)` for BATCH values
    at a time in SQLite; `= ANY(?)` for all of them in PostgreSQL, one array argument, so the
    statement's text is the same whatever their number (psycopg and the server parse and plan
    it once, not once per list: a search's hundreds of segments cost a millisecond or more each
    time)."""
    if dialect(conn) == "postgresql":
        if values:
            yield "= ANY(?)", [list(values)]
        return
    for i in range(0, len(values), BATCH):
        part = list(values[i:i + BATCH])
        yield f"IN ({','.join('?' * len(part))})", part


def pairs_batches(conn: object, pairs: Sequence[tuple[int, int]]) -> Iterator[tuple[str, list]]:
    """A two-column table of integer pairs, as a query to name in a WITH (its columns named
    there), with its arguments, in as many statements as the engine needs (see `in_batches`)."""
    if dialect(conn) == "postgresql":
        if pairs:
            yield ("SELECT * FROM unnest(CAST(? AS bigint[]), CAST(? AS bigint[]))",
                   [[a for a, _ in pairs], [b for _, b in pairs]])
        return
    for i in range(0, len(pairs), BATCH):
        part = pairs[i:i + BATCH]
        yield "VALUES " + ",".join(["(?, ?)"] * len(part)), [x for pair in part for x in pair]


def lexeme(token: str) -> str:
    """A lexeme as tsquery and tsvector literals quote it."""
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def pair(first: str, second: str) -> str:
    """Two neighbouring indexed forms as one lexeme (an indexed form holds no space)."""
    return first + " " + second


def tsvector_literal(terms: list[str]) -> str:
    """A segment's (or bridge's) indexed forms as a tsvector with explicit positions, 1-based
    (positions above 16,383 are clamped by PostgreSQL; a segment is a few dozen words), and
    each two neighbours as one lexeme at the first one's position ('захват власть':1): an
    exact phrase is asked as its pairs (`store/tsquery.py`), so PostgreSQL reads the rows
    where its words stand side by side, not every row that holds them all."""
    positions: dict[str, list[int]] = {}
    for i, term in enumerate(terms, start=1):
        positions.setdefault(term, []).append(i)
    for i in range(1, len(terms)):
        positions.setdefault(pair(terms[i - 1], terms[i]), []).append(i)
    return " ".join(f"{lexeme(t)}:{','.join(map(str, p[:256]))}" for t, p in positions.items())
