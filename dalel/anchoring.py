"""Custody anchors: every video's chain head (its last entry's number and hash) written, as
one JSON object, into the S3 archive under Object Lock — and timestamped by the configured
RFC 3161 authorities — by the scheduler every `[cluster] anchor_every` (or `dalel cluster
anchor`). The database's custody log is append-only by trigger and by privilege; an anchor is
what even a database superuser cannot rewrite: `dalel verify --archive` checks each chain
against the latest anchor, and names entries removed since or a chain recomputed."""
from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import store

from . import tsa
from .errors import DalelError

if TYPE_CHECKING:
    from .app import App

__all__ = ["FOLDER", "anchor", "latest_heads"]
log = logging.getLogger("dalel")
FOLDER = "anchors"


def anchor(app: App) -> str:
    """Write the anchor now; returns its archive path. Needs the S3 archive."""
    objects = app.files.objects
    if objects is None:
        raise DalelError("anchors live in the S3 archive: set [cluster] archive_url")
    at = store.utcnow()
    heads = store.custody.all_heads(app.store)
    body = json.dumps({"at": at, "heads": {k: list(v) for k, v in heads.items()}}, ensure_ascii=False,
                      sort_keys=True, separators=(",", ":")).encode("utf-8")
    path = f"{FOLDER}/{at.replace(':', '')}-{time.time_ns() % 10**9:09d}.json"   # names sort by time
    app.config.tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=app.config.tmp_dir) as tmp:
        local = Path(tmp) / "anchor.json"
        local.write_bytes(body)
        objects.put(local, path)
        for n, (url, token) in enumerate(tsa.stamp(app.config.evidence.tsa_urls, body) if
                                         app.config.evidence.tsa_urls else [], start=1):
            (Path(tmp) / f"{n}.tsr").write_bytes(token)
            objects.put(Path(tmp) / f"{n}.tsr", f"{path}.{n}.tsr")
            log.info("anchor %s timestamped by %s", path, url)
    log.info("custody anchored: %d chain head(s) in %s", len(heads), path)
    return path


def latest_heads(app: App) -> tuple[str | None, dict[str, tuple[int, str]]]:
    """The latest anchor's path and heads (none without an S3 archive or an anchor)."""
    objects = app.files.objects
    if objects is None:
        return None, {}
    found = objects.latest(FOLDER)
    if found is None:
        return None, {}
    key, version = found
    data = json.loads(b"".join(objects.read(key, version)))
    return key, {k: (int(v[0]), str(v[1])) for k, v in data["heads"].items()}
