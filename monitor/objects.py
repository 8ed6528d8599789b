"""The archive in S3 object storage with versioning and Object Lock (AWS S3, Ceph RGW,
SeaweedFS): what an archive folder becomes when `[cluster] archive_url` is set.

A capture is uploaded file by file from local scratch — each PUT carries the file's SHA-256
(`ChecksumSHA256`, checked by the server), `If-None-Match: *` (never overwrite) and COMPLIANCE
retention (nobody, the archiver included, can delete or shorten it) — and its `manifest.json`
last, the commit point. The caller records each object's key, VersionId and hash in one
transaction; reads go by VersionId, so a later object under the same key is never taken for
the original. The bucket is created by its operator with Object Lock enabled; `check()`
refuses one without it.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from .archive import MANIFEST, sha256_file
from .errors import DownloadError, MonitorError

__all__ = ["ObjectArchive", "S3Options", "StoredObject"]

MAX_SINGLE_PUT = 5 * 1024 ** 3     # S3's limit for one PUT; larger files go in parts
PART_SIZE = 256 * 1024 ** 2         # each part of a multipart upload (S3: 5 MiB to 5 GiB, ≤ 10,000)


@dataclass(frozen=True)
class S3Options:
    archive_url: str                   # s3://bucket/prefix
    endpoint_url: str | None = None    # None: AWS
    retention_days: int = 3650
    legal_hold: bool = False


@dataclass(frozen=True)
class StoredObject:
    path: str           # archive-relative, as a local archive names it (folder/name)
    key: str
    version_id: str
    size: int
    sha256: str


def _b64(hexdigest: str) -> str:
    return base64.b64encode(bytes.fromhex(hexdigest)).decode()


class ObjectArchive:
    def __init__(self, opts: S3Options, client: Any = None):
        import boto3
        from botocore.config import Config as BotoConfig
        parts = urlsplit(opts.archive_url)
        self.opts = opts
        self.bucket, self.prefix = parts.netloc, parts.path.strip("/")
        self.client = client or boto3.client(
            "s3", endpoint_url=opts.endpoint_url or None,
            config=BotoConfig(retries={"max_attempts": 5, "mode": "standard"},
                              request_checksum_calculation="when_required"))

    def key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def _error(self, exc: Exception) -> str:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
        return f"{code or type(exc).__name__}: {exc}"

    def check(self) -> None:
        """Refuse a bucket that cannot hold evidence: missing, unversioned, or without Object Lock."""
        from botocore.exceptions import BotoCoreError, ClientError
        try:
            lock = self.client.get_object_lock_configuration(Bucket=self.bucket)
            versioning = self.client.get_bucket_versioning(Bucket=self.bucket)
        except ClientError as exc:
            raise MonitorError(f"bucket {self.bucket!r} has no Object Lock or cannot be read "
                               f"({self._error(exc)}); create it with Object Lock enabled "
                               "(aws s3api create-bucket --object-lock-enabled-for-bucket …)") from exc
        except BotoCoreError as exc:
            raise MonitorError(f"cannot reach the S3 server for bucket {self.bucket!r}: {exc}; "
                               "check [cluster] s3_endpoint_url and the credentials") from exc
        if lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled" or \
                versioning.get("Status") != "Enabled":
            raise MonitorError(f"bucket {self.bucket!r} has no Object Lock: create it with Object Lock "
                               "enabled, so no one can delete or overwrite an archived original")

    def upload(self, folder: Path, rel_folder: str) -> list[StoredObject]:
        """Upload an archive folder, manifest.json last; returns every object stored. A file
        already stored with the same hash (an upload cut short) counts as stored."""
        files = sorted((p for p in folder.iterdir() if p.is_file()), key=lambda p: (p.name == MANIFEST, p.name))
        return [self.put(p, f"{rel_folder}/{p.name}") for p in files]

    def put(self, local: Path, path: str) -> StoredObject:
        from botocore.exceptions import BotoCoreError, ClientError
        size, digest, key = local.stat().st_size, sha256_file(local), self.key(path)
        until = datetime.now(timezone.utc) + timedelta(days=self.opts.retention_days)
        extra = {"ObjectLockLegalHoldStatus": "ON"} if self.opts.legal_hold else {}
        try:
            if size > MAX_SINGLE_PUT:
                version = self._put_parts(local, key, ObjectLockMode="COMPLIANCE",
                                          ObjectLockRetainUntilDate=until, **extra)
            else:
                with open(local, "rb") as body:
                    done = self.client.put_object(
                        Bucket=self.bucket, Key=key, Body=body, ChecksumSHA256=_b64(digest), IfNoneMatch="*",
                        ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until, **extra)
                version = done.get("VersionId")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in ("PreconditionFailed", "412"):
                raise DownloadError(f"cannot store {path} in s3://{self.bucket}: {self._error(exc)}") from exc
            version = self._same(key, digest, path)
        except BotoCoreError as exc:
            raise DownloadError(f"cannot reach the S3 server to store {path}: {exc}") from exc
        if not version:
            raise DownloadError(f"s3://{self.bucket} gave no VersionId for {path}: is versioning on?",
                                permanent=True)
        return StoredObject(path, key, version, size, digest)

    def latest(self, folder: str) -> tuple[str, str] | None:
        """The last object (by name) under an archive-relative folder and its VersionId: the
        newest of names that sort by time."""
        prefix = self.key(folder.rstrip("/") + "/")
        last = None
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if last is None or obj["Key"] > last:
                    last = obj["Key"]
        if last is None:
            return None
        head = self.client.head_object(Bucket=self.bucket, Key=last)
        return last, str(head.get("VersionId") or "")

    def _put_parts(self, local: Path, key: str, **lock: Any) -> str | None:
        """A file over one PUT's limit, in parts, each with its SHA-256 (the server refuses a part
        whose bytes differ), under the same lock, completed only if the key is new; returns the
        VersionId. A failed upload is aborted (no part left behind)."""
        up = self.client.create_multipart_upload(Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256", **lock)
        parts: list[dict[str, Any]] = []
        try:
            with open(local, "rb") as f:
                while chunk := f.read(PART_SIZE):
                    number = len(parts) + 1
                    sha = _b64(hashlib.sha256(chunk).hexdigest())
                    got = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=up["UploadId"],
                                                  PartNumber=number, Body=chunk, ChecksumSHA256=sha)
                    parts.append({"PartNumber": number, "ETag": got["ETag"], "ChecksumSHA256": sha})
            done = self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=up["UploadId"],
                                                         MultipartUpload={"Parts": parts}, IfNoneMatch="*")
        except Exception:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=up["UploadId"])
            raise
        return done.get("VersionId")

    def _same(self, key: str, digest: str, path: str) -> str:
        """The version already stored under `key` when it holds the same bytes; else an error."""
        head = self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        if "-" in str(head.get("ChecksumSHA256") or ""):    # stored in parts: its checksum is of theirs
            if self.sha256(key, str(head.get("VersionId"))) != digest:
                raise DownloadError(f"{path} is already in the archive with another content; it is never "
                                    "overwritten", permanent=True)
            return str(head.get("VersionId") or "")
        if head.get("ChecksumSHA256") != _b64(digest):
            raise DownloadError(f"{path} is already in the archive with another content; it is never "
                                "overwritten", permanent=True)
        return str(head.get("VersionId") or "")

    def read(self, key: str, version_id: str, start: int | None = None, end: int | None = None) -> Iterator[bytes]:
        """The bytes of one version (a range when given, `end` inclusive), in chunks."""
        extra = {"Range": f"bytes={start or 0}-{'' if end is None else end}"} if start or end is not None else {}
        body = self.client.get_object(Bucket=self.bucket, Key=key, VersionId=version_id, **extra)["Body"]
        yield from body.iter_chunks(1 << 20)

    def sha256(self, key: str, version_id: str) -> str:
        h = hashlib.sha256()
        for chunk in self.read(key, version_id):
            h.update(chunk)
        return h.hexdigest()

    def download(self, key: str, version_id: str, target: Path) -> str:
        """One version to a local file (written under a temporary name); returns its SHA-256."""
        part = target.with_name(target.name + ".part")
        h = hashlib.sha256()
        with open(part, "wb") as f:
            for chunk in self.read(key, version_id):
                h.update(chunk)
                f.write(chunk)
        part.replace(target)
        return h.hexdigest()

    def presign(self, key: str, version_id: str, seconds: int = 600) -> str:
        """A short-lived GET URL of one version (players ask it for ranges); nothing is public."""
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key, "VersionId": version_id},
            ExpiresIn=seconds)
