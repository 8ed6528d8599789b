"""A stream recorded while live, and the platform's final version of it: with
`[monitor] live_final = true`, once the stream has ended the final version is fetched (by the
daemon's re-check) and, only when it is longer than the recording (a recording that began
after the stream did, or was cut short), it becomes the video's capture and is transcribed
again. The recording stays archived; the custody log holds both captures' hashes."""
from __future__ import annotations

import logging
import shutil
from typing import TYPE_CHECKING

import monitor
import store
import transcribe

from .errors import DalelError

if TYPE_CHECKING:
    from .app import App

__all__ = ["maybe_take_final", "take_final"]
log = logging.getLogger("dalel")
LONGER_S = 1.0      # the final version must be longer than the recording by more than this


def take_final(app: App, video: store.Video) -> bool:
    """Fetch the final version of a stream recorded while live; keep it when longer. Returns
    whether it replaced the recording."""
    media = next((f for f in app.store.videos.files(video) if f.role == "media"), None)
    # only once the recording is fully processed: its transcription must not race the final's
    if media is None or video.live_status not in ("recorded", "recorded_incomplete") or video.state != "transcribed":
        return False
    recorded = transcribe.media_duration(app.files.local(media))
    got = monitor.archive(video.url, app.archive_options(), platform=video.platform, video_id=video.video_id,
                          source_url=app.source_url(video), suffix="-final")
    assert got is not None
    staged = app.archive_root / got.folder
    final_media = next(f for f in got.files if f.role == "media")
    final = transcribe.media_duration(app.archive_root / final_media.path)
    if final <= recorded + LONGER_S:
        shutil.rmtree(staged, ignore_errors=True)      # never recorded: not part of the archive
        app.store.videos.set_live_status(video, "final_not_longer")
        log.info("final version of %s is not longer (%.1f s vs %.1f s recorded): the recording stays",
                 video.video_id, final, recorded)
        return False
    files = app.stored_files(got)
    app.store.videos.replace_capture(video, got.folder, files, got.meta | {"duration": final})
    if app.config.cluster.archive_url:
        shutil.rmtree(staged, ignore_errors=True)
    app.queue.enqueue("transcribe", video.id)
    log.info("final version of %s replaces the live recording (%.1f s vs %.1f s recorded)",
             video.video_id, final, recorded)
    return True


def maybe_take_final(app: App, video: store.Video) -> bool:
    """With [monitor] live_final: a longer final version replaces a live recording (finals.py)."""
    if not app.config.monitor.live_final or video.live_status not in ("recorded", "recorded_incomplete"):
        return False
    try:
        return take_final(app, video)
    except monitor.Deferred:
        return False               # still live, or announced again: the next re-check tries
    except (monitor.MonitorError, DalelError) as exc:
        log.warning("final version of %s not taken: %s", video.video_id, exc)
        return False
