"""The search index: each segment's analysed words in FTS5, the bridges across segment
boundaries, the vocabulary of spoken forms (with their near-spelling keys), and its
rebuild when the analyser changes."""
from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from .dialect import dialect, in_batches, tsvector_literal
from .errors import QueryError
from .text import ANALYSER_VERSION, BOUNDARY, BRIDGE, analyse, fold, normalise
from .text.fuzzy import max_edits, within

if TYPE_CHECKING:
    from .db import Store


def index_segments(conn: sqlite3.Connection, segments: list[tuple[int, str, str | None]],
                   prev: tuple[int, list[str]] | None, bridges: bool) -> tuple[int, list[str]] | None:
    """Index consecutive segments of one transcript, given as (id, text, language), and the
    bridges between them (from `prev`, the one before the first: its id and indexed words), a
    statement per table for them all; returns the last one's (id, indexed words)."""
    own_rows, vocabulary, bridge_rows = [], set(), []
    for seg_id, text, lang in segments:
        tokens = analyse(text, lang)
        own = [t.stem for t in tokens]
        own_rows.append((seg_id, own))
        vocabulary |= {(w, t.stem, fold(w)) for t in tokens for w in [normalise(t.word)]}
        if prev is not None and bridges:
            before = prev[1][-BRIDGE:]
            bridge_rows.append((prev[0], before + [BOUNDARY] + own[:BRIDGE], len(before)))
        prev = (seg_id, own)
    if dialect(conn) == "postgresql":
        index_room(conn, max((i for i, _ in own_rows), default=0))
        conn.executemany("UPDATE segments SET terms = ? WHERE id = ?", [(" ".join(o), i) for i, o in own_rows])
        conn.executemany("INSERT INTO segments_tsv (id, video, transcript, lang, source, tsv)"
                         " SELECT s.id, s.video, s.transcript, s.lang, t.source, CAST(? AS tsvector) FROM segments s"
                         " JOIN transcripts t ON t.id = s.transcript WHERE s.id = ?",
                         [(tsvector_literal(o), i) for i, o in own_rows])
        conn.executemany("INSERT INTO bridges (id, terms, split, tsv) VALUES (?, ?, ?, CAST(? AS tsvector))",
                         [(i, " ".join(t), k, tsvector_literal(t)) for i, t, k in bridge_rows])
    else:
        conn.executemany("INSERT INTO segments_fts (rowid, terms) VALUES (?, ?)",
                         [(i, " ".join(o)) for i, o in own_rows])
        conn.executemany("INSERT INTO bridges_fts (rowid, terms, split) VALUES (?, ?, ?)",
                         [(i, " ".join(t), k) for i, t, k in bridge_rows])
    known: set[str] = set()
    for test, args in in_batches(conn, sorted({w for w, _, _ in vocabulary})):
        known |= {r[0] for r in conn.execute(f"SELECT word FROM vocabulary WHERE word {test}", args)}
    new = sorted(v for v in vocabulary if v[0] not in known)
    conn.executemany("INSERT INTO vocabulary (word, stem, fold) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", new)
    conn.executemany("INSERT INTO near_keys (kind, del, key) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                     sorted({(kind, d, key) for _, stem, folded in new for kind, key in (("f", folded), ("s", stem))
                             for d in near_keys(key)}))
    return prev


def near_keys(key: str) -> set[str]:
    """A key's near keys (the `near_keys` table): itself, from 4 letters, and from 5 each way of
    deleting one letter — two keys one edit apart (a letter changed, added or dropped) always
    share one, so the forms one edit from a word (of 5 or more letters) are the vocabulary's
    rows under its own near keys, looked up, not scanned for among every form beginning with
    its letter (2M forms: ~100 ms a word, up to 0.8 s)."""
    if len(key) < 4:
        return set()
    return {key} | ({key[:i] + key[i + 1:] for i in range(len(key))} if len(key) >= 5 else set())


def index_room(conn: sqlite3.Connection, top: int) -> None:
    """PostgreSQL: make sure the index's partitions (store/pg/schema.py, step 5) reach a whole
    partition past segment id `top`. Called when segment ids are taken, before the transaction
    writes any segment (creating a partition locks the segments table it refers to: two writers
    that had each written segments would wait for each other), and again before the index is
    written (a no-op then, unless the ids came otherwise: an import, a rebuild)."""
    if conn.execute("SELECT ? >= coalesce(max(hi), 0) - (SELECT CAST(value AS bigint) FROM meta"
                    " WHERE key = 'index_partition_ids') FROM segments_tsv_parts", (top,)).fetchone()[0]:
        conn.execute("SELECT dalel_index_partitions(?)", (top,))


MAX_PREFIX_STEMS = 200


def prefix_stems(conn: sqlite3.Connection, prefix: str) -> frozenset[str]:
    """The indexed forms of the spoken words that begin with `prefix` but whose own indexed form
    does not (адамд* → адам, the form of «адамды», «адамдар»): a prefix is asked of the word as
    spoken as well as of its indexed form. Too many is a QueryError, never a silent cut."""
    rows = conn.execute("SELECT DISTINCT stem FROM vocabulary WHERE word >= ? AND word < ? AND substr(stem, 1, ?) != ?"
                        " LIMIT ?", (prefix, prefix + "\U0010ffff", len(prefix), prefix,
                                     MAX_PREFIX_STEMS + 1)).fetchall()
    if len(rows) > MAX_PREFIX_STEMS:
        raise QueryError(f"{prefix}*: too many different words begin with it; give more letters")
    return frozenset(r[0] for r in rows)


def similar(conn: sqlite3.Connection, word: str, stems: frozenset[str]) -> dict[str, str]:
    """Spoken forms (normalised) that may be `word` misheard, with their stems: same folded
    key, or the key with another ending (up to two more letters; keys of 4 or more), or one
    edit from it (5 or more, same first letter of the key), or a stem one edit from one of
    `stems` (a misheard ending). Forms whose stem is in `stems` are exact
    matches, not possible ones, and are left out."""
    key = fold(word)
    if len(key) < 3:
        return {}
    found = dict(conn.execute("SELECT word, stem FROM vocabulary WHERE fold = ?", (key,)).fetchall())
    if len(key) >= 4:   # another ending: эфир~ finds «афере»
        rows = conn.execute("SELECT word, stem, fold FROM vocabulary WHERE fold > ? AND fold < ?"
                            " AND length(fold) <= ?", (key, key + "\U0010ffff", len(key) + 2)).fetchall()
        found |= {w: s for w, s, _ in rows}
    if limit := max_edits(key):     # (max_edits: 1, from 5 letters — what near_keys serves)
        found |= {w: s for w, s, f in _near(conn, "f", key) if f[0] == key[0] and within(key, f, limit)}
    for stem in stems:
        if len(stem) >= 5:
            found |= {w: s for w, s, _ in _near(conn, "s", stem) if s[0] == stem[0] and within(stem, s, 1)}
    return {w: s for w, s in found.items() if s not in stems}


def _near(conn: sqlite3.Connection, kind: str, key: str) -> list[tuple[str, str, str]]:
    """(word, stem, fold) of the vocabulary's forms whose folded form (kind 'f') or stem ('s')
    shares a near key with `key`: every one within one edit of it, and a few more."""
    keys = sorted(near_keys(key))
    column = "fold" if kind == "f" else "stem"
    return conn.execute(
        f"SELECT DISTINCT v.word, v.stem, v.fold FROM near_keys n JOIN vocabulary v ON v.{column} = n.key"
        f" WHERE n.kind = ? AND n.del IN ({', '.join('?' * len(keys))})", (kind, *keys)).fetchall()


class Repository:
    """One part of the archive's tables, reached through a `Store`'s connection."""

    def __init__(self, store: Store):
        self.store = store


class Index(Repository):
    def analyser(self) -> str | None:
        """The analyser version the search index was built with (None: a new archive)."""
        row = self.store.conn.execute("SELECT value FROM meta WHERE key = 'analyser'").fetchone()
        return row[0] if row else None

    def rebuild(self, progress=None) -> int:
        """Rebuild the full-text index, bridges and vocabulary from the stored segments."""
        with self.store.transaction() as conn:
            if self.store.dialect == "postgresql":   # (the index is in segments_tsv and bridges)
                conn.execute("UPDATE segments SET terms = ''")
                conn.execute("DELETE FROM segments_tsv")
                conn.execute("DELETE FROM bridges")
            for table in ("segments_fts", "bridges_fts") if self.store.dialect == "sqlite" else ():
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM vocabulary")
            conn.execute("DELETE FROM near_keys")
        done = 0
        transcripts = self.store.conn.execute("SELECT id, source FROM transcripts ORDER BY id").fetchall()
        for tid, source in transcripts:
            with self.store.transaction() as conn:
                rows = conn.execute("SELECT id, text, lang FROM segments WHERE transcript = ? ORDER BY seq",
                                    (tid,)).fetchall()
                index_segments(conn, [tuple(r) for r in rows], None, source != "metadata")
                done += len(rows)
            if progress:
                progress(done)
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('analyser', ?)"
                         " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (ANALYSER_VERSION,))
        return done

    def spoken_forms(self, stems: list[str]) -> list[str]:
        """Every spoken form the index has seen under one of these indexed forms."""
        if not stems:
            return []
        marks = ",".join("?" * len(stems))
        return sorted(r[0] for r in self.store.conn.execute(
            f"SELECT word FROM vocabulary WHERE stem IN ({marks})", stems))
