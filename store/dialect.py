"""The two SQL engines the store runs on, and what differs between them that the repositories
must know: which one a connection speaks (`dialect`), and PostgreSQL's tsvector form of indexed
words (`tsvector_literal`). The repositories' SQL is otherwise written once, in the dialect both
engines accept: `?` placeholders (translated for psycopg by `store/pg/conn.py`), upserts as
`ON CONFLICT`, counts as `count(*) FILTER (WHERE …)`, booleans as TRUE/FALSE, and the columns
named like SQL words quoted ("end", "user")."""
from __future__ import annotations

__all__ = ["dialect", "lexeme", "pair", "tsvector_literal"]


def dialect(conn: object) -> str:
    """"postgresql" for the cluster's connection (`store/pg/conn.py`), else "sqlite"."""
    return getattr(conn, "dialect", "sqlite")


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
