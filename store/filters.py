"""Search filters: the `field:value` filters a query may carry, the options every front
end passes (`SearchOptions`), their SQL, and the check that a scope can match at all — a
search in nothing is no evidence of absence."""
from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .dialect import in_batches
from .errors import NotFound, QueryError
from .text import LANGUAGES

if TYPE_CHECKING:
    from .db import Store
    from .query import Query

FILTERS = ("channel", "lang", "video", "after", "before", "source")
SOURCES = ("asr", "subtitles", "metadata", "import")
SORTS = ("relevance", "newest", "oldest")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True)
class SearchOptions:
    channel: str | None = None
    lang: str | None = None
    video: str | None = None
    since: str | None = None   # YYYY-MM-DD, inclusive, on the published date
    until: str | None = None
    source: str | None = None  # asr | subtitles | metadata | import | speech (all but metadata)
    transcript: int | None = None
    limit: int = 20
    offset: int = 0
    lemma: bool = False        # only the words' own forms, not their families
    sort: str = "relevance"    # relevance | newest | oldest (by broadcast date)
    per: str = "month"         # the histogram's period: month | week


def example(key: str) -> str:
    return {"lang": "ru", "after": "2024-01-31", "before": "2024-12-31", "source": "asr"}.get(key, "NAME")


def check_date(value: str, what: str) -> str:
    """A date (YYYY, YYYY-MM or YYYY-MM-DD) that exists; returns it as written."""
    m = _DATE.match(value)
    ok = bool(m)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
        try:
            dt.date(y, mo, d)
        except ValueError:
            ok = False
    if not ok:
        raise QueryError(f"{what} {value!r} is not a date; write it as YYYY-MM-DD (e.g. 2024-03-31)")
    return value


def check_filter(key: str, value: str) -> None:
    if key == "lang" and value not in LANGUAGES:
        raise QueryError(f"lang:{value} is not a known language; use one of {', '.join(LANGUAGES)}")
    if key == "source" and value not in SOURCES:
        raise QueryError(f"source:{value} is not a transcript source; use one of {', '.join(SOURCES)}")
    if key in ("after", "before"):
        check_date(value, f"{key}:")


def merge_filters(query: Query, o: SearchOptions) -> SearchOptions:
    f = query.filters
    return replace(o, channel=o.channel or f.get("channel"), lang=o.lang or f.get("lang"),
                   video=o.video or f.get("video"), since=o.since or f.get("after"),
                   until=o.until or f.get("before"), source=o.source or f.get("source"))


def check_scope(store: Store, o: SearchOptions) -> None:
    """Refuse a scope that cannot match anything: a search in nothing is no evidence of
    absence. Unknown video or channel, or filters no video of the archive meets together (a
    channel's broadcasts before its first, dates after the last) → NotFound; a date that does
    not exist or an empty date range → QueryError."""
    if o.since:
        check_date(o.since, "--since")
    if o.until:
        check_date(o.until, "--until")
    if o.sort not in SORTS:
        raise QueryError(f"sort {o.sort!r}: use one of {', '.join(SORTS)}")
    if o.per not in ("month", "week"):
        raise QueryError(f"histogram period {o.per!r}: use month or week")
    if o.since and o.until and _day(o.since, False) > _day(o.until, True):
        raise QueryError(f"the date range {o.since} – {o.until} is empty: the start is after the end")
    if o.video and store.conn.execute("SELECT 1 FROM videos WHERE video_id = ?", (o.video,)).fetchone() is None:
        raise NotFound(f"unknown video id {o.video!r}; see `dalel status` for the archive's videos")
    if o.channel and store.conn.execute(
            "SELECT 1 FROM videos v LEFT JOIN sources src ON src.id = v.source_id"
            " WHERE lower(v.channel) = lower(?) OR lower(src.name) = lower(?) OR src.url = ?"
            " UNION SELECT 1 FROM sources WHERE lower(name) = lower(?) OR url = ? LIMIT 1",
            (o.channel,) * 5).fetchone() is None:
        raise NotFound(f"no channel {o.channel!r} in the archive; see `dalel channel list`")
    allowed = _allowed_sql(o)   # each filter known, and none of the videos meets them all:
    if allowed and store.conn.execute(allowed[0] + " LIMIT 1", allowed[1]).fetchone() is None:
        named = [f"{k} {v}" for k, v in (("channel", o.channel), ("video", o.video), ("after", o.since),
                                          ("before", o.until)) if v]
        raise NotFound(f"no video in the archive is in this scope ({', '.join(named)}): a search there would "
                       "be no evidence of absence; widen it (see `dalel status`)")


def _day(value: str, last: bool) -> str:
    parts = value.split("-")
    if len(parts) == 3:
        return value
    if len(parts) == 2:
        y, m = int(parts[0]), int(parts[1])
        end = (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)).day
        return f"{value}-{end if last else 1:02d}"
    return f"{value}-12-31" if last else f"{value}-01-01"


def sql_where(o: SearchOptions) -> tuple[str, list]:
    sql = ""
    params: list[str | int] = []
    if o.channel:
        sql += " AND (lower(v.channel) = lower(?) OR lower(src.name) = lower(?) OR src.url = ?)"
        params += [o.channel, o.channel, o.channel]
    if o.lang:
        sql += " AND s.lang = ?"
        params.append(o.lang)
    if o.video:
        sql += " AND v.video_id = ?"
        params.append(o.video)
    if o.since:
        sql += " AND substr(v.published, 1, 10) >= ?"
        params.append(_day(o.since, False))
    if o.until:
        sql += " AND substr(v.published, 1, 10) <= ?"
        params.append(_day(o.until, True))
    if o.source == "speech":  # what was said: everything but titles and descriptions
        sql += " AND t.source != 'metadata'"
    elif o.source:
        sql += " AND t.source = ?"
        params.append(o.source)
    if o.transcript is not None:
        sql += " AND t.id = ?"
        params.append(o.transcript)
    return sql, params


# A filter to at most NARROW_VIDEOS videos whose segments lie within at most NARROW_ROWS ids is
# answered from those ids (`narrow_ranges`), not from every row the index holds for the words,
# each checked against the filter. At 10M segments: a common word in one day's 120 broadcasts,
# PostgreSQL 1.4–4.2 s → ~60 ms reading their 120,000 rows a range at a time (~0.4 µs a row; a
# rare word's few rows through the index took a few ms); a common word in one broadcast, FTS5
# 0.2–0.6 s → 8–26 ms, seeking to the range in its lists (`fts5.RANGE_STATEMENTS`).
NARROW_VIDEOS = 500
NARROW_ROWS = 200_000


def _allowed_sql(o: SearchOptions) -> tuple[str, list] | None:
    """The query for the videos (pks) a channel, a video id or broadcast dates allow, with its
    arguments; None when the search has none of those filters."""
    if not (o.channel or o.video or o.since or o.until):
        return None
    where, args = sql_where(replace(o, lang=None, source=None, transcript=None))
    return "SELECT v.id FROM videos v LEFT JOIN sources src ON src.id = v.source_id WHERE 1 = 1" + where, args


def filter_videos(conn: sqlite3.Connection, o: SearchOptions) -> list[int] | None:
    """The videos (pks) a channel, a video id or broadcast dates allow; None when the search
    has none of those filters."""
    allowed = _allowed_sql(o)
    return None if allowed is None else [r[0] for r in conn.execute(*allowed)]


def video_spans(conn: sqlite3.Connection, videos: list[int]) -> list[tuple[int, int, int]]:
    """(video pk, lowest, highest segment id) of those of these videos that have segments."""
    out = []
    for test, args in in_batches(conn, videos):
        out += [r for r in conn.execute(
            "SELECT v.id, (SELECT min(s.id) FROM segments s WHERE s.video = v.id),"
            f" (SELECT max(s.id) FROM segments s WHERE s.video = v.id) FROM videos v WHERE v.id {test}", args)
            if r[1] is not None]
    return out


def narrow_ranges(conn: sqlite3.Connection, videos: list[int] | None) -> list[tuple[int, int]] | None:
    """The segment id ranges, merged, that hold every segment of these videos — when they are
    few (NARROW_VIDEOS, NARROW_ROWS): a filter to a broadcast, a day, a small channel is then
    answered by reading those ids, whatever the words. None: not narrow (or no such filter)."""
    if videos is None or len(videos) > NARROW_VIDEOS:
        return None
    ranges: list[tuple[int, int]] = []
    for _, lo, hi in sorted(video_spans(conn, videos), key=lambda r: r[1]):
        if ranges and lo <= ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], hi))
        else:
            ranges.append((lo, hi))
    return ranges if sum(hi - lo + 1 for lo, hi in ranges) <= NARROW_ROWS else None


def scope(store: Store, o: SearchOptions) -> dict:
    """What a search covered: videos, hours, which are transcribed (by speech recognition,
    platform subtitles or an imported transcript), models, languages, dates."""
    where, params = sql_where(replace(o, source=None, transcript=None, lang=None))
    rows = store.conn.execute(
        "SELECT v.id, v.video_id, v.title, coalesce(v.channel, src.name), v.published, v.duration"
        " FROM videos v LEFT JOIN sources src ON src.id = v.source_id"
        " WHERE v.archived_at IS NOT NULL" + where + " ORDER BY v.published, v.id", params).fetchall()
    videos, hours, done_hours, models, langs = [], 0.0, 0.0, set(), set()
    for pk, vid, title, channel, published, duration in rows:
        ts = store.conn.execute(
            "SELECT t.source, t.model, t.language, t.audio_seconds,"
            " (SELECT max(s.end) FROM segments s WHERE s.transcript = t.id)"
            " FROM transcripts t WHERE t.video = ? AND t.complete AND t.source != 'metadata'", (pk,)).fetchall()
        if o.lang:
            ts = [t for t in ts if t[2] == o.lang]
        seconds = duration or max((t[3] or t[4] or 0 for t in ts), default=0)
        hours += seconds
        if ts:
            done_hours += max((t[3] or t[4] or 0 for t in ts), default=0) if not duration else duration
            models |= {t[1] for t in ts if t[0] == "asr" and t[1]}
            langs |= {t[2] for t in ts if t[2]}
        videos.append({"video_id": vid, "title": title, "channel": channel, "published": published,
                       "transcribed": bool(ts), "sources": sorted({t[0] for t in ts})})
    done = [v for v in videos if v["transcribed"]]
    pks = [pk for (pk, *_), v in zip(rows, videos) if v["transcribed"]]
    return {"coverage": store.transcripts.coverage(pks), "videos": len(videos), "hours": round(hours / 3600, 3),
            "transcribed_videos": len(done), "transcribed_hours": round(done_hours / 3600, 3),
            "models": sorted(models), "languages": sorted(langs),
            "from": min((v["published"] for v in videos if v["published"]), default=None),
            "to": max((v["published"] for v in videos if v["published"]), default=None),
            "video_list": videos}
