"""Evidence packages: a clip of the exact moment, its transcript and its provenance, in a ZIP
that anyone can check with sha256sum; and the checks (`dalel verify`) of packages and archive.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import hashlib
import json
import math
import os
import shutil
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import bagit

import monitor
from monitor.archive import inside
import store
import transcribe

from . import __version__, media, tsa
from .errors import DalelError
from .formats import hms, transcript_srt, transcript_vtt

if TYPE_CHECKING:
    from .app import App

FORMAT = "dalel-evidence/1"
CHECKSUMS = "SHA256SUMS"
PAYLOAD = ("clip.mp4", "clip.srt", "clip.vtt", "transcript.txt", "manifest.json")

README = """Dalel evidence package
======================

{title}
{channel} — {url}
Range {start} – {end} of the original (with {pad} s padding on each side).

Files
  clip.mp4         the moment, cut from the archived original ({encoding})
  clip.srt/.vtt    the transcript of that range, timed from the start of the clip
  transcript.txt   the same text with times in the original
  manifest.json    provenance: source, the original's name, size and SHA-256, the range,
                   the clip's SHA-256, transcript language and model, tools and versions
  SHA256SUMS       the SHA-256 of every file above
  manifest.json.N.tsr  (when present) RFC 3161 timestamps of manifest.json from trusted
                   timestamp authorities; check one with
                       openssl ts -verify -in manifest.json.1.tsr -data manifest.json -CAfile TSA-CA.pem

How to verify (standard tools only)
  1. Unpack the ZIP and run, in its folder:
         sha256sum -c SHA256SUMS
     Every line must say OK. (macOS: shasum -a 256 -c SHA256SUMS)
  2. The original this clip was cut from has SHA-256
         {original_sha}
     ({original_name}, {original_size} bytes). Anyone holding a copy of the original can run
         sha256sum {original_name}
     and compare. The clip can be re-cut from it with ffmpeg using the range in manifest.json.
  3. With Dalel and the archive: dalel verify PACKAGE.zip

Created {created} by dalel {version}.
"""


@dataclass(frozen=True)
class ClipRequest:
    video_id: str
    start: float
    end: float
    pad: float = 0.0
    copy: bool = False


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tool_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version
    try:
        fw = version("faster-whisper")
    except PackageNotFoundError:
        fw = "not installed"
    return {"dalel": __version__, "yt-dlp": monitor.ytdlp_version(), "faster-whisper": fw,
            "ffmpeg": media.ffmpeg_version()}


def original(app: App, video: store.Video, check: bool = True) -> tuple[Path, store.FileRecord]:
    """The archived original of a video, re-hashed against its recorded SHA-256."""
    rec = next((f for f in app.store.videos.files(video) if f.role == "media"), None)
    if rec is None:
        raise DalelError(f"video {video.video_id} is not archived; run `dalel poll` first")
    if app.files.in_s3(rec):     # fetched by its version and checked against the recorded hash
        return app.files.local(rec), rec
    path = app.files.local(rec)
    if not path.is_file():
        raise DalelError(f"the archived original {rec.path} is missing; restore it from a backup")
    if check and monitor.sha256_file(path) != rec.sha256:
        raise DalelError(f"the archived original {rec.path} no longer matches its SHA-256 "
                         f"recorded at capture; run `dalel verify --archive`")
    return path, rec


def clip_cues(app: App, video: store.Video, start: float, end: float) -> tuple[dict, list[dict]]:
    """The transcript and its segments within [start, end], times rebased to the clip."""
    try:
        t = app.store.transcripts.get(video)
    except store.NotFound:
        return {"source": None, "model": None, "language": None}, []
    cues = []
    for s in t["segments"]:
        if s["end"] > start and s["start"] < end and (s["end"] > 0 or s["start"] > 0):
            cues.append({"start": round(max(s["start"], start) - start, 3),
                         "end": round(min(s["end"], end) - start, 3),
                         "original_start": s["start"], "original_end": s["end"],
                         "text": s["text"], "lang": s["lang"]})
    return t, cues


def clip_range(req: ClipRequest, total: float) -> tuple[float, float]:
    """The range to cut: the request plus padding, within the video's `total` seconds."""
    if not all(math.isfinite(x) and 0 <= x < 1e7 for x in (req.start, req.end, req.pad)):
        raise DalelError("START, END and --pad must be seconds within the video (not NaN, not infinite)")
    start, end = max(0.0, req.start - req.pad), min(total, req.end + req.pad)
    if req.end <= req.start or start >= total or end <= start:
        raise DalelError(f"range {hms(req.start)}–{hms(req.end)} is empty or outside the video "
                         f"(0:00:00–{hms(total)}); give START < END within it")
    return start, end


def make_clip(app: App, req: ClipRequest, out: Path | None = None, fmt: str = "zip") -> Path:
    """Cut the clip and write the package (a ZIP, or a BagIt bag); returns its path."""
    video = app.store.videos.find(req.video_id)
    src, rec = original(app, video)
    start, end = clip_range(req, transcribe.media_duration(src))
    if out is None:   # the default lies in exports/, whatever the id (ids are safe names)
        exports = app.config.data_dir / "exports"
        out = inside(exports, f"{video.video_id}_{int(start)}-{int(end)}" + (".zip" if fmt == "zip" else ""))
    with tempfile.TemporaryDirectory(dir=_tmp(app)) as tmp:
        members = build_clip(app, video, src, rec, start, end, req, Path(tmp))
        digest = write_package(out, members, fmt, f"clip of {video.platform}:{video.video_id}, "
                                                  f"{hms(start)}–{hms(end)}")
    store.custody.record(app.store, video, "export", {
        "package": out.name, "sha256": digest, "start": start, "end": end,
        "clip_sha256": json.loads(members["manifest.json"])["clip"]["sha256"]})
    return out


def _tmp(app: App) -> Path:
    app.config.tmp_dir.mkdir(parents=True, exist_ok=True)
    return app.config.tmp_dir


def build_clip(app: App, video: store.Video, src: Path, rec: store.FileRecord, start: float,
               end: float, req: ClipRequest, tmp: Path) -> dict[str, bytes]:
    """The files of one clip package, by name."""
    clip = tmp / "clip.mp4"
    media.cut(src, clip, start, end - start, copy=req.copy)
    data = clip.read_bytes()
    t, cues = clip_cues(app, video, start, end)
    timed = {"segments": cues}
    text = "".join(f"[{hms(c['original_start'])}] {c['text']}\n" for c in cues)
    manifest = _manifest(app, video, rec, req, start, end, data, transcribe.media_duration(clip), t, cues)
    files = {"clip.mp4": data, "clip.srt": transcript_srt(timed).encode(),
             "clip.vtt": transcript_vtt(timed).encode(), "transcript.txt": text.encode(),
             "manifest.json": json.dumps(manifest, ensure_ascii=False, indent=2).encode() + b"\n"}
    files[CHECKSUMS] = "".join(f"{sha256_bytes(files[n])}  {n}\n" for n in PAYLOAD).encode()
    cfg = app.config.evidence
    for i, (_url, token) in enumerate(tsa.stamp(cfg.tsa_urls, files["manifest.json"]), start=1):
        files[f"manifest.json.{i}.tsr"] = token  # RFC 3161: the manifest existed at that time
    files["README.txt"] = README.format(
        title=video.title or video.video_id, channel=video.channel or "-", url=video.url,
        start=hms(req.start), end=hms(req.end), pad=req.pad,
        encoding="stream copy" if req.copy else "re-encoded H.264/AAC, frame-accurate",
        original_sha=rec.sha256, original_name=Path(rec.path).name, original_size=rec.size,
        created=manifest["created_at"], version=__version__).encode()
    return files


def _manifest(app: App, video: store.Video, rec: store.FileRecord, req: ClipRequest, start: float,
              end: float, clip: bytes, clip_duration: float, t: dict, cues: list[dict]) -> dict:
    meta = {"source_url": app.source_url(video), "url": video.url, "platform": video.platform,
            "platform_id": video.video_id, "channel": video.channel, "title": video.title,
            "published": video.published, "archived_at": video.archived_at}
    return {
        "format": FORMAT, "created_at": store.utcnow(), **meta,
        "original": {"file": Path(rec.path).name, "archive_path": rec.path, "size": rec.size,
                     "sha256": rec.sha256},
        "range": {"start": req.start, "end": req.end, "pad": req.pad,
                  "clip_start": round(start, 3), "clip_end": round(end, 3)},
        "clip": {"file": "clip.mp4", "sha256": sha256_bytes(clip), "size": len(clip),
                 "duration": round(clip_duration, 3),
                 "encoding": "stream copy" if req.copy else "h264/aac re-encode"},
        "transcript": {"source": t.get("source"), "model": t.get("model"),
                       "language": t.get("language"),
                       "text": " ".join(c["text"] for c in cues), "segments": cues},
        "tools": tool_versions(),
    }


FORMATS = ("zip", "bagit")
BAGGING = threading.Lock()    # bagit.make_bag changes the working directory while it runs


def write_package(out: Path, members: dict[str, bytes], fmt: str, description: str) -> str:
    """Write a package as a ZIP or as a BagIt bag (RFC 8493, a folder); returns the SHA-256
    the custody log records: the ZIP's, or the bag's tag manifest's (which covers its payload
    manifests and bag-info.txt)."""
    if fmt == "zip":
        return write_zip(out, members)
    if out.exists():
        raise DalelError(f"{out} exists; a bag is written to a new folder: choose another --out")
    partial = out.with_name(out.name + ".partial")
    try:
        shutil.rmtree(partial, ignore_errors=True)
        for name, data in members.items():
            (partial / name).parent.mkdir(parents=True, exist_ok=True)
            (partial / name).write_bytes(data)
        with BAGGING:
            bagit.make_bag(str(partial.resolve()), checksums=["sha256", "sha512"], bag_info={
                "Source-Organization": "Dalel evidence archive", "External-Description": description,
                "Bag-Software-Agent": f"dalel {__version__} with bagit.py"})
        os.replace(partial, out)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise DalelError(f"cannot write {out}: {exc.strerror or exc}; choose another --out") from exc
    return monitor.sha256_file(out / "tagmanifest-sha256.txt")


def write_zip(out: Path, members: dict[str, bytes], prefix: str = "") -> str:
    """Write a ZIP under a temporary name, then rename; returns its SHA-256."""
    partial = out.with_name(out.name + ".partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(partial, "w") as z:
            for name, data in members.items():
                kind = zipfile.ZIP_STORED if name.endswith(".mp4") else zipfile.ZIP_DEFLATED
                z.writestr(zipfile.ZipInfo(prefix + name, date_time=(2000, 1, 1, 0, 0, 0)), data,
                           compress_type=kind)
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True) if partial.parent.is_dir() else None
        raise DalelError(f"cannot write {out}: {exc.strerror or exc}; choose another --out") from exc
    return monitor.sha256_file(out)


# --- verification ---------------------------------------------------------------
