"""What `dalel status`, the web's channels page and /healthz report: the daemon's
heartbeat, counts, sources with their last and next check, the queue, failures grouped by
reason, and videos removed at their source."""
from __future__ import annotations

import json
import os
import re
import socket
import time
from dataclasses import asdict
from typing import TYPE_CHECKING

import store

from .formats import shown_url

if TYPE_CHECKING:
    from .app import App

__all__ = ["HEARTBEAT_STALE_S", "by_reason", "daemon_state", "report"]

# The daemon writes a heartbeat every 5 s; one older than this means it is not running.
HEARTBEAT_STALE_S = 60.0


def daemon_state(app: App) -> dict:
    """{"alive", "heartbeat", "pid", "host"}: alive while its heartbeat is fresh (and, on
    this host, its process exists)."""
    try:
        beat = json.loads(app.store.meta("daemon") or "{}")
    except ValueError:
        beat = {}
    at = beat.get("heartbeat")
    alive = at is not None and time.time() - at < HEARTBEAT_STALE_S
    if alive and beat.get("host") == socket.gethostname():
        try:
            os.kill(int(beat["pid"]), 0)
        except (OSError, ValueError, KeyError):
            alive = False
    return {"alive": alive, "heartbeat": store.stamp(at) if at else None,
            "pid": beat.get("pid"), "host": beat.get("host")}


def report(app: App) -> dict:
    """What `dalel status` shows: counts, sources with last/next check, queue, failures."""
    poll_every = app.config.monitor.poll_every
    sources = []
    for src in app.store.sources.all():
        row = asdict(src) | {"url": shown_url(src.url), "feed_url": shown_url(src.feed_url)}
        nxt = None
        if src.last_checked:
            nxt = store.stamp(store.parse_stamp(src.last_checked) + (src.every_s or poll_every))
        if src.not_before and (nxt is None or src.not_before > nxt):
            nxt = src.not_before
        row["next_check"] = nxt
        sources.append(row)
    free, minimum = app.disk_free()
    failed = app.store.videos.all("failed")
    return {
        "data_dir": str(app.config.data_dir),
        "archive": app.config.cluster.archive_url or str(app.config.archive_dir),
        "daemon": daemon_state(app),
        # each scheduler and worker heard from in the last hour: role, state, heartbeat, jobs
        "processes": [p | {"alive": p["heartbeat_age_s"] <= HEARTBEAT_STALE_S}
                      for p in store.processes.listed(app.store)],
        "disk": {"free_bytes": free, "min_free_bytes": minimum, "paused": free < minimum},
        "videos": app.store.counts(),
        "coverage": app.store.transcripts.coverage(),
        "queue": app.queue.depth(),
        "running": app.queue.running(),
        "sources": sources,
        "failed": [{"video_id": v.video_id, "title": v.title, "error": v.error} for v in failed],
        "failures_by_reason": by_reason(failed),
        # streams: being recorded now, live and waiting (live = "after"), announced
        "live": app.store.videos.live(),
        "removed": [{"video_id": v.video_id, "title": v.title, "removed_at": v.removed_at,
                     "message": next((e["detail"] for e in reversed(app.store.videos.events(v))
                                      if e["event"] == "removed_at_source"), None)}
                    for v in app.store.videos.removed()],
    }


def by_reason(videos: list[store.Video]) -> list[dict]:
    """Failed videos grouped by the platform's message (URLs and ids taken out), most first."""
    groups: dict[str, list[str]] = {}
    for v in videos:
        reason = re.sub(r"https?://\S+", "<url>", v.error or "unknown").replace(v.video_id, "<id>")[:160]
        groups.setdefault(reason, []).append(v.video_id)
    return [{"reason": r, "count": len(ids), "videos": ids}
            for r, ids in sorted(groups.items(), key=lambda kv: -len(kv[1]))]
