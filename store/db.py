"""The archive's database: every SQL statement of the project lives in this package.

One SQLite file in WAL mode, so a daemon writes while analysts read. Writes are
short explicit transactions; long work (downloads, transcription) happens outside
them and commits its result at the end.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Iterator

import logging

import sqlite_utils

from .text import ANALYSER_VERSION, BOUNDARY, BRIDGE, analyse, fold, index_terms, normalise
from .clock import parse_stamp, stamp, utcnow  # noqa: F401 (re-exported)
from . import custody
from .custody import append as custody_append
from .errors import NotFound, StoreError
from .schema import MIGRATIONS
from .state import VideoState, move

log = logging.getLogger("dalel.store")


def _from_row(cls, row: dict[str, Any]):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in row.items() if k in names})


@dataclass(frozen=True)
class Source:
    id: int
    url: str
    kind: str
    feed_url: str | None
    name: str | None
    every_s: int | None
    etag: str | None
    last_modified: str | None
    last_checked: str | None
    last_error: str | None
    created_at: str
    not_before: str | None = None        # back-off after errors / Retry-After
    last_reconciled: str | None = None   # last full listing (feeds show only the newest)
    since: str | None = None             # history: archive videos published on or after this
    last_n: int | None = None            # history: archive the N newest at the first check
    cutoff: str | None = None            # the earliest published date archived (from the two)


@dataclass(frozen=True)
class Video:
    id: int
    platform: str
    video_id: str
    source_id: int | None
    url: str
    title: str | None
    channel: str | None
    description: str | None
    published: str | None
    duration: float | None
    state: str
    error: str | None
    removed_at: str | None
    discovered_at: str
    archived_at: str | None
    folder: str | None
    live_status: str | None = None
    last_rechecked: str | None = None


@dataclass(frozen=True)
class FileRecord:
    role: str
    path: str  # relative to the archive root
    size: int
    sha256: str


@dataclass(frozen=True)
class WordRecord:
    start: float
    end: float
    word: str
    probability: float | None = None


@dataclass(frozen=True)
class SegmentRecord:
    start: float
    end: float
    text: str
    lang: str | None = None
    probability: float | None = None
    words: tuple[WordRecord, ...] = ()
    lang_probability: float | None = None


def coverage_summary(windows: list[dict]) -> dict:
    """A transcript's coverage from its windows': speech seconds, seconds within words, the
    share covered, the stretches decoded again and those still without words."""
    speech = sum(w["speech_s"] for w in windows)
    covered = sum(w["covered_s"] for w in windows)
    empty = [g for w in windows for g in w["empty"]]
    return {"speech_s": round(speech, 1), "covered_s": round(covered, 1),
            "covered_share": round(covered / speech, 4) if speech else 1.0,
            "redecoded": sum(len(w["redecoded"]) for w in windows),
            "uncovered_s": round(sum(g[-1] - g[-2] for g in empty), 1), "uncovered": empty}


class Store:
    """A connection to one archive database. Not shared between threads."""

    def __init__(self, path: Path | str, actor: str | None = None):
        self.path = Path(path)
        self.actor = actor  # named in the custody log; None: user@host
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data folder {self.path.parent}: {exc.strerror or exc}; "
                             "choose a writable --data-dir") from exc
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.create_function("dalel_fold", 1, fold, deterministic=True)   # migration 11
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self._migrate()
        self._check_analyser()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def heads_path(self) -> Path:
        """The custody heads log, beside the database (store/custody.py)."""
        return self.path.with_name(custody.HEADS)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            custody.rolled_back(self.conn)
            raise
        self.conn.execute("COMMIT")
        try:
            custody.committed(self.conn, self.heads_path)
        except OSError as exc:   # the database holds the entries; the copy is best effort
            log.warning("cannot append to %s: %s", self.heads_path, exc)

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as conn:
                for statement in script.split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {int(number)}")

    def _check_analyser(self) -> None:
        built = self.index_analyser()
        if built is None:
            with self.transaction() as conn:
                conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('analyser', ?)",
                             (ANALYSER_VERSION,))
        elif built != ANALYSER_VERSION:
            log.warning("the search index was built by analyser %s, this is %s: run `dalel reindex` "
                        "so that all word forms match", built, ANALYSER_VERSION)

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def audio_seconds_transcribed(self) -> float:
        return self.conn.execute("SELECT coalesce(sum(audio_seconds), 0) FROM transcripts"
                                 " WHERE complete AND source = 'asr'").fetchone()[0]

    def index_analyser(self) -> str | None:
        """The analyser version the search index was built with (None: a new archive)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'analyser'").fetchone()
        return row[0] if row else None

    def reindex(self, progress=None) -> int:
        """Rebuild the full-text index, bridges and vocabulary from the stored segments."""
        with self.transaction() as conn:
            for table in ("segments_fts", "bridges_fts"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM vocabulary")
        done = 0
        transcripts = self.conn.execute("SELECT id, source FROM transcripts ORDER BY id").fetchall()
        for tid, source in transcripts:
            with self.transaction() as conn:
                prev = None
                for seg_id, text, lang in conn.execute(
                        "SELECT id, text, lang FROM segments WHERE transcript = ? ORDER BY seq", (tid,)).fetchall():
                    prev = self._index_segment(conn, seg_id, text, lang, prev, source != "metadata")
                    done += 1
            if progress:
                progress(done)
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('analyser', ?)",
                         (ANALYSER_VERSION,))
        return done

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, tuple(params)))

    # --- sources -----------------------------------------------------------

    def add_source(self, url: str, kind: str, feed_url: str | None, name: str | None,
                   every_s: int | None, since: str | None = None, last_n: int | None = None) -> Source:
        try:
            with self.transaction() as conn:
                conn.execute(
                    "INSERT INTO sources (url, kind, feed_url, name, every_s, created_at, since, last_n, cutoff)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (url, kind, feed_url, name, every_s, utcnow(), since, last_n, since))
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"{url} is already watched; see `dalel channel list`") from exc
        return self.get_source(url)

    def list_sources(self) -> list[Source]:
        return [_from_row(Source, r) for r in self._rows("SELECT * FROM sources ORDER BY id")]

    def get_source(self, id_or_url: str | int) -> Source:
        key = str(id_or_url)
        rows = self._rows("SELECT * FROM sources WHERE url = ? OR CAST(id AS TEXT) = ?"
                          " OR feed_url = ? OR name = ?", (key, key, key, key))
        if not rows:
            raise NotFound(f"no channel {key!r}; see `dalel channel list`")
        return _from_row(Source, rows[0])

    def remove_source(self, id_or_url: str | int) -> Source:
        source = self.get_source(id_or_url)
        with self.transaction() as conn:
            conn.execute("DELETE FROM sources WHERE id = ?", (source.id,))
        return source

    def record_check(self, source_id: int, *, error: str | None,
                     etag: str | None = None, last_modified: str | None = None,
                     name: str | None = None, not_before: str | None = None) -> None:
        """Record a check of a source; `not_before` holds further checks back (Retry-After)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE sources SET last_checked = ?, last_error = ?, not_before = ?,"
                " etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),"
                " name = COALESCE(name, ?) WHERE id = ?",
                (utcnow(), error, not_before, etag, last_modified, name, source_id))

    def mark_reconciled(self, source_id: int) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE sources SET last_reconciled = ? WHERE id = ?", (utcnow(), source_id))

    # --- videos ------------------------------------------------------------

    def discover(self, platform: str, video_id: str, url: str, *, source_id: int | None = None,
                 title: str | None = None, channel: str | None = None,
                 published: str | None = None) -> tuple[Video, bool]:
        """Record a video seen at a source. Returns (video, whether it is new)."""
        new = self.discover_many([dict(platform=platform, video_id=video_id, url=url,
                                       source_id=source_id, title=title, channel=channel,
                                       published=published)])
        return self.video(platform, video_id), bool(new)

    def set_cutoff(self, source_id: int, cutoff: str | None) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE sources SET cutoff = ? WHERE id = ?", (cutoff, source_id))

    def mark_skipped(self, videos: list[Video], why: str) -> None:
        """Videos outside the history chosen for their channel: visible, archivable later
        (`dalel archive`), never queued by themselves."""
        with self.transaction() as conn:
            for video in videos:
                if move(conn, video.id, VideoState.SKIPPED, only_from={VideoState.DISCOVERED}):
                    self._event(conn, video, "skipped", why)

    def discover_many(self, entries: list[dict[str, Any]]) -> list[Video]:
        """Record videos seen at a source, in one transaction; returns those seen for the first time.

        Each entry has platform, video_id, url and optionally source_id, title, channel,
        published, description.
        """
        now, new_ids = utcnow(), []
        with self.transaction() as conn:
            for e in entries:
                row = conn.execute(
                    "INSERT INTO videos (platform, video_id, source_id, url, title, channel,"
                    " published, description, discovered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (platform, video_id) DO NOTHING RETURNING id",
                    (e["platform"], e["video_id"], e.get("source_id"), e["url"], e.get("title"),
                     e.get("channel"), e.get("published"), e.get("description"), now)).fetchone()
                if row:
                    new_ids.append(row[0])
                    conn.execute("INSERT INTO video_events (video, at, event, detail)"
                                 " VALUES (?, ?, 'found', ?)", (row[0], now, e["url"]))
        return [self.get_video(pk) for pk in new_ids]

    def video(self, platform: str, video_id: str) -> Video:
        rows = self._rows("SELECT * FROM videos WHERE platform = ? AND video_id = ?",
                          (platform, video_id))
        if not rows:
            raise NotFound(f"no video {video_id!r} on {platform}")
        return _from_row(Video, rows[0])

    def find_video(self, video_id: str) -> Video:
        """A video by its platform id (or `platform:id` where ids collide)."""
        platform, _, vid = video_id.rpartition(":")
        sql = "SELECT * FROM videos WHERE video_id = ?" + (" AND platform = ?" if platform else "")
        rows = self._rows(sql + " ORDER BY id", (vid, platform) if platform else (vid,))
        if not rows:
            raise NotFound(f"unknown video id {video_id!r}; see `dalel status` or `dalel search`")
        return _from_row(Video, rows[0])

    def videos(self, state: str | None = None) -> list[Video]:
        sql = "SELECT * FROM videos" + (" WHERE state = ?" if state else "") + " ORDER BY id"
        return [_from_row(Video, r) for r in self._rows(sql, (state,) if state else ())]

    def mark_archived(self, video: Video, folder: str, files: list[FileRecord],
                      meta: dict[str, Any]) -> Video:
        """Record an archived video and its hashed files, in one transaction."""
        now = utcnow()
        with self.transaction() as conn:
            conn.execute("DELETE FROM files WHERE video = ?", (video.id,))
            conn.executemany(
                "INSERT INTO files (video, role, path, size, sha256, archived_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(video.id, f.role, f.path, f.size, f.sha256, now) for f in files])
            move(conn, video.id, VideoState.ARCHIVED)
            conn.execute(
                "UPDATE videos SET error = NULL, folder = ?, archived_at = ?,"
                " title = COALESCE(?, title), channel = COALESCE(?, channel),"
                " description = COALESCE(?, description), published = COALESCE(?, published),"
                " duration = COALESCE(?, duration) WHERE id = ?",
                (folder, now, meta.get("title"), meta.get("channel"), meta.get("description"),
                 meta.get("published"), meta.get("duration"), video.id))
            self._event(conn, video, "archived", folder)
            custody_append(conn, video, "capture", actor=self.actor, details={
                "folder": folder, "source_url": meta.get("source_url"), "url": meta.get("url"),
                "files": {f.path.rsplit("/", 1)[-1]: f.sha256 for f in files}})
        return self.video(video.platform, video.video_id)

    def reset_failed(self, video: Video) -> bool:
        """A failed video back to be archived (or transcribed) again; False if it had not failed."""
        with self.transaction() as conn:
            to = VideoState.ARCHIVED if video.archived_at else VideoState.DISCOVERED
            moved = move(conn, video.id, to, only_from={VideoState.FAILED})
            if moved:
                conn.execute("UPDATE videos SET error = NULL WHERE id = ?", (video.id,))
                self._event(conn, video, "retry", video.error)
            return moved

    def mark_failed(self, video: Video, error: str) -> None:
        with self.transaction() as conn:
            move(conn, video.id, VideoState.FAILED)
            conn.execute("UPDATE videos SET error = ? WHERE id = ?", (error, video.id))
            self._event(conn, video, "failed", error)

    def _event(self, conn: sqlite3.Connection, video: Video, event: str, detail: str | None) -> None:
        conn.execute("INSERT INTO video_events (video, at, event, detail) VALUES (?, ?, ?, ?)",
                     (video.id, utcnow(), event, detail))

    def set_live_status(self, video: Video, live_status: str | None) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE videos SET live_status = ? WHERE id = ?", (live_status, video.id))

    def videos_due_recheck(self, checked_before: str, limit: int) -> list[Video]:
        return [_from_row(Video, r) for r in self._rows(
            "SELECT * FROM videos WHERE archived_at IS NOT NULL AND"
            " (last_rechecked IS NULL OR last_rechecked < ?) ORDER BY last_rechecked, id LIMIT ?",
            (checked_before, limit))]

    def mark_removed(self, video: Video, message: str) -> bool:
        """Record that a video is no longer available at its source. True when newly removed."""
        with self.transaction() as conn:
            conn.execute("UPDATE videos SET last_rechecked = ? WHERE id = ?", (utcnow(), video.id))
            if video.removed_at is not None:
                return False
            conn.execute("UPDATE videos SET removed_at = ? WHERE id = ?", (utcnow(), video.id))
            self._event(conn, video, "removed_at_source", message)
        return True

    def mark_available(self, video: Video) -> bool:
        """Record that a video is available at its source. True when it came back."""
        with self.transaction() as conn:
            conn.execute("UPDATE videos SET last_rechecked = ?, removed_at = NULL WHERE id = ?",
                         (utcnow(), video.id))
            if video.removed_at is None:
                return False
            self._event(conn, video, "back_online", None)
        return True

    def removed(self) -> list[Video]:
        return [_from_row(Video, r) for r in
                self._rows("SELECT * FROM videos WHERE removed_at IS NOT NULL ORDER BY removed_at")]

    def get_video(self, pk: int) -> Video:
        rows = self._rows("SELECT * FROM videos WHERE id = ?", (pk,))
        if not rows:
            raise NotFound(f"no video with row id {pk}")
        return _from_row(Video, rows[0])

    def files(self, video: Video) -> list[FileRecord]:
        return [_from_row(FileRecord, r) for r in
                self._rows("SELECT * FROM files WHERE video = ? ORDER BY id", (video.id,))]

    def events(self, video: Video) -> list[dict[str, Any]]:
        return self._rows("SELECT at, event, detail FROM video_events WHERE video = ? ORDER BY id",
                          (video.id,))

    # --- transcripts -------------------------------------------------------

    def videos_missing_metadata(self) -> list[Video]:
        """Archived videos whose title and description are not indexed (a crash came between)."""
        return [_from_row(Video, r) for r in self._rows(
            "SELECT * FROM videos WHERE archived_at IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM transcripts t WHERE t.video = videos.id AND t.source = 'metadata'"
            " AND t.complete) ORDER BY id")]

    def videos_to_transcribe(self) -> list[Video]:
        return [_from_row(Video, r) for r in self._rows(
            "SELECT * FROM videos WHERE state = 'archived' AND NOT EXISTS"
            " (SELECT 1 FROM transcripts t WHERE t.video = videos.id AND t.source = 'asr'"
            " AND t.complete) ORDER BY id")]

    def begin_transcript(self, video: Video, *, source: str, model: str | None,
                         settings: dict[str, Any], language: str | None,
                         language_probability: float | None,
                         audio_seconds: float | None) -> int:
        """Start a transcript, dropping an unfinished one of the same source (a crash's remains)."""
        with self.transaction() as conn:
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
            " language_probability, audio_seconds, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (video.id, source, model, json.dumps(settings, sort_keys=True), language,
             language_probability, audio_seconds, utcnow()))
        return int(cur.lastrowid)

    def resumable_transcript(self, video: Video, source: str, model: str) -> tuple[int, float, int] | None:
        """An unfinished transcript of the same model: (id, checkpoint seconds, next seq).

        Segments after the checkpoint (a window cut short by a crash) are removed first.
        """
        row = self.conn.execute(
            "SELECT id, checkpoint FROM transcripts WHERE video = ? AND source = ? AND model = ?"
            " AND NOT complete ORDER BY id DESC LIMIT 1", (video.id, source, model)).fetchone()
        if row is None:
            return None
        tid, checkpoint = row
        with self.transaction() as conn:
            late = [r[0] for r in conn.execute(
                "SELECT id FROM segments WHERE transcript = ? AND start >= ?", (tid, checkpoint))]
            for table in ("segments_fts", "bridges_fts"):
                conn.executemany(f"DELETE FROM {table} WHERE rowid = ?", [(i,) for i in late])
            conn.executemany("DELETE FROM segments WHERE id = ?", [(i,) for i in late])
            last = conn.execute("SELECT id, seq FROM segments WHERE transcript = ?"
                                " ORDER BY seq DESC LIMIT 1", (tid,)).fetchone()
            if last:  # its bridge led into a removed segment
                conn.execute("DELETE FROM bridges_fts WHERE rowid = ?", (last[0],))
        return tid, float(checkpoint), (last[1] + 1 if last else 0)

    def set_checkpoint(self, transcript_id: int, seconds: float, coverage: dict | None = None) -> None:
        """Everything before `seconds` is stored; `coverage` (of the window just finished) is
        added to the transcript's record in the same transaction, so it survives a resume."""
        with self.transaction() as conn:
            conn.execute("UPDATE transcripts SET checkpoint = ? WHERE id = ?", (seconds, transcript_id))
            if coverage is not None:
                settings = json.loads(conn.execute("SELECT settings FROM transcripts WHERE id = ?",
                                                   (transcript_id,)).fetchone()[0] or "{}")
                windows = [w for w in settings.get("coverage_windows", []) if w["start"] < coverage["start"]]
                settings["coverage_windows"] = windows + [coverage]
                settings["coverage"] = coverage_summary(settings["coverage_windows"])
                conn.execute("UPDATE transcripts SET settings = ? WHERE id = ?",
                             (json.dumps(settings, sort_keys=True, ensure_ascii=False), transcript_id))

    def add_text_transcript(self, video: Video, *, source: str, model: str,
                            segments: list[SegmentRecord], bridges: bool = True) -> int:
        """A whole transcript that needs no long work (title, subtitles, import), in one
        transaction: it is there complete or not at all. Returns its id."""
        with self.transaction() as conn:
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
            for table in ("segments_fts", "bridges_fts"):
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
        with self.transaction() as conn:
            return self._add(conn, transcript_id, video, first_seq, segments, bridges)

    def _add(self, conn: sqlite3.Connection, transcript_id: int, video: Video, first_seq: int,
             segments: Iterable[SegmentRecord], bridges: bool) -> int:
        n = 0
        last = conn.execute("SELECT id, text, lang FROM segments WHERE transcript = ? AND seq = ?",
                            (transcript_id, first_seq - 1)).fetchone()
        prev = (last[0], index_terms(last[1], last[2])) if last else None
        for n, seg in enumerate(segments, start=1):
            text = seg.text.strip()
            cur = conn.execute(
                "INSERT INTO segments (transcript, video, seq, start, end, text, lang, probability,"
                " lang_probability) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (transcript_id, video.id, first_seq + n - 1, seg.start, seg.end, text,
                 seg.lang, seg.probability, seg.lang_probability))
            seg_id = cur.lastrowid
            conn.executemany(
                "INSERT INTO words (segment, position, start, end, word, probability)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(seg_id, i, w.start, w.end, w.word.strip(), w.probability)
                 for i, w in enumerate(seg.words)])
            prev = self._index_segment(conn, seg_id, text, seg.lang, prev, bridges)
        return n

    @staticmethod
    def _index_segment(conn: sqlite3.Connection, seg_id: int, text: str, lang: str | None,
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

    def finish_transcript(self, transcript_id: int, video: Video, elapsed_seconds: float,
                          notes: dict[str, Any] | None = None) -> None:
        """Mark a transcript complete; its language becomes that of most of its speech, and
        `notes` (e.g. dropped segments) are kept with its settings."""
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT lang, sum(end - start) AS d, avg(lang_probability) FROM segments"
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
        conn.execute("UPDATE transcripts SET complete = 1, elapsed_seconds = ? WHERE id = ?",
                     (elapsed_seconds, transcript_id))
        source = conn.execute("SELECT source FROM transcripts WHERE id = ?",
                              (transcript_id,)).fetchone()[0]
        if source == "asr":   # (a speech transcript of a video never archived, built by hand, moves nothing)
            move(conn, video.id, VideoState.TRANSCRIBED,
                 only_from={VideoState.ARCHIVED, VideoState.TRANSCRIBED, VideoState.FAILED})
        self._event(conn, video, "transcribed" if source == "asr" else f"indexed {source}",
                    f"transcript {transcript_id}")
        if source in ("asr", "import"):
            model, lang, n = conn.execute(
                "SELECT model, language, (SELECT count(*) FROM segments WHERE transcript = t.id)"
                " FROM transcripts t WHERE id = ?", (transcript_id,)).fetchone()
            details = {"transcript": transcript_id, "model": model, "language": lang, "segments": n}
            if replaced:
                details["replaces"] = replaced
            custody_append(conn, video, "transcription" if source == "asr" else "import", details,
                           actor=self.actor)

    def transcript_sources(self, video: Video) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT source FROM transcripts WHERE video = ? AND complete", (video.id,))]

    def transcript(self, video: Video, source: str | None = None) -> dict[str, Any]:
        """The latest complete transcript of a video with its segments and words."""
        sql = "SELECT * FROM transcripts WHERE video = ? AND complete"
        params: tuple = (video.id,)
        if source:
            sql, params = sql + " AND source = ?", (video.id, source)
        rows = self._rows(sql + " ORDER BY source = 'asr' DESC, id DESC LIMIT 1", params)
        if not rows:
            what = f"no {source} transcript" if source else "no transcript yet"
            raise NotFound(f"video {video.video_id} has {what}; run `dalel transcribe {video.video_id}`")
        t = rows[0]
        t["settings"] = json.loads(t["settings"] or "{}")
        t["segments"] = self._rows(
            "SELECT id, seq, start, end, text, lang, probability, lang_probability FROM segments"
            " WHERE transcript = ? ORDER BY seq", (t["id"],))
        words = self._rows(
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

    def spoken_forms(self, stems: list[str]) -> list[str]:
        """Every spoken form the index has seen under one of these indexed forms."""
        if not stems:
            return []
        marks = ",".join("?" * len(stems))
        return sorted(r[0] for r in self.conn.execute(
            f"SELECT word FROM vocabulary WHERE stem IN ({marks})", stems))

    def coverage(self, video_ids: list[int] | None = None) -> dict:
        """The coverage of the complete speech transcripts (of these videos), summed."""
        sql = ("SELECT v.video_id, t.settings FROM transcripts t JOIN videos v ON v.id = t.video"
               " WHERE t.complete AND t.source = 'asr'")
        params: list = []
        if video_ids is not None:
            sql += f" AND t.video IN ({','.join('?' * len(video_ids))})"
            params = list(video_ids)
        windows, unmeasured = [], 0
        for vid, settings in self.conn.execute(sql, params):
            got = json.loads(settings or "{}").get("coverage_windows")
            if got is None:
                unmeasured += 1
            windows += [w | {"empty": [[vid, a, b] for a, b in w["empty"]]} for w in got or []]
        return coverage_summary(windows) | {"transcripts_unmeasured": unmeasured}

    def counts(self) -> dict[str, int]:
        row = self._rows(
            "SELECT count(*) AS discovered,"
            " sum(state IN ('archived', 'transcribed') OR archived_at IS NOT NULL) AS archived,"
            " sum(EXISTS (SELECT 1 FROM transcripts t WHERE t.video = videos.id AND t.complete"
            "            AND t.source = 'asr')) AS transcribed,"
            " sum(state = 'failed') AS failed, sum(state = 'skipped') AS skipped,"
            " sum(removed_at IS NOT NULL) AS removed FROM videos")[0]
        return {k: int(v or 0) for k, v in row.items()}
