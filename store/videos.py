"""Videos: what was seen at a source, what was archived (with its hashed files), what
failed or was skipped, and what disappeared at the source since."""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import TYPE_CHECKING, Any

from .clock import utcnow
from .custody import append as custody_append
from .errors import NotFound
from .records import FileRecord, Video, from_row
from .state import VideoState, move

if TYPE_CHECKING:
    from .db import Store


# A video's seconds: its duration, else what speech recognition read of it.
_SECONDS = ("coalesce(v.duration, (SELECT max(t.audio_seconds) FROM transcripts t"
            " WHERE t.video = v.id AND t.source = 'asr'), 0)")


def record_event(conn: sqlite3.Connection, video: Video, event: str, detail: str | None) -> None:
    """One line of a video's history (found, archived, failed, removed at source, …)."""
    conn.execute("INSERT INTO video_events (video, at, event, detail) VALUES (?, ?, ?, ?)",
                 (video.id, utcnow(), event, detail))


class Repository:
    """One part of the archive's tables, reached through a `Store`'s connection."""

    def __init__(self, store: Store):
        self.store = store


class Videos(Repository):
    def discover(self, platform: str, video_id: str, url: str, *, source_id: int | None = None,
                 title: str | None = None, channel: str | None = None,
                 published: str | None = None) -> tuple[Video, bool]:
        """Record a video seen at a source. Returns (video, whether it is new)."""
        new = self.discover_many([dict(platform=platform, video_id=video_id, url=url,
                                       source_id=source_id, title=title, channel=channel,
                                       published=published)])
        return self.get(platform, video_id), bool(new)

    def mark_skipped(self, videos: list[Video], why: str) -> None:
        """Videos outside the history chosen for their channel: visible, archivable later
        (`dalel archive`), never queued by themselves."""
        with self.store.transaction() as conn:
            for video in videos:
                if move(conn, video.id, VideoState.SKIPPED, only_from={VideoState.DISCOVERED}):
                    record_event(conn, video, "skipped", why)

    def discover_many(self, entries: list[dict[str, Any]]) -> list[Video]:
        """Record videos seen at a source, in one transaction; returns those seen for the first time.

        Each entry has platform, video_id, url and optionally source_id, title, channel,
        published, description.
        """
        now, new_ids = utcnow(), []
        with self.store.transaction() as conn:
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
        return [self.by_pk(pk) for pk in new_ids]

    def get(self, platform: str, video_id: str) -> Video:
        rows = self.store.rows("SELECT * FROM videos WHERE platform = ? AND video_id = ?",
                          (platform, video_id))
        if not rows:
            raise NotFound(f"no video {video_id!r} on {platform}")
        return from_row(Video, rows[0])

    def find(self, video_id: str) -> Video:
        """A video by its platform id (or `platform:id` where ids collide)."""
        platform, _, vid = video_id.rpartition(":")
        sql = "SELECT * FROM videos WHERE video_id = ?" + (" AND platform = ?" if platform else "")
        rows = self.store.rows(sql + " ORDER BY id", (vid, platform) if platform else (vid,))
        if not rows:
            raise NotFound(f"unknown video id {video_id!r}; see `dalel status` or `dalel search`")
        return from_row(Video, rows[0])

    def all(self, state: str | None = None) -> list[Video]:
        sql = "SELECT * FROM videos" + (" WHERE state = ?" if state else "") + " ORDER BY id"
        return [from_row(Video, r) for r in self.store.rows(sql, (state,) if state else ())]

    def mark_archived(self, video: Video, folder: str, files: list[FileRecord],
                      meta: dict[str, Any]) -> Video:
        """Record an archived video and its hashed files, in one transaction."""
        now = utcnow()
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM files WHERE video = ?", (video.id,))
            conn.executemany(
                "INSERT INTO files (video, role, path, size, sha256, archived_at, version_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(video.id, f.role, f.path, f.size, f.sha256, now, f.version_id) for f in files])
            move(conn, video.id, VideoState.ARCHIVED)
            conn.execute(
                "UPDATE videos SET error = NULL, folder = ?, archived_at = ?,"
                " title = COALESCE(?, title), channel = COALESCE(?, channel),"
                " description = COALESCE(?, description), published = COALESCE(?, published),"
                " duration = COALESCE(?, duration) WHERE id = ?",
                (folder, now, meta.get("title"), meta.get("channel"), meta.get("description"),
                 meta.get("published"), meta.get("duration"), video.id))
            record_event(conn, video, "archived", folder)
            details = {"folder": folder, "source_url": meta.get("source_url"), "url": meta.get("url"),
                       "files": {f.path.rsplit("/", 1)[-1]: f.sha256 for f in files}}
            if meta.get("live"):   # recorded while live: how it ended, and when
                details["live"] = meta["live"]
                conn.execute("UPDATE videos SET live_status = ? WHERE id = ?",
                             ("recorded" if meta["live"].get("complete") else "recorded_incomplete", video.id))
            custody_append(conn, video, "capture", actor=self.store.actor, details=details)
        return self.get(video.platform, video.video_id)

    def replace_capture(self, video: Video, folder: str, files: list[FileRecord], meta: dict[str, Any]) -> Video:
        """The platform's final version of a stream recorded while live becomes the video's
        capture, in one transaction: the recording's files stay archived and recorded (their
        role prefixed `live-`), the new capture's custody entry names what it replaces, and the
        video goes back to `archived` to be transcribed again."""
        with self.store.transaction() as conn:
            old = {r[0]: r[1] for r in conn.execute(
                "SELECT path, sha256 FROM files WHERE video = ? AND role NOT LIKE 'live-%'", (video.id,))}
            conn.execute("UPDATE files SET role = 'live-' || role WHERE video = ? AND role NOT LIKE 'live-%'",
                         (video.id,))
            conn.executemany(
                "INSERT INTO files (video, role, path, size, sha256, archived_at, version_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(video.id, f.role, f.path, f.size, f.sha256, utcnow(), f.version_id) for f in files])
            move(conn, video.id, VideoState.ARCHIVED)
            conn.execute("UPDATE videos SET folder = ?, live_status = 'final', duration = COALESCE(?, duration)"
                         " WHERE id = ?", (folder, meta.get("duration"), video.id))
            record_event(conn, video, "final version", folder)
            custody_append(conn, video, "capture", actor=self.store.actor, details={
                "folder": folder, "source_url": meta.get("source_url"), "url": meta.get("url"),
                "files": {f.path.rsplit("/", 1)[-1]: f.sha256 for f in files},
                "replaces": {"folder": video.folder, "files": old,
                             "why": "the platform's final version is longer than the live recording"}})
        return self.get(video.platform, video.video_id)

    def moved(self, video: Video, versions: dict[str, str], where: str) -> None:
        """A video's files now stored elsewhere (S3: path → VersionId), with their custody
        entry, in one transaction."""
        with self.store.transaction() as conn:
            conn.executemany("UPDATE files SET version_id = ? WHERE video = ? AND path = ? AND version_id IS NULL",
                             [(v, video.id, p) for p, v in versions.items()])
            custody_append(conn, video, "moved", {"to": where, "versions": versions}, actor=self.store.actor)

    def add_files(self, video: Video, files: list[FileRecord], event: str, details: dict[str, Any]) -> None:
        """Files added to a capture after it was archived (timestamp tokens), with their custody
        entry, in one transaction."""
        now = utcnow()
        with self.store.transaction() as conn:
            conn.executemany(
                "INSERT INTO files (video, role, path, size, sha256, archived_at, version_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(video.id, f.role, f.path, f.size, f.sha256, now, f.version_id) for f in files])
            custody_append(conn, video, event, details, actor=self.store.actor)

    def reset_failed(self, video: Video) -> bool:
        """A failed video back to be archived (or transcribed) again; False if it had not failed."""
        with self.store.transaction() as conn:
            to = VideoState.ARCHIVED if video.archived_at else VideoState.DISCOVERED
            moved = move(conn, video.id, to, only_from={VideoState.FAILED})
            if moved:
                conn.execute("UPDATE videos SET error = NULL WHERE id = ?", (video.id,))
                record_event(conn, video, "retry", video.error)
            return moved

    def mark_failed(self, video: Video, error: str) -> None:
        with self.store.transaction() as conn:
            move(conn, video.id, VideoState.FAILED)
            conn.execute("UPDATE videos SET error = ? WHERE id = ?", (error, video.id))
            record_event(conn, video, "failed", error)

    def set_live_status(self, video: Video, live_status: str | None) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE videos SET live_status = ? WHERE id = ?", (live_status, video.id))

    def due_recheck(self, checked_before: str, limit: int) -> list[Video]:
        return [from_row(Video, r) for r in self.store.rows(
            "SELECT * FROM videos WHERE archived_at IS NOT NULL AND"
            " (last_rechecked IS NULL OR last_rechecked < ?) ORDER BY last_rechecked, id LIMIT ?",
            (checked_before, limit))]

    def mark_removed(self, video: Video, message: str) -> bool:
        """Record that a video is no longer available at its source. True when newly removed."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE videos SET last_rechecked = ? WHERE id = ?", (utcnow(), video.id))
            if video.removed_at is not None:
                return False
            conn.execute("UPDATE videos SET removed_at = ? WHERE id = ?", (utcnow(), video.id))
            record_event(conn, video, "removed_at_source", message)
        return True

    def mark_available(self, video: Video) -> bool:
        """Record that a video is available at its source. True when it came back."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE videos SET last_rechecked = ?, removed_at = NULL WHERE id = ?",
                         (utcnow(), video.id))
            if video.removed_at is None:
                return False
            record_event(conn, video, "back_online", None)
        return True

    def removed(self) -> list[Video]:
        return [from_row(Video, r) for r in
                self.store.rows("SELECT * FROM videos WHERE removed_at IS NOT NULL ORDER BY removed_at")]

    def by_pk(self, pk: int) -> Video:
        rows = self.store.rows("SELECT * FROM videos WHERE id = ?", (pk,))
        if not rows:
            raise NotFound(f"no video with row id {pk}")
        return from_row(Video, rows[0])

    def files(self, video: Video) -> list[FileRecord]:
        return [from_row(FileRecord, r) for r in
                self.store.rows("SELECT * FROM files WHERE video = ? ORDER BY id", (video.id,))]

    def browse(self, *, channel: str | None = None, state: str | None = None, removed: bool = False,
               since: str | None = None, until: str | None = None, limit: int = 100,
               offset: int = 0, source_id: int | None = None) -> tuple[int, list[dict[str, Any]]]:
        """Videos for a list (newest broadcast first), with their channel's name: (how many match,
        this page)."""
        sql = (" FROM videos v LEFT JOIN sources src ON src.id = v.source_id WHERE 1 = 1")
        params: list[Any] = []
        if source_id is not None:
            sql += " AND v.source_id = ?"
            params.append(source_id)
        if channel:
            sql += " AND (lower(coalesce(v.channel, src.name, '')) = lower(?) OR src.url = ?)"
            params += [channel, channel]
        if state:
            sql += " AND v.state = ?"
            params.append(state)
        if removed:
            sql += " AND v.removed_at IS NOT NULL"
        if since:
            sql += " AND substr(v.published, 1, 10) >= ?"
            params.append(since)
        if until:
            sql += " AND substr(v.published, 1, 10) <= ?"
            params.append(until)
        total = self.store.conn.execute("SELECT count(*)" + sql, params).fetchone()[0]
        rows = self.store.rows(
            "SELECT v.video_id, v.title, coalesce(v.channel, src.name) AS channel, v.published, v.duration,"
            " v.state, v.removed_at, v.live_status" + sql
            + " ORDER BY v.published IS NULL, v.published DESC, v.id DESC LIMIT ? OFFSET ?", [*params, limit, offset])
        return total, rows

    def overview(self, source_id: int | None = None) -> list[dict[str, Any]]:
        """Per channel: videos, archived and transcribed, and their hours (a dashboard's table);
        one channel's row with `source_id`."""
        where, params = (" WHERE v.source_id = ?", (source_id,)) if source_id is not None else ("", ())
        return self.store.rows(
            "SELECT coalesce(src.name, v.channel, 'unknown') AS channel, max(src.id) AS source_id, count(*) AS videos,"
            " count(*) FILTER (WHERE v.archived_at IS NOT NULL) AS archived,"
            " count(*) FILTER (WHERE v.state = 'transcribed') AS transcribed,"
            f" round(CAST(coalesce(sum({_SECONDS}) FILTER (WHERE v.archived_at IS NOT NULL), 0) / 3600.0"
            " AS NUMERIC), 3) AS archived_hours,"
            f" round(CAST(coalesce(sum({_SECONDS}) FILTER (WHERE v.state = 'transcribed'), 0) / 3600.0 AS NUMERIC), 3)"
            " AS transcribed_hours, count(*) FILTER (WHERE v.removed_at IS NOT NULL) AS removed"
            " FROM videos v LEFT JOIN sources src ON src.id = v.source_id" + where + " GROUP BY 1 ORDER BY 1", params)

    def hours_per_week(self, weeks: int = 26, source_id: int | None = None) -> list[dict[str, Any]]:
        """Broadcast hours archived per ISO week (of archiving) and channel, the last `weeks`."""
        where, params = (" AND v.source_id = ?", (source_id,)) if source_id is not None else ("", ())
        rows = self.store.rows(
            "SELECT substr(v.archived_at, 1, 10) AS day, coalesce(src.name, v.channel, 'unknown') AS channel,"
            f" sum({_SECONDS}) / 3600.0 AS hours FROM videos v LEFT JOIN sources src"
            " ON src.id = v.source_id WHERE v.archived_at IS NOT NULL" + where + " GROUP BY 1, 2", params)
        periods: dict[str, dict[str, float]] = {}
        for r in rows:
            year, week, _ = dt.date.fromisoformat(r["day"]).isocalendar()
            per = periods.setdefault(f"{year}-W{week:02d}", {})
            per[r["channel"]] = round(per.get(r["channel"], 0.0) + r["hours"], 3)
        return [{"period": p, "count": round(sum(c.values()), 3), "channels": c}
                for p, c in sorted(periods.items())][-weeks:]

    def live(self) -> list[dict[str, Any]]:
        """Streams being recorded, live (and archived once ended) or announced."""
        return self.store.rows("SELECT video_id, title, live_status FROM videos"
                               " WHERE live_status IN ('recording', 'is_live', 'upcoming') ORDER BY id")

    def file(self, path: str) -> FileRecord | None:
        """An archived file by its archive-relative path."""
        rows = self.store.rows("SELECT * FROM files WHERE path = ? ORDER BY id DESC LIMIT 1", (path,))
        return from_row(FileRecord, rows[0]) if rows else None

    def events(self, video: Video) -> list[dict[str, Any]]:
        return self.store.rows("SELECT at, event, detail FROM video_events WHERE video = ? ORDER BY id",
                          (video.id,))

    # --- transcripts -------------------------------------------------------

    def missing_metadata(self) -> list[Video]:
        """Archived videos whose title and description are not indexed (a crash came between)."""
        return [from_row(Video, r) for r in self.store.rows(
            "SELECT * FROM videos WHERE archived_at IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM transcripts t WHERE t.video = videos.id AND t.source = 'metadata'"
            " AND t.complete) ORDER BY id")]

    def to_transcribe(self) -> list[Video]:
        return [from_row(Video, r) for r in self.store.rows(
            "SELECT * FROM videos WHERE state = 'archived' AND NOT EXISTS"
            " (SELECT 1 FROM transcripts t WHERE t.video = videos.id AND t.source = 'asr'"
            " AND t.complete) ORDER BY id")]
