"""Where an archived file lives, and how every part of Dalel reads it: in the local archive
folder, or — with `[cluster] archive_url` — in S3 object storage by the VersionId recorded at
capture (`monitor/objects.py`). Originals fetched from S3 for ffmpeg or Whisper are scratch
copies, checked against the recorded SHA-256 and removed when the work is done."""
from __future__ import annotations

import itertools
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import monitor
import store

from .errors import DalelError

if TYPE_CHECKING:
    from .app import App

__all__ = ["ArchivedFiles"]
log = logging.getLogger("dalel")


SCRATCH = "originals-"
_SCRATCHES = itertools.count(1)


def scratch_in_use(name: str) -> bool:
    """Whether a scratch folder belongs to a running process (else it is a crash's leftover)."""
    pid = name[len(SCRATCH):].split("-")[0]
    return name.startswith(SCRATCH) and pid.isdigit() and Path(f"/proc/{pid}").exists()


class ArchivedFiles:
    def __init__(self, app: App):
        self.app = app
        self._objects: monitor.ObjectArchive | None = None
        # this App's own (workers on one machine share the data folder): originals-PID-N
        self.scratch = app.config.tmp_dir / f"{SCRATCH}{os.getpid()}-{next(_SCRATCHES)}"

    @property
    def objects(self) -> monitor.ObjectArchive | None:
        """The S3 archive (its bucket checked once: Object Lock or nothing), or None."""
        c = self.app.config.cluster
        if not c.archive_url:
            return None
        if self._objects is None:
            try:
                import boto3  # noqa: F401
            except ImportError as exc:
                raise DalelError("[cluster] archive_url needs boto3: install Dalel with its cluster extra "
                                 "(pip install 'dalel[cluster]')") from exc
            objects = monitor.ObjectArchive(monitor.S3Options(
                c.archive_url, c.s3_endpoint_url or None, c.retention_days, c.legal_hold))
            try:
                objects.check()
            except monitor.MonitorError as exc:
                raise DalelError(str(exc)) from exc
            self._objects = objects
        return self._objects

    def check(self) -> None:
        """Refuse to start on an S3 archive that cannot hold evidence (checked once)."""
        if self.app.config.cluster.archive_url and self.objects is None:
            raise DalelError("the S3 archive is not available")

    def _key(self, rec: store.FileRecord) -> tuple[monitor.ObjectArchive, str, str]:
        objects = self.objects
        if objects is None or rec.version_id is None:
            raise DalelError(f"{rec.path} is in S3 but [cluster] archive_url is not set; set it as it was")
        return objects, objects.key(rec.path), rec.version_id

    def in_s3(self, rec: store.FileRecord) -> bool:
        return rec.version_id is not None

    def read(self, rec: store.FileRecord) -> bytes:
        if not self.in_s3(rec):
            return (self.app.config.archive_dir / rec.path).read_bytes()
        objects, key, version = self._key(rec)
        return b"".join(objects.read(key, version))

    def sha256(self, rec: store.FileRecord) -> str | None:
        """The file's SHA-256 now (re-hashed; from S3 by its version), or None when it is gone."""
        if not self.in_s3(rec):
            path = self.app.config.archive_dir / rec.path
            return monitor.sha256_file(path) if path.is_file() else None
        objects, key, version = self._key(rec)
        try:
            return objects.sha256(key, version)
        except Exception as exc:   # botocore's NoSuchKey / NoSuchVersion, connection errors
            log.warning("cannot read s3 %s (version %s): %s", key, version, exc)
            return None

    def local(self, rec: store.FileRecord) -> Path:
        """A local path of the file: the archive's own, or a scratch copy fetched from S3 and
        checked against the recorded hash (removed by `release`)."""
        if not self.in_s3(rec):
            return self.app.config.archive_dir / rec.path
        objects, key, version = self._key(rec)
        self.scratch.mkdir(parents=True, exist_ok=True)
        target = self.scratch / f"{rec.sha256}{Path(rec.path).suffix}"
        if not target.exists():
            got = objects.download(key, version, target)
            if got != rec.sha256:
                target.unlink(missing_ok=True)
                raise DalelError(f"{rec.path} in S3 (version {version}) hashes to {got[:16]}…, recorded "
                                 f"{rec.sha256[:16]}…; run `dalel verify --archive`")
        return target

    def url(self, rec: store.FileRecord, seconds: int = 600) -> str | None:
        """A short-lived GET URL for a file in S3 (players ask it for ranges); None when local."""
        if not self.in_s3(rec):
            return None
        objects, key, version = self._key(rec)
        return objects.presign(key, version, seconds)

    def store_folder(self, folder: Path, rel: str) -> dict[str, monitor.StoredObject]:
        """Upload a capture's folder (manifest last); by archive-relative path."""
        objects = self.objects
        assert objects is not None
        return {o.path: o for o in objects.upload(folder, rel)}

    def release(self) -> None:
        """Remove scratch copies of originals."""
        shutil.rmtree(self.scratch, ignore_errors=True)
