"""RFC 3161 timestamps on captures: when `[evidence] tsa_urls` is set, each archived video's
manifest.json (which lists the SHA-256 of every file of the capture) is timestamped by every
configured authority right after archiving. The tokens are stored beside it
(`manifest.json.N.tsr`: in the archive folder, or as objects of their own in S3), hashed,
recorded as files of the capture and in the custody log: proof from a third party that the
capture existed, unaltered, at that time. When no authority answers, a `timestamp` job is
queued and retried with back-off."""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import store

from . import tsa

if TYPE_CHECKING:
    from .app import App

__all__ = ["stamp_capture", "timestamp_capture"]
log = logging.getLogger("dalel")


def stamp_capture(app: App, video: store.Video) -> int:
    """Timestamp the capture's manifest; returns the tokens written (0: no authority answered)."""
    urls = app.config.evidence.tsa_urls
    files = app.store.videos.files(video)
    manifest = next((f for f in files if f.role == "manifest"), None)
    if not urls or manifest is None:
        return 0
    data = app.files.read(manifest)
    if hashlib.sha256(data).hexdigest() != manifest.sha256:
        raise store.StoreError(f"{manifest.path} no longer has the hash recorded at capture; "
                               "not timestamping it (run `dalel verify --archive`)")
    tokens = tsa.stamp(urls, data)
    if not tokens:
        return 0
    first = 1 + sum(f.role == "timestamp" for f in files)
    folder = manifest.path.rsplit("/", 1)[0]
    records, details = [], {}
    for i, (url, token) in enumerate(tokens, start=first):
        name = f"manifest.json.{i}.tsr"
        record = _store_token(app, token, f"{folder}/{name}")
        records.append(record)
        details[name] = {"tsa": url, "sha256": record.sha256}
    app.store.videos.add_files(video, records, "timestamp",
                               {"manifest_sha256": manifest.sha256, "tokens": details})
    return len(records)


def _store_token(app: App, token: bytes, path: str) -> store.FileRecord:
    """A token written beside its manifest (complete or absent, never half written), or put
    into S3 as an object of its own."""
    digest = hashlib.sha256(token).hexdigest()
    objects = app.files.objects
    if objects is None:
        target = app.config.archive_dir / path
        part = target.with_name(target.name + ".part")
        part.write_bytes(token)
        os.replace(part, target)
        return store.FileRecord("timestamp", path, len(token), digest)
    app.config.tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=app.config.tmp_dir) as tmp:
        local = Path(tmp) / path.rsplit("/", 1)[-1]
        local.write_bytes(token)
        stored = objects.put(local, path)
    return store.FileRecord("timestamp", path, len(token), digest, stored.version_id)


def timestamp_capture(app: App, video: store.Video, queue: bool = True) -> bool:
    """RFC 3161 timestamps on the capture's manifest (stamping.py); when no authority
    answers, a `timestamp` job is queued (`queue`) and the daemon retries it."""
    try:
        if stamp_capture(app, video):
            return True
    except (OSError, store.StoreError) as exc:
        log.warning("timestamp of %s failed: %s", video.video_id, exc)
        return False
    log.warning("timestamp of %s: no authority answered; queued to try again", video.video_id)
    if queue:
        app.queue.enqueue("timestamp", video.id, delay_s=app.config.monitor.retry_base)
    return False
