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


def _config(tmp_path, endpoint: str, bucket: str) -> str:
    path = tmp_path / "s3.toml"
    path.write_text(f'data_dir = "data"\n[monitor]\nmin_request_interval = "0s"\n[transcribe]\nlanguages = ["ru"]\n'
                    f'[cluster]\narchive_url = "s3://{bucket}/dalel"\ns3_endpoint_url = "{endpoint}"\n'
                    "retention_days = 1\n", encoding="utf-8")
    return str(path)


def test_the_archive_in_s3_end_to_end(platform, bucket, tmp_path):
    """poll → originals in S3 by version, none in the data folder; transcribe, search, clip and
    verify read them from S3; the web app streams through presigned GETs; a hash changed in
    the database is named by verify --archive."""
    import json
    import sqlite3

    import httpx
    from click.testing import CliRunner
    from fastapi.testclient import TestClient

    from dalel import config as configmod
    from dalel.cli import cli
    from dalel.web import create_app
    endpoint, name = bucket
    config = _config(tmp_path, endpoint, name)
    run = lambda *a: CliRunner().invoke(cli, ["--config", config, *a])   # noqa: E731
    first, second = platform.videos
    platform.videos = [first]
    assert run("channel", "add", platform.feed_url).exit_code == 0
    assert "1 archived" in run("poll").output
    data = tmp_path / "data"
    assert [p for p in data.rglob("*") if p.suffix in (".mp4", ".json")] == []   # no original in the data folder
    assert not any(p.is_file() for p in (data / "tmp").rglob("*"))               # scratch emptied
    db = sqlite3.connect(data / "dalel.sqlite3")
    rows = db.execute("SELECT path, sha256, version_id FROM files ORDER BY id").fetchall()
    assert rows and all(v for _, _, v in rows)
    media_path, media_sha, media_version = next(r for r in rows if r[0].endswith(".mp4"))
    s3 = boto3.client("s3", endpoint_url=endpoint)
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=name, Key=f"dalel/{media_path}", VersionId=media_version)
    assert run("transcribe").exit_code == 0
    found = json.loads(run("search", "захват власти", "--json").output)
    assert found["total"] == 1 and found["hits"][0]["video_id"] == first.video_id
    clip = tmp_path / "moment.zip"
    assert run("clip", first.video_id, "10", "13", "--out", str(clip)).exit_code == 0 and clip.stat().st_size
    verified = run("verify", "--archive")
    assert verified.exit_code == 0, verified.output
    with TestClient(create_app(configmod.load(config)), base_url="http://127.0.0.1") as web:
        moved = web.get(f"/media/{first.video_id}", follow_redirects=False)
    assert moved.status_code == 307 and moved.headers["location"].startswith(endpoint)
    part = httpx.get(moved.headers["location"], headers={"Range": "bytes=0-99"})
    original = first.media.read_bytes()
    assert part.status_code == 206 and part.content == original[:100]
    assert hashlib.sha256(original).hexdigest() == media_sha
    db.execute("UPDATE files SET sha256 = ? WHERE path = ?", ("0" * 64, media_path))
    db.commit()
    bad = run("verify", "--archive")
    assert bad.exit_code == 1 and f"{media_path} changed" in bad.output


def test_a_bucket_without_object_lock_stops_every_command(platform, seaweed, tmp_path):
    from click.testing import CliRunner

    from dalel.cli import cli
    make_bucket(seaweed, "plain-bucket", lock=False)
    result = CliRunner().invoke(cli, ["--config", _config(tmp_path, seaweed, "plain-bucket"), "status"])
    assert result.exit_code == 1 and "no Object Lock" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_crash_between_upload_and_record_is_finished_without_a_second_object(platform, bucket, tmp_path,
                                                                              monkeypatch):
    import sqlite3

    from click.testing import CliRunner

    import store.videos
    from dalel.cli import cli
    endpoint, name = bucket
    config = _config(tmp_path, endpoint, name)
    first, _ = platform.videos
    platform.videos = [first]
    assert CliRunner().invoke(cli, ["--config", config, "channel", "add", platform.feed_url]).exit_code == 0

    def crash(*args, **kwargs):
        raise KeyboardInterrupt       # stands in for kill -9 after the upload, before the record
    monkeypatch.setattr(store.videos.Videos, "mark_archived", crash)
    CliRunner().invoke(cli, ["--config", config, "poll"])
    monkeypatch.undo()
    s3 = boto3.client("s3", endpoint_url=endpoint)
    before = s3.list_object_versions(Bucket=name, Prefix="dalel/")["Versions"]
    served = platform.hits.get(f"/media/{first.video_id}.mp4", 0)
    assert "1 archived" in CliRunner().invoke(cli, ["--config", config, "poll"]).output
    assert platform.hits.get(f"/media/{first.video_id}.mp4", 0) == served     # not downloaded again
    after = s3.list_object_versions(Bucket=name, Prefix="dalel/")["Versions"]
    assert sorted(v["VersionId"] for v in after) == sorted(v["VersionId"] for v in before)   # no second object
    db = sqlite3.connect(tmp_path / "data" / "dalel.sqlite3")
    recorded = {r[0] for r in db.execute("SELECT version_id FROM files")}
    assert recorded == {v["VersionId"] for v in after}


def test_an_embedded_archive_moves_into_s3_rehashed_with_custody(platform, bucket, tmp_path):
    import json
    import sqlite3

    from click.testing import CliRunner

    from dalel.cli import cli
    endpoint, name = bucket
    local = tmp_path / "local.toml"
    local.write_text('data_dir = "data"\n[monitor]\nmin_request_interval = "0s"\n', encoding="utf-8")
    run = lambda config, *a: CliRunner().invoke(cli, ["--config", str(config), *a])   # noqa: E731
    assert run(local, "channel", "add", platform.feed_url).exit_code == 0
    assert "2 archived" in run(local, "poll").output
    data = tmp_path / "data"
    first, second = platform.videos
    changed = next((data / "archive").rglob(f"{second.video_id}.mp4"))
    changed.chmod(0o644)
    changed.write_bytes(changed.read_bytes()[:-1] + b"\x00")                # one video's original altered
    cluster = _config(tmp_path, endpoint, name)
    moved = run(cluster, "cluster", "import", "--from", str(data))
    assert moved.exit_code == 1
    assert "of 1 video(s) into s3://" in moved.output
    assert f"not moved: {second.video_id}" in moved.output and "changed since capture" in moved.output
    db = sqlite3.connect(data / "dalel.sqlite3")
    states = dict(db.execute("SELECT v.video_id, count(f.version_id) FROM files f JOIN videos v ON v.id = f.video"
                             " GROUP BY v.video_id"))
    assert states[first.video_id] > 0 and states[second.video_id] == 0
    assert not list((data / "archive").rglob(f"{first.video_id}.mp4"))    # the local copy removed
    assert list((data / "archive").rglob(f"{second.video_id}.mp4"))       # the altered one kept, named
    entry = json.loads(db.execute("SELECT details FROM custody c JOIN videos v ON v.id = c.video"
                                  " WHERE v.video_id = ? AND c.event = 'moved'", (first.video_id,)).fetchone()[0])
    assert entry["to"] == f"s3://{name}/dalel" and all(entry["versions"].values())
    custody = json.loads(run(cluster, "custody", first.video_id, "--json").output)
    assert custody["intact"] is True and custody["problems"] == []      # the chain re-verified
    assert run(cluster, "verify", "--archive").exit_code == 1           # the altered local original, named
    assert run(cluster, "clip", first.video_id, "10", "13", "--out", str(tmp_path / "c.zip")).exit_code == 0
    refused = run(cluster, "cluster", "import", "--from", str(tmp_path / "elsewhere"))
    assert refused.exit_code == 1 and "not this configuration's data folder" in refused.output


def test_a_file_over_one_put_is_stored_in_parts_locked_and_never_overwritten(bucket, tmp_path, monkeypatch):
    """Over S3's single-PUT limit (lowered here to 6 MiB, parts of 5 MiB): each part carries its
    SHA-256, the object is locked like any other, read back byte-exact by its version, and a
    second upload of the same name stores nothing new (other bytes are refused)."""
    import os

    from monitor import objects
    monkeypatch.setattr(objects, "MAX_SINGLE_PUT", 6 * 1024 ** 2)
    monkeypatch.setattr(objects, "PART_SIZE", 5 * 1024 ** 2)
    endpoint, name = bucket
    archive = ObjectArchive(S3Options(f"s3://{name}/archive", endpoint, retention_days=1))
    big = tmp_path / "long.mp4"
    big.write_bytes(os.urandom(12 * 1024 ** 2 + 123))                 # three parts
    stored = archive.put(big, "youtube/Long1/long.mp4")
    assert stored.version_id and stored.sha256 == hashlib.sha256(big.read_bytes()).hexdigest()
    assert archive.sha256(stored.key, stored.version_id) == stored.sha256
    s3 = boto3.client("s3", endpoint_url=endpoint)
    retention = s3.get_object_retention(Bucket=name, Key=stored.key, VersionId=stored.version_id)["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=name, Key=stored.key, VersionId=stored.version_id)
    assert archive.put(big, "youtube/Long1/long.mp4").version_id == stored.version_id    # resumed: the same
    other = tmp_path / "other.mp4"
    other.write_bytes(os.urandom(7 * 1024 ** 2))
    with pytest.raises(monitor.DownloadError, match="never overwritten"):
        archive.put(other, "youtube/Long1/long.mp4")
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket=name, Prefix=stored.key)["Versions"]] == \
        [stored.version_id]
