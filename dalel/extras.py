"""Text beside the speech, searchable and tagged by source: a video's title and description,
the platform's subtitles and auto-captions, and transcripts imported by hand (SRT, WebVTT,
plain text)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import store

from .errors import DalelError
from .formats import parse_subtitles

if TYPE_CHECKING:
    from .app import App

__all__ = ["import_transcript", "index_extras"]
log = logging.getLogger("dalel")


def index_extras(app: App, video: store.Video) -> None:
    """Make the title, description and platform subtitles searchable, each tagged by source."""
    meta = [video.title or ""] + [p for p in (video.description or "").split("\n") if p.strip()]
    _store_text(app, video, "metadata", [(0.0, 0.0, t) for t in meta if t.strip()], None,
                     model="title and description")
    for f in app.store.videos.files(video):
        if f.role != "subtitles":
            continue
        name = f.path.rsplit("/", 1)[-1]
        try:
            cues = parse_subtitles(app.files.read(f).decode("utf-8", errors="replace"))
        except (OSError, ValueError, DalelError) as exc:
            log.warning("subtitles %s not indexed: %s", f.path, exc)
            continue
        _store_text(app, video, "subtitles", cues, _lang_from_name(name), model=name)


def import_transcript(app: App, video_id: str, path: Path, lang: str | None) -> int:
    """Import an SRT, WebVTT or plain-text transcript as another transcript of a video."""
    video = app.store.videos.find(video_id)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DalelError(f"cannot read {path}: {exc}; give a UTF-8 SRT, WebVTT or text file") from exc
    try:
        cues = parse_subtitles(text)
    except ValueError as exc:
        raise DalelError(f"{path}: {exc}; fix the file and import it again") from exc
    if not cues:
        raise DalelError(f"{path} holds no transcript text")
    return _store_text(app, video, "import", cues, lang, model=path.name)


def _store_text(app: App, video: store.Video, source: str, cues: list[tuple[float, float, str]],
                lang: str | None, model: str) -> int:
    records = [store.SegmentRecord(a, b, t, lang or store.guess_lang(t)) for a, b, t in cues]
    tid = app.store.transcripts.add_text(video, source=source, model=model, segments=records,
                                         bridges=source != "metadata")
    app.check_watches(tid)
    return len(records)


def _lang_from_name(name: str) -> str | None:
    """"ID.ru.vtt" → "ru"; "ID.kk-orig.vtt" → "kk"."""
    parts = name.split(".")
    code = parts[-2].split("-")[0] if len(parts) >= 3 else ""
    return code if code in store.LANGUAGES else None
