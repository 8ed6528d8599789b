"""The archive in S3 with Object Lock, on a real SeaweedFS server: what is stored can be
neither overwritten nor deleted, a wrong checksum is refused, reads go by VersionId."""
from __future__ import annotations

import base64
import hashlib

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import make_bucket

import monitor
from monitor.objects import ObjectArchive, S3Options


@pytest.fixture
def bucket(seaweed, request):
    name = "ev-" + hashlib.sha1(request.node.name.encode()).hexdigest()[:12]
    make_bucket(seaweed, name)
    return seaweed, name


def capture(tmp_path, text: str = "a broadcast"):
    folder = tmp_path / "youtube" / "Vid01"
    folder.mkdir(parents=True)
    (folder / "Vid01.mp4").write_bytes(text.encode() * 1000)
    (folder / "Vid01.info.json").write_text('{"id": "Vid01"}')
    (folder / "manifest.json").write_text('{"files": []}')
    return folder


def test_a_capture_is_stored_locked_by_version_manifest_last(bucket, tmp_path):
    endpoint, name = bucket
    archive = ObjectArchive(S3Options(f"s3://{name}/archive", endpoint, retention_days=1))
    archive.check()
    stored = archive.upload(capture(tmp_path), "youtube/Vid01")
    assert [o.path for o in stored][-1] == "youtube/Vid01/manifest.json"        # the commit point, last
    [media] = [o for o in stored if o.path.endswith(".mp4")]
    assert media.key == "archive/youtube/Vid01/Vid01.mp4" and media.version_id
    assert media.sha256 == hashlib.sha256(b"a broadcast" * 1000).hexdigest()
    assert archive.sha256(media.key, media.version_id) == media.sha256
    assert b"".join(archive.read(media.key, media.version_id, 2, 9)) == b"broadcas"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    retention = s3.get_object_retention(Bucket=name, Key=media.key, VersionId=media.version_id)["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    # nobody deletes a locked version, nor overwrites the key (If-None-Match), nor stores bad bytes
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=name, Key=media.key, VersionId=media.version_id)
    with pytest.raises(ClientError, match="BadDigest"):
        s3.put_object(Bucket=name, Key="archive/other.bin", Body=b"x",
                      ChecksumSHA256=base64.b64encode(b"0" * 32).decode())
    # an upload cut short is finished without a duplicate; other bytes under the same name are refused
    again = archive.upload(tmp_path / "youtube" / "Vid01", "youtube/Vid01")
    assert [o.version_id for o in again] == [o.version_id for o in stored]
    other = capture(tmp_path / "other", "another broadcast")
    with pytest.raises(monitor.DownloadError, match="never overwritten"):
        archive.upload(other, "youtube/Vid01")


def test_a_bucket_without_object_lock_is_refused(seaweed):
    make_bucket(seaweed, "no-lock-bucket", lock=False)
    archive = ObjectArchive(S3Options("s3://no-lock-bucket/x", seaweed))
    with pytest.raises(monitor.MonitorError, match="no Object Lock"):
        archive.check()
    with pytest.raises(monitor.MonitorError, match="no Object Lock or cannot be read"):
        ObjectArchive(S3Options("s3://missing-bucket/x", seaweed)).check()
