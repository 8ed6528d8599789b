"""Cluster mode end to end: the state in a real PostgreSQL, the archive in a real SeaweedFS with
Object Lock, and the commands a user runs — channel, poll, transcribe, status, search, report,
custody, clip, verify — working on them exactly as on the embedded archive, with nothing kept in
the local data folder but emptied scratch space."""
from __future__ import annotations

import hashlib
import json

import psycopg
import pytest
from click.testing import CliRunner
from conftest import app_role_url, empty_cluster_database, make_bucket

from dalel.cli import cli


@pytest.fixture
def cluster(postgres, seaweed, request, tmp_path):
    """A config with a fresh PostgreSQL database, migrated by its owner and used as the
    application role (`dalel migrate --app-role`: no UPDATE or DELETE on the custody log, no
    CREATE), and a fresh Object-Locked bucket; and the owner's URL."""
    app_role_url(postgres)                      # the role exists before migrate grants it its rights
    url = empty_cluster_database(postgres, app_role="dalel_app")
    app = app_role_url(url)
    bucket = "cl-" + hashlib.sha1(request.node.name.encode()).hexdigest()[:12]
    make_bucket(seaweed, bucket)
    path = tmp_path / "cluster.toml"
    path.write_text(f'data_dir = "data"\n[monitor]\nmin_request_interval = "0s"\n[transcribe]\nlanguages = ["ru"]\n'
                    f'[cluster]\ndatabase_url = "{app}"\narchive_url = "s3://{bucket}/dalel"\n'
                    f's3_endpoint_url = "{seaweed}"\nretention_days = 1\n', encoding="utf-8")
    return str(path), url


def test_the_commands_work_on_postgresql_and_s3(platform, cluster, tmp_path):
    config, url = cluster
    run = lambda *a: CliRunner().invoke(cli, ["--config", config, *a])   # noqa: E731
    first, _ = platform.videos
    platform.videos = [first]
    added = run("channel", "add", platform.feed_url)
    assert added.exit_code == 0, added.output
    polled = run("poll")
    assert "1 archived" in polled.output, polled.output
    data = tmp_path / "data"
    assert not (data / "dalel.sqlite3").exists()                                    # the state is in PostgreSQL
    assert [p for p in data.rglob("*") if p.suffix in (".mp4", ".json")] == []      # no original here
    transcribed = run("transcribe")
    assert transcribed.exit_code == 0, transcribed.output
    status = json.loads(run("status", "--json").output)
    assert status["videos"]["archived"] == 1 and status["videos"]["transcribed"] == 1
    found = json.loads(run("search", "захват власти", "--json").output)
    assert found["total"] == 1 and found["hits"][0]["video_id"] == first.video_id
    report = json.loads(run("report", "захват власти", "--json").output)
    assert len(report["hits"]) == 1 and report["found_forms"] == {"захвату": 1, "власти": 1}
    custody = run("custody", first.video_id)
    assert custody.exit_code == 0 and "capture" in custody.output and "transcription" in custody.output
    clip = tmp_path / "moment.zip"
    clipped = run("clip", first.video_id, "10", "13", "--out", str(clip))
    assert clipped.exit_code == 0 and clip.stat().st_size, clipped.output
    verified = run("verify", "--archive")
    assert verified.exit_code == 0, verified.output
    assert run("watch", "add", "мирным переменам").exit_code == 0
    assert "мирным переменам" in run("watch", "list").output
    web_pages_work_on_the_cluster(config, first.video_id)
    added = CliRunner().invoke(cli, ["--config", config, "user", "add", "amina", "--role", "analyst"],
                               input="a long passphrase\n")
    assert added.exit_code == 0, added.output
    assert "amina" in run("user", "list").output and run("user", "token", "amina").output.startswith("dalel_")
    anchored = run("cluster", "anchor")
    assert anchored.exit_code == 0 and "anchored 1 custody chain head(s)" in anchored.output, anchored.output
    with psycopg.connect(url, autocommit=True) as db:     # a superuser removes the last custody entry
        db.execute("ALTER TABLE custody DISABLE TRIGGER USER")
        db.execute("DELETE FROM custody WHERE id = (SELECT max(id) FROM custody)")
        db.execute("ALTER TABLE custody ENABLE TRIGGER USER")
    cut = run("verify", "--archive")
    assert cut.exit_code == 1 and "entries were removed (the custody anchor dalel/anchors/" in cut.output, cut.output
    with psycopg.connect(url, autocommit=True) as db:
        media = db.execute("SELECT path FROM files WHERE path LIKE '%.mp4'").fetchone()[0]
        db.execute("UPDATE files SET sha256 = %s WHERE path = %s", ("0" * 64, media))
    bad = run("verify", "--archive")
    assert bad.exit_code == 1 and f"{media} changed" in bad.output


def web_pages_work_on_the_cluster(config: str, video_id: str) -> None:
    """`dalel serve` on the cluster's state: every page answers, search finds the moment, the
    media is a redirect to a presigned GET of the S3 version."""
    from fastapi.testclient import TestClient

    from dalel import config as configmod
    from dalel.web import create_app
    with TestClient(create_app(configmod.load(config)), base_url="http://127.0.0.1") as web:
        for page in ("/", "/videos", "/channels", "/channels/1", "/alerts", "/api", f"/videos/{video_id}",
                     f"/videos/{video_id}/transcript.srt", f"/api/videos/{video_id}/transcript", "/healthz",
                     "/metrics"):
            got = web.get(page)
            assert got.status_code in (200, 503), (page, got.status_code, got.text[:300])
        found = web.get("/api/search", params={"q": "захват власти"}).json()
        assert found["total"] == 1 and found["hits"][0]["video_id"] == video_id
        assert "захвату" in web.get("/search", params={"q": "захват власти"}).text
        moved = web.get(f"/media/{video_id}", follow_redirects=False)
        assert moved.status_code == 307


def test_an_embedded_archive_is_imported_into_the_cluster_with_its_custody(platform, cluster, tmp_path):
    """`dalel cluster import --from DATA_DIR`: originals into S3 (re-hashed), the state into
    PostgreSQL with every custody entry as it was, chains verified there, the same search
    answers; run again, nothing is copied twice."""
    config, url = cluster
    local = tmp_path / "local.toml"
    local.write_text('data_dir = "embedded"\n[monitor]\nmin_request_interval = "0s"\n'
                     '[transcribe]\nlanguages = ["ru"]\n', encoding="utf-8")
    embedded = lambda *a: CliRunner().invoke(cli, ["--config", str(local), *a])   # noqa: E731
    clustered = lambda *a: CliRunner().invoke(cli, ["--config", config, *a])      # noqa: E731
    assert embedded("channel", "add", platform.feed_url, "--name", "Ne deidi").exit_code == 0
    assert "2 archived" in embedded("poll").output
    assert embedded("transcribe").exit_code == 0
    assert embedded("watch", "add", "мирным переменам").exit_code == 0
    before = {v: json.loads(embedded("custody", v, "--json").output) for v in ("DaLeLdemo01", "DaLeLdemo02")}
    asked = json.loads(embedded("search", "выборы", "--json").output)
    moved = clustered("cluster", "import", "--from", str(tmp_path / "embedded"))
    assert moved.exit_code == 0, moved.output
    assert "moved" in moved.output and "copied 2 video(s) into the cluster's database" in moved.output
    status = json.loads(clustered("status", "--json").output)
    assert status["videos"]["archived"] == 2 and status["videos"]["transcribed"] == 2
    assert [s["name"] for s in status["sources"]] == ["Ne deidi"]
    for vid, was in before.items():
        now = json.loads(clustered("custody", vid, "--json").output)
        assert now["intact"] is True and now["problems"] == []
        assert [e["hash"] for e in now["entries"][:len(was["entries"])]] == [e["hash"] for e in was["entries"]]
        assert now["entries"][-1]["event"] == "moved"                  # the move to S3, then carried over
    found = json.loads(clustered("search", "выборы", "--json").output)
    assert sorted((h["video_id"], h["start"]) for h in found["hits"]) == \
        sorted((h["video_id"], h["start"]) for h in asked["hits"])
    assert "мирным переменам" in clustered("watch", "list").output
    assert clustered("verify", "--archive").exit_code == 0
    again = clustered("cluster", "import", "--from", str(tmp_path / "embedded"))
    assert again.exit_code == 0 and "copied 0 video(s)" in again.output and "2 it already held" in again.output
    with psycopg.connect(url, autocommit=True) as db:
        assert db.execute("SELECT count(*) FROM videos").fetchone()[0] == 2
    nothing = clustered("cluster", "import", "--from", str(tmp_path / "nowhere"))
    assert nothing.exit_code == 1 and "holds no archive" in nothing.output
