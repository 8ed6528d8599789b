"""Transcripts: speech recognised (resumable, window by window, with its coverage),
subtitles, titles and imported readings, with their segments and words."""
from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any, Iterable

from .clock import utcnow
from .custody import append as custody_append
from .dialect import dialect
from .errors import NotFound
from .index import index_room, index_segments
from .records import SegmentRecord, Video
from .state import VideoState, move
from .text import index_terms
from .videos import record_event

if TYPE_CHECKING:
    from .db import Store


def coverage_summary(windows: list[dict]) -> dict:
    """A transcript's coverage from its windows': speech seconds, seconds within words, the
    share covered, the stretches decoded again, those still without words, and the audio
    that could not be decoded (damaged or missing: nothing there was heard)."""
    speech = sum(w["speech_s"] for w in windows)
    covered = sum(w["covered_s"] for w in windows)
    empty = [g for w in windows for g in w["empty"]]
    lost = [g for w in windows for g in w.get("undecodable", [])]   # (none in transcripts made before the check)
    return {"speech_s": round(speech, 1), "covered_s": round(covered, 1),
            "covered_share": round(covered / speech, 4) if speech else 1.0,
            "redecoded": sum(len(w["redecoded"]) for w in windows),
            "uncovered_s": round(sum(g[-1] - g[-2] for g in empty), 1), "uncovered": empty,
            "undecodable_s": round(sum(g[-1] - g[-2] for g in lost), 1), "undecodable": lost}


class Repository:
    """One part of the archive's tables, reached through a `Store`'s connection."""

    def __init__(self, store: Store):
        self.store = store


class Transcripts(Repository):
    def begin(self, video: Video, *, source: str, model: str | None,
                         settings: dict[str, Any], language: str | None,
                         language_probability: float | None,
                         audio_seconds: float | None) -> int:
        """Start a transcript, dropping an unfinished one of the same source (a crash's remains)."""
        with self.store.transaction() as conn:
            return self._begin(conn, video, source, model, settings, language,
                               language_probability, audio_seconds)

    def _begin(self, conn: sqlite3.Connection, video: Video, source: str, model: str | None,
               settings: dict[str, Any], language: str | None,
               language_probability: float | None, audio_seconds: float | None) -> int:
        # Derived transcripts are replaced; imports accumulate (each is another reading).
        self._drop_transcripts(conn, video.id, source,
                               complete_too=source in ("metadata", "subtitles"))
        cur = conn.execute(
            "INSERT INTO transcripts (video, source, model, settings, language,"
            " language_probability, audio_seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (video.id, source, model, json.dumps(settings, sort_keys=True), language,
             language_probability, audio_seconds, utcnow()))
        return int(cur.fetchone()[0])

    def resumable(self, video: Video, source: str, model: str) -> tuple[int, float, int] | None:
        """An unfinished transcript of the same model: (id, checkpoint seconds, next seq).

        Segments after the checkpoint (a window cut short by a crash) are removed first.
        """
        row = self.store.conn.execute(
            "SELECT id, checkpoint FROM transcripts WHERE video = ? AND source = ? AND model = ?"
            " AND NOT complete ORDER BY id DESC LIMIT 1", (video.id, source, model)).fetchone()
        if row is None:
            return None
        tid, checkpoint = row
        with self.store.transaction() as conn:
            late = [r[0] for r in conn.execute(
                "SELECT id FROM segments WHERE transcript = ? AND start >= ?", (tid, checkpoint))]
            sqlite = dialect(conn) == "sqlite"   # (PostgreSQL keeps a segment's index in its row)
            for table in ("segments_fts", "bridges_fts") if sqlite else ():
                conn.executemany(f"DELETE FROM {table} WHERE rowid = ?", [(i,) for i in late])
            conn.executemany("DELETE FROM segments WHERE id = ?", [(i,) for i in late])
            last = conn.execute("SELECT id, seq FROM segments WHERE transcript = ?"
                                " ORDER BY seq DESC LIMIT 1", (tid,)).fetchone()
            if last:  # its bridge led into a removed segment
                conn.execute("DELETE FROM bridges_fts WHERE rowid = ?" if sqlite else
                             "DELETE FROM bridges WHERE id = ?", (last[0],))
        return tid, float(checkpoint), (last[1] + 1 if last else 0)

    def set_checkpoint(self, transcript_id: int, seconds: float, coverage: dict | None = None) -> None:
        """Everything before `seconds` is stored; `coverage` (of the window just finished) is
        added to the transcript's record in the same transaction, so it survives a resume."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE transcripts SET checkpoint = ? WHERE id = ?", (seconds, transcript_id))
            if coverage is not None:
                settings = json.loads(conn.execute("SELECT settings FROM transcripts WHERE id = ?",
                                                   (transcript_id,)).fetchone()[0] or "{}")
                windows = [w for w in settings.get("coverage_windows", []) if w["start"] < coverage["start"]]
                settings["coverage_windows"] = windows + [coverage]
                settings["coverage"] = coverage_summary(settings["coverage_windows"])
                conn.execute("UPDATE transcripts SET settings = ? WHERE id = ?",
                             (json.dumps(settings, sort_keys=True, ensure_ascii=False), transcript_id))

    def add_text(self, video: Video, *, source: str, model: str,
                            segments: list[SegmentRecord], bridges: bool = True) -> int:
        """A whole transcript that needs no long work (title, subtitles, import), in one
        transaction: it is there complete or not at all. Returns its id."""
        with self.store.transaction() as conn:
            langs = {s.lang for s in segments}
            tid = self._begin(conn, video, source, model, {}, langs.pop() if len(langs) == 1 else None,
                              None, None)
            self._add(conn, tid, video, 0, segments, bridges)
            self._finish(conn, tid, video, 0.0)
        return tid

    @staticmethod
    def _drop_transcripts(conn: sqlite3.Connection, video_pk: int, source: str,
                          complete_too: bool = False, keep: int = -1) -> None:
        cond = "" if complete_too else " AND NOT complete"
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM transcripts WHERE video = ? AND source = ? AND id != ?" + cond,
            (video_pk, source, keep))]
        for tid in ids:
            for table in ("segments_fts", "bridges_fts") if dialect(conn) == "sqlite" else ():
                conn.execute(f"DELETE FROM {table} WHERE rowid IN"
                             " (SELECT id FROM segments WHERE transcript = ?)", (tid,))
            conn.execute("DELETE FROM transcripts WHERE id = ?", (tid,))

    def add_segments(self, transcript_id: int, video: Video, first_seq: int,
                     segments: Iterable[SegmentRecord], bridges: bool = True) -> int:
        """Append segments (with their words) and index them; returns how many.

        Each boundary between two segments gets a bridge row (the BRIDGE words on each
        side), so a phrase that crosses Whisper's segment boundary is found (not for
        texts that do not run on, such as a title and a description: `bridges=False`).
        """
        with self.store.transaction() as conn:
            return self._add(conn, transcript_id, video, first_seq, segments, bridges)

    def _add(self, conn: sqlite3.Connection, transcript_id: int, video: Video, first_seq: int,
             segments: Iterable[SegmentRecord], bridges: bool) -> int:
        """The segments, their words and their index rows, a statement per table for them all
        (ids taken first), so a window of a transcript costs a few round trips on PostgreSQL."""
        records = list(segments)
        if not records:
            return 0
        last = conn.execute("SELECT id, text, lang FROM segments WHERE transcript = ? AND seq = ?",
                            (transcript_id, first_seq - 1)).fetchone()
        ids = _new_ids(conn, len(records))
        conn.executemany(
            "INSERT INTO segments (id, transcript, video, seq, start, \"end\", text, lang, probability,"
            " lang_probability) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(pk, transcript_id, video.id, first_seq + n, seg.start, seg.end, seg.text.strip(), seg.lang,
              seg.probability, seg.lang_probability) for n, (pk, seg) in enumerate(zip(ids, records))])
        conn.executemany(
            "INSERT INTO words (segment, position, start, \"end\", word, probability) VALUES (?, ?, ?, ?, ?, ?)",
            [(pk, i, w.start, w.end, w.word.strip(), w.probability)
             for pk, seg in zip(ids, records) for i, w in enumerate(seg.words)])
        index_segments(conn, [(pk, seg.text.strip(), seg.lang) for pk, seg in zip(ids, records)],
                       (last[0], index_terms(last[1], last[2])) if last else None, bridges)
        return len(records)

    def finish(self, transcript_id: int, video: Video, elapsed_seconds: float,
                          notes: dict[str, Any] | None = None) -> None:
        """Mark a transcript complete; its language becomes that of most of its speech, and
        `notes` (e.g. dropped segments) are kept with its settings."""
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT lang, sum(\"end\" - start) AS d, avg(lang_probability) FROM segments"
                " WHERE transcript = ? AND lang IS NOT NULL GROUP BY lang ORDER BY d DESC LIMIT 1",
                (transcript_id,)).fetchone()
            if row:
                conn.execute("UPDATE transcripts SET language = ?, language_probability = ?"
                             " WHERE id = ?", (row[0], row[2], transcript_id))
            if notes:
                settings = json.loads(conn.execute("SELECT settings FROM transcripts WHERE id = ?",
                                                   (transcript_id,)).fetchone()[0] or "{}")
                conn.execute("UPDATE transcripts SET settings = ? WHERE id = ?",
                             (json.dumps(settings | notes, sort_keys=True, ensure_ascii=False),
                              transcript_id))
            replaced = []
            if conn.execute("SELECT source FROM transcripts WHERE id = ?",
                            (transcript_id,)).fetchone()[0] == "asr":
                # A new speech transcript (another model, a re-run) replaces the previous one,
                # now that it is complete; the custody entry names what it replaced.
                replaced = [{"transcript": r[0], "model": r[1]} for r in conn.execute(
                    "SELECT id, model FROM transcripts WHERE video = ? AND source = 'asr' AND complete"
                    " AND id != ?", (video.id, transcript_id))]
                self._drop_transcripts(conn, video.id, "asr", complete_too=True, keep=transcript_id)
            self._finish(conn, transcript_id, video, elapsed_seconds, replaced)

    def _finish(self, conn: sqlite3.Connection, transcript_id: int, video: Video,
                elapsed_seconds: float, replaced: list[dict] | None = None) -> None:
        conn.execute("UPDATE transcripts SET complete = TRUE, elapsed_seconds = ? WHERE id = ?",
                     (elapsed_seconds, transcript_id))
        source = conn.execute("SELECT source FROM transcripts WHERE id = ?",
                              (transcript_id,)).fetchone()[0]
        if source == "asr":   # (a speech transcript of a video never archived, built by hand, moves nothing)
            move(conn, video.id, VideoState.TRANSCRIBED,
                 only_from={VideoState.ARCHIVED, VideoState.TRANSCRIBED, VideoState.FAILED})
        record_event(conn, video, "transcribed" if source == "asr" else f"indexed {source}",
                    f"transcript {transcript_id}")
        if source in ("asr", "import"):
            model, lang, n = conn.execute(
                "SELECT model, language, (SELECT count(*) FROM segments WHERE transcript = t.id)"
                " FROM transcripts t WHERE id = ?", (transcript_id,)).fetchone()
            details = {"transcript": transcript_id, "model": model, "language": lang, "segments": n}
            if replaced:
                details["replaces"] = replaced
            custody_append(conn, video, "transcription" if source == "asr" else "import", details,
                           actor=self.store.actor)

    def sources(self, video: Video) -> list[str]:
        return [r[0] for r in self.store.conn.execute(
            "SELECT DISTINCT source FROM transcripts WHERE video = ? AND complete", (video.id,))]

    def get(self, video: Video, source: str | None = None) -> dict[str, Any]:
        """The latest complete transcript of a video with its segments and words."""
        sql = "SELECT * FROM transcripts WHERE video = ? AND complete"
        params: tuple = (video.id,)
        if source:
            sql, params = sql + " AND source = ?", (video.id, source)
        rows = self.store.rows(sql + " ORDER BY source = 'asr' DESC, id DESC LIMIT 1", params)
        if not rows:
            what = f"no {source} transcript" if source else "no transcript yet"
            raise NotFound(f"video {video.video_id} has {what}; run `dalel transcribe {video.video_id}`")
        t = rows[0]
        t["settings"] = json.loads(t["settings"] or "{}")
        t["segments"] = self.store.rows(
            "SELECT id, seq, start, \"end\", text, lang, probability, lang_probability FROM segments"
            " WHERE transcript = ? ORDER BY seq", (t["id"],))
        words = self.store.rows(
            "SELECT w.segment, w.start, w.end, w.word, w.probability FROM words w"
            " JOIN segments s ON s.id = w.segment WHERE s.transcript = ? ORDER BY w.segment, w.position",
            (t["id"],))
        by_seg: dict[int, list] = {}
        for w in words:
            by_seg.setdefault(w.pop("segment"), []).append(w)
        for s in t["segments"]:
            s["words"] = by_seg.get(s["id"], [])
        return t

    # --- status ------------------------------------------------------------

    def coverage(self, video_ids: list[int] | None = None) -> dict:
        """The coverage of the complete speech transcripts (of these videos), summed."""
        sql = ("SELECT v.video_id, t.settings FROM transcripts t JOIN videos v ON v.id = t.video"
               " WHERE t.complete AND t.source = 'asr'")
        params: list = []
        if video_ids is not None:
            sql += f" AND t.video IN ({','.join('?' * len(video_ids))})"
            params = list(video_ids)
        windows, unmeasured = [], 0
        for vid, settings in self.store.conn.execute(sql, params):
            got = json.loads(settings or "{}").get("coverage_windows")
            if got is None:
                unmeasured += 1
            windows += [w | {"empty": [[vid, a, b] for a, b in w["empty"]],
                             "undecodable": [[vid, a, b] for a, b in w.get("undecodable", [])]} for w in got or []]
        return coverage_summary(windows) | {"transcripts_unmeasured": unmeasured}

    def audio_seconds(self) -> float:
        return self.store.conn.execute("SELECT coalesce(sum(audio_seconds), 0) FROM transcripts"
                                 " WHERE complete AND source = 'asr'").fetchone()[0]


def _new_ids(conn: sqlite3.Connection, n: int) -> list[int]:
    """Ids for n new segments: PostgreSQL's sequence; in SQLite the next rowids (its writes are
    serialised by the caller's transaction, BEGIN IMMEDIATE)."""
    if dialect(conn) == "postgresql":
        ids = [r[0] for r in conn.execute("SELECT nextval(pg_get_serial_sequence('segments', 'id'))"
                                          " FROM generate_series(1, ?)", (n,)).fetchall()]
        index_room(conn, max(ids))
        return ids
    top = conn.execute("SELECT coalesce(max(id), 0) FROM segments").fetchone()[0]
    return list(range(top + 1, top + 1 + n))
