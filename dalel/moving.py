"""`dalel cluster import`: an embedded archive moved into a cluster. Its originals go into the
S3 archive: each file re-hashed against its recorded SHA-256 on the way (a file that changed is
not moved: it is named), uploaded under Object Lock (each folder's manifest last), its VersionId
recorded with a custody entry naming where it went, the video's chain re-verified — and only
then is the local copy removed. Then its state is copied into the cluster's PostgreSQL
(`store.transfer`), the custody log carried over as it is and verified there."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import monitor
import store

from .errors import DalelError

if TYPE_CHECKING:
    from .app import App

__all__ = ["import_archive", "move_to_s3"]
log = logging.getLogger("dalel")


def move_to_s3(app: App, progress: Callable[[str], None] = lambda _: None) -> tuple[int, int, list[str]]:
    """Move every local original into S3; returns (videos moved, files moved, problems)."""
    objects = app.files.objects
    if objects is None:
        raise DalelError("set [cluster] archive_url (and s3_endpoint_url) first: the S3 archive to move into")
    videos = files = 0
    problems: list[str] = []
    for video in app.store.videos.all():
        local = [f for f in app.store.videos.files(video) if f.version_id is None]
        if not local:
            continue
        wrong = [f.path for f in local if app.files.sha256(f) != f.sha256]
        if wrong:
            problems.append(f"{video.video_id}: {', '.join(wrong)} changed since capture or missing: not moved; "
                            "run `dalel verify --archive`")
            continue
        progress(f"moving {video.video_id} ({len(local)} file(s))")
        versions = _upload(app, objects, local)
        app.store.videos.moved(video, versions, f"s3://{objects.bucket}/{objects.prefix}".rstrip("/"))
        entries, chain = store.custody.chain(app.store, video)
        if chain:
            problems.append(f"{video.video_id}: custody chain: {'; '.join(chain)}")
        for f in local:               # recorded and locked in S3: the local copy may go
            (app.config.archive_dir / f.path).unlink(missing_ok=True)
        videos, files = videos + 1, files + len(local)
    return videos, files, problems


def _upload(app: App, objects: monitor.ObjectArchive, local: list[store.FileRecord]) -> dict[str, str]:
    """Each file PUT by its archive-relative path, manifests last; path → VersionId."""
    versions: dict[str, str] = {}
    for f in sorted(local, key=lambda f: (f.role.endswith("manifest"), f.path)):
        source = app.config.archive_dir / f.path
        stored = objects.put(source, f.path)
        if stored.sha256 != f.sha256:
            raise DalelError(f"{f.path} changed while it was uploaded; run `dalel cluster import` again")
        versions[f.path] = stored.version_id
    return versions




def import_archive(app: App, source: Path, progress: Callable[[str], None] = lambda _: None,
                   say: Callable[[str], None] = lambda _: None) -> list[str]:
    """`dalel cluster import --from SOURCE` into the cluster `app` runs on; returns problems."""
    from .app import App
    cfg = app.config
    same = source.resolve() == cfg.data_dir.resolve()
    if not cfg.cluster.database_url and not same:
        raise DalelError(f"{source} is not this configuration's data folder ({cfg.data_dir}): to import another "
                         "archive, set [cluster] database_url (the cluster's PostgreSQL) and archive_url")
    if cfg.cluster.database_url and not (source / "dalel.sqlite3").is_file():
        raise DalelError(f"{source} holds no archive (no dalel.sqlite3): give the data folder of an embedded archive")
    if cfg.cluster.database_url and not cfg.cluster.archive_url:
        raise DalelError("set [cluster] archive_url too: a cluster keeps its originals in S3, "
                         "not in one machine's folder")
    problems: list[str] = []
    if cfg.cluster.archive_url:
        embedded = dataclasses.replace(cfg, data_dir=source, cluster=dataclasses.replace(cfg.cluster, database_url=""))
        with App(embedded) as local:
            videos, files, problems = move_to_s3(local, progress)
        say(f"moved {files} file(s) of {videos} video(s) into {cfg.cluster.archive_url}")
    if cfg.cluster.database_url:
        with store.Store(source / "dalel.sqlite3") as src:
            got = store.copy_archive(src, app.store, progress)
        say(f"copied {got['copied']} video(s) into the cluster's database"
            + (f"; {len(got['kept'])} it already held were kept as they are" if got["kept"] else ""))
        problems += got["problems"]
    return problems
