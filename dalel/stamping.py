"""RFC 3161 timestamps on captures: when `[evidence] tsa_urls` is set, each archived video's
manifest.json (which lists the SHA-256 of every file of the capture) is timestamped by every
configured authority right after archiving. The tokens are written beside it
(`manifest.json.N.tsr`), hashed, recorded as files of the capture and in the custody log: proof
from a third party that the capture existed, unaltered, at that time. When no authority
answers, a `timestamp` job is queued and retried with back-off."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import monitor
import store

from . import tsa

if TYPE_CHECKING:
    from .app import App

__all__ = ["stamp_capture"]


def stamp_capture(app: App, video: store.Video) -> int:
    """Timestamp the capture's manifest; returns the tokens written (0: no authority answered)."""
    urls = app.config.evidence.tsa_urls
    files = app.store.videos.files(video)
    manifest = next((f for f in files if f.role == "manifest"), None)
    if not urls or manifest is None:
        return 0
    path = app.config.archive_dir / manifest.path
    data = path.read_bytes()
    if monitor.sha256_file(path) != manifest.sha256:
        raise store.StoreError(f"{manifest.path} no longer has the hash recorded at capture; "
                               "not timestamping it (run `dalel verify --archive`)")
    tokens = tsa.stamp(urls, data)
    if not tokens:
        return 0
    first = 1 + sum(f.role == "timestamp" for f in files)
    records, details = [], {}
    for i, (url, token) in enumerate(tokens, start=first):
        target = path.with_name(f"{path.name}.{i}.tsr")
        part = target.with_name(target.name + ".part")
        part.write_bytes(token)
        os.replace(part, target)       # complete or absent, never half written
        rel = f"{manifest.path.rsplit('/', 1)[0]}/{target.name}"
        digest = monitor.sha256_file(target)
        records.append(store.FileRecord("timestamp", rel, len(token), digest))
        details[target.name] = {"tsa": url, "sha256": digest}
    app.store.videos.add_files(video, records, "timestamp",
                               {"manifest_sha256": manifest.sha256, "tokens": details})
    return len(records)
