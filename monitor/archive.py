"""Archive one video: download into a work folder, hash, write the manifest, rename into place.

The archive folder of a video appears in one rename, complete with its manifest,
so a crash leaves either nothing or the whole folder. A partial download stays
in the work folder and yt-dlp resumes it on the next try.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from . import ytdlp
from .errors import Deferred, DownloadError
from .feeds import safe_id

MANIFEST = "manifest.json"
_SUBTITLE_EXT = (".vtt", ".srt", ".ttml", ".srv1", ".srv2", ".srv3", ".json3", ".ass", ".lrc")
_THUMB_EXT = (".jpg", ".jpeg", ".png", ".webp", ".gif")


@dataclass(frozen=True)
class ArchiveOptions:
    archive_root: Path
    tmp_root: Path
    ytdlp: ytdlp.YtdlpOptions = field(default_factory=ytdlp.YtdlpOptions)
    tools: dict[str, str] = field(default_factory=dict)   # name → version, for the manifest


@dataclass(frozen=True)
class ArchivedFile:
    role: str      # media | info | thumbnail | description | subtitles | chat | manifest
    path: str      # relative to the archive root
    size: int
    sha256: str


@dataclass(frozen=True)
class Archived:
    platform: str
    video_id: str
    folder: str    # relative to the archive root
    files: tuple[ArchivedFile, ...]
    meta: dict[str, Any]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def platform_of(info: dict[str, Any]) -> str:
    key = (info.get("extractor_key") or "").lower()
    if key.startswith("youtube"):
        return "youtube"
    # the host without a port, as for feed entries (and a safe folder name)
    return (urlsplit(info.get("webpage_url") or "").hostname or key or "web").lower()


def folder_for(platform: str, video_id: str) -> str:
    """The archive folder of a video, relative to the archive root. Both parts must be safe
    names (safe_id): anything that could name another place is refused."""
    for part in (platform, video_id):
        if not part or part in (".", "..") or "/" in part or "\\" in part or "\x00" in part:
            raise DownloadError(f"unsafe archive folder name {part!r}; not archived", permanent=True)
    return f"{platform}/{video_id}"


def inside(root: Path, relative: str | Path) -> Path:
    """`root / relative`, resolved; a DownloadError when it would lie outside `root`."""
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or path == base:
        raise DownloadError(f"{relative} would be written outside {root}; not archived", permanent=True)
    return path


def archive(url: str, opts: ArchiveOptions, *, platform: str | None = None,
            video_id: str | None = None, source_url: str | None = None,
            known: Callable[[str, str], bool] | None = None,
            hint: dict[str, Any] | None = None,
            should_stop: Callable[[], bool] = lambda: False,
            on_live: Callable[[], None] | None = None, suffix: str = "") -> Archived | None:
    """Archive the video at `url`. Returns None when `known(platform, id)` says it is archived.
    A stream live now is recorded when `opts.ytdlp.live` (`on_live` is told as it starts).
    `suffix` names a second capture of the same video (its folder's name + suffix)."""
    if platform and video_id:
        done = inside(opts.archive_root, folder_for(platform, video_id) + suffix) / MANIFEST
        if done.exists():  # archived before a crash cut the database write short
            return adopt(opts.archive_root, folder_for(platform, video_id) + suffix)
    work = inside(opts.tmp_root, f"{platform}-{video_id}{suffix}" if platform and video_id
                  else "url-" + hashlib.sha1(url.encode()).hexdigest()[:16])
    work.mkdir(parents=True, exist_ok=True)

    def wanted(info: dict[str, Any]) -> bool:
        if on_live is not None and info.get("live_status") == "is_live":
            on_live()
        return known is None or not known(platform or platform_of(info), video_id or safe_id(str(info["id"])))

    try:
        info = ytdlp.download(url, work, opts.ytdlp, force_id=video_id, wanted=wanted,
                              should_stop=should_stop)
    except DownloadError as exc:
        # keep a partial download to resume; nothing else is left behind in tmp/
        # (and not a partial file that keeps a full disk full)
        if exc.permanent or "No space left" in str(exc) or \
                not any(p.is_file() and p.stat().st_size for p in work.iterdir()):
            shutil.rmtree(work, ignore_errors=True)
        raise
    except Deferred:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if info is None:
        shutil.rmtree(work, ignore_errors=True)
        return None
    platform = platform or safe_id(platform_of(info))
    video_id = video_id or safe_id(str(info["id"]))
    media = _media_path(info, work)
    meta = _meta(info, hint or {}, url, source_url)
    if info.get("live_status") == "is_live":      # recorded while live: how did it end?
        meta["live"] = _live_end(url, opts.ytdlp)
    return _commit(work, opts, platform, video_id, media, meta, suffix)


def _live_end(url: str, opts: ytdlp.YtdlpOptions) -> dict[str, Any]:
    """A live recording's end: the stream ended (the recording is complete as far as the
    platform tells), or it disappeared mid-way (what was recorded until then is kept,
    marked incomplete with the time it stopped)."""
    stopped = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        gone = ytdlp.check_available(url, opts)
    except DownloadError as exc:
        return {"recorded": "while live", "stopped_at": stopped, "complete": None,
                "after": f"unknown: {str(exc)[:200]}"}
    return {"recorded": "while live", "stopped_at": stopped, "complete": gone is None,
            "after": "the stream ended" if gone is None else f"the stream disappeared: {gone[:200]}"}


def _media_path(info: dict[str, Any], work: Path) -> Path:
    for d in info.get("requested_downloads") or []:
        p = Path(d.get("filepath") or "")
        if p.is_file():
            return p
    raise DownloadError(f"yt-dlp reported no downloaded media for {info.get('id')}; "
                        "the source may offer no downloadable format")


def _meta(info: dict[str, Any], hint: dict[str, Any], url: str, source_url: str | None) -> dict:
    published = None
    if info.get("timestamp"):
        published = datetime.fromtimestamp(info["timestamp"], timezone.utc).isoformat()
    elif info.get("upload_date"):
        d = info["upload_date"]
        published = f"{d[:4]}-{d[4:6]}-{d[6:8]}"
    return {
        "url": url,
        "webpage_url": info.get("webpage_url") or url,
        "source_url": source_url,
        "platform_id": info.get("id"),
        "title": hint.get("title") or info.get("title"),
        "channel": hint.get("channel") or info.get("channel") or info.get("uploader"),
        "description": hint.get("description") or info.get("description"),
        "published": hint.get("published") or published,
        "duration": info.get("duration"),
        "was_live": info.get("was_live"),
    }


def _role(name: str, media_name: str) -> str:
    if name == media_name:
        return "media"
    if name.endswith(".info.json"):
        return "info"
    if name.endswith(".live_chat.json"):
        return "chat"
    if name.endswith(".description"):
        return "description"
    if name.endswith(_SUBTITLE_EXT):
        return "subtitles"
    if name.endswith(_THUMB_EXT):
        return "thumbnail"
    return "other"


def _commit(work: Path, opts: ArchiveOptions, platform: str, video_id: str, media: Path,
            meta: dict[str, Any], suffix: str = "") -> Archived:
    folder = folder_for(platform, video_id) + suffix
    leftovers = [p for p in work.iterdir() if p.name.endswith((".part", ".ytdl", ".temp"))]
    for p in leftovers:
        p.unlink()
    files = []
    for p in sorted(work.iterdir()):
        if p.is_file() and p.name != MANIFEST:
            files.append(ArchivedFile(_role(p.name, media.name), f"{folder}/{p.name}",
                                      p.stat().st_size, sha256_file(p)))
    manifest = {
        "format": "dalel-archive-manifest/1",
        "platform": platform, "video_id": video_id, **meta,
        "archived_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tools": opts.tools | {"yt-dlp": ytdlp.version()},
        "files": [{"name": Path(f.path).name, "role": f.role, "size": f.size, "sha256": f.sha256}
                  for f in files],
    }
    (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                 encoding="utf-8")
    for p in work.iterdir():
        p.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    final = inside(opts.archive_root, folder)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.rename(work, final)  # atomic: the folder appears complete or not at all
    return adopt(opts.archive_root, folder, verify=False)


def adopt(archive_root: Path, folder: str, verify: bool = True) -> Archived:
    """Read an archived folder's manifest (re-hashing its files when `verify`)."""
    base = archive_root / folder
    manifest = json.loads((base / MANIFEST).read_text(encoding="utf-8"))
    files = []
    for f in manifest["files"]:
        if verify and sha256_file(base / f["name"]) != f["sha256"]:
            raise DownloadError(f"{folder}/{f['name']} does not match its manifest hash",
                                permanent=True)
        files.append(ArchivedFile(f["role"], f"{folder}/{f['name']}", f["size"], f["sha256"]))
    mpath = base / MANIFEST
    files.append(ArchivedFile("manifest", f"{folder}/{MANIFEST}", mpath.stat().st_size,
                              sha256_file(mpath)))
    meta = {k: manifest.get(k) for k in ("title", "channel", "description", "published",
                                          "duration", "webpage_url", "url", "live")}
    return Archived(manifest["platform"], manifest["video_id"], folder, tuple(files), meta)


def clean_tmp(tmp_root: Path, keep: Callable[[Path], bool] = lambda p: False) -> int:
    """Remove work folders left by a crash (except those `keep` wants resumed)."""
    n = 0
    if tmp_root.is_dir():
        for p in tmp_root.iterdir():
            if not keep(p):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
                n += 1
    return n
