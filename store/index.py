"""The search index: each segment's analysed words in FTS5, the bridges across segment
boundaries, the vocabulary of spoken forms (with their near-spelling keys), and its
rebuild when the analyser changes."""
from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from .text import ANALYSER_VERSION, BOUNDARY, BRIDGE, analyse, fold, normalise

if TYPE_CHECKING:
    from .db import Store


def index_segment(conn: sqlite3.Connection, seg_id: int, text: str, lang: str | None,
                   prev: tuple[int, list[str]] | None, bridges: bool) -> tuple[int, list[str]]:
    """Index one segment (and the bridge from the one before it, given as its id and
    indexed words); returns (id, indexed words) to pass as `prev` for the next one."""
    tokens = analyse(text, lang)
    own = [t.stem for t in tokens]
    conn.execute("INSERT INTO segments_fts (rowid, terms) VALUES (?, ?)", (seg_id, " ".join(own)))
    conn.executemany("INSERT OR IGNORE INTO vocabulary (word, stem, fold) VALUES (?, ?, ?)",
                     {(w, t.stem, fold(w)) for t in tokens for w in [normalise(t.word)]})
    if prev is not None and bridges:
        before = prev[1][-BRIDGE:]
        conn.execute("INSERT INTO bridges_fts (rowid, terms, split) VALUES (?, ?, ?)",
                     (prev[0], " ".join(before + [BOUNDARY] + own[:BRIDGE]), len(before)))
    return seg_id, own


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
            for table in ("segments_fts", "bridges_fts"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM vocabulary")
        done = 0
        transcripts = self.store.conn.execute("SELECT id, source FROM transcripts ORDER BY id").fetchall()
        for tid, source in transcripts:
            with self.store.transaction() as conn:
                prev = None
                for seg_id, text, lang in conn.execute(
                        "SELECT id, text, lang FROM segments WHERE transcript = ? ORDER BY seq", (tid,)).fetchall():
                    prev = index_segment(conn, seg_id, text, lang, prev, source != "metadata")
                    done += 1
            if progress:
                progress(done)
        with self.store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('analyser', ?)",
                         (ANALYSER_VERSION,))
        return done

    def spoken_forms(self, stems: list[str]) -> list[str]:
        """Every spoken form the index has seen under one of these indexed forms."""
        if not stems:
            return []
        marks = ",".join("?" * len(stems))
        return sorted(r[0] for r in self.store.conn.execute(
            f"SELECT word FROM vocabulary WHERE stem IN ({marks})", stems))
