import hashlib
import json
import sqlite3

from dalel.loopback import demo_videos


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_poll_archives_byte_exact_with_hashes_and_manifest(platform, dalel):
    dalel("channel", "add", platform.feed_url)
    out = dalel("poll").output
    assert "2 new video(s), 2 archived, 0 failed" in out
    for video in demo_videos():
        folder = dalel.data_dir / "archive" / "youtube" / video.video_id
        media = folder / f"{video.video_id}.mp4"
        assert media.read_bytes() == video.media.read_bytes()
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["video_id"] == video.video_id
        assert manifest["title"] == video.title
        assert manifest["channel"] == "Ne deidi (demo)"
        assert manifest["archived_at"].endswith("Z")
        assert {"dalel", "yt-dlp"} <= set(manifest["tools"])
        listed = {f["name"]: f for f in manifest["files"]}
        assert listed[media.name]["sha256"] == sha256(media)
        assert listed[media.name]["role"] == "media"
        assert any(f["role"] == "info" for f in manifest["files"])
        for f in manifest["files"]:  # every file listed is there, with its hash
            assert sha256(folder / f["name"]) == f["sha256"]
    db = sqlite3.connect(dalel.data_dir / "dalel.sqlite3")
    rows = db.execute("SELECT path, sha256 FROM files WHERE role = 'media'").fetchall()
    assert len(rows) == 2
    for path, digest in rows:
        assert sha256(dalel.data_dir / "archive" / path) == digest
    assert not any((dalel.data_dir / "tmp").iterdir())  # no partial downloads left behind


def test_second_poll_duplicates_nothing(platform, dalel):
    dalel("channel", "add", platform.feed_url)
    dalel("poll")
    media_hits = {k: v for k, v in platform.hits.items() if k.startswith("/media/")}
    out = dalel("poll").output
    assert "0 new video(s), 0 archived" in out
    assert {k: v for k, v in platform.hits.items() if k.startswith("/media/")} == media_hits
    status = dalel.json("status")
    assert status["videos"]["discovered"] == 2
    assert status["videos"]["archived"] == 2
    db = sqlite3.connect(dalel.data_dir / "dalel.sqlite3")
    assert db.execute("SELECT count(*) FROM files WHERE role = 'media'").fetchone()[0] == 2


def test_new_entry_on_the_feed_is_archived_on_the_next_poll(platform, dalel):
    first, second = platform.videos
    platform.videos = [first]
    dalel("channel", "add", platform.feed_url)
    assert "1 new video(s), 1 archived" in dalel("poll").output
    platform.videos = [second, first]
    assert "1 new video(s), 1 archived" in dalel("poll").output
    assert dalel.json("status")["videos"]["archived"] == 2


def test_archive_one_url_and_refuse_a_second_download(platform, dalel):
    video = demo_videos()[0]
    url = platform.media_url(video)
    out = dalel("archive", url).output
    assert "archived DaLeLdemo01" in out
    again = dalel("archive", url, ok=False)
    assert again.exit_code == 1
    assert "archived already" in again.output
    assert platform.hits[f"/media/{video.video_id}.mp4"] >= 1


def test_a_crash_after_the_rename_is_finished_without_a_second_download(platform, dalel, monkeypatch):
    """The folder landed but the database write did not: the next poll adopts the folder."""
    import store.videos
    dalel("channel", "add", platform.feed_url)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # stands in for kill -9 between rename and commit
    monkeypatch.setattr(store.videos.Videos, "mark_archived", crash)
    dalel("poll", ok=False)
    monkeypatch.undo()
    served = platform.hits.get("/media/DaLeLdemo01.mp4", 0)
    assert "2 archived" in dalel("poll").output
    assert platform.hits.get("/media/DaLeLdemo01.mp4", 0) == served
    assert dalel.json("status")["videos"]["archived"] == 2


def test_unreachable_url_is_one_line_error(dalel):
    result = dalel("channel", "add", "http://127.0.0.1:9/feed.xml", ok=False)
    assert result.exit_code != 0
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_not_a_video_is_one_line_error(platform, dalel):
    result = dalel("archive", f"{platform.base}/media/nothing-here.mp4", ok=False)
    assert result.exit_code == 1
    assert "404" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_not_an_http_url(dalel):
    result = dalel("channel", "add", "ftp://example.org/x", ok=False)
    assert result.exit_code == 1
    assert "not an http(s) URL" in result.output


def test_broken_feed_is_recorded_and_other_sources_still_polled(platform, dalel):
    dalel("channel", "add", platform.feed_url)
    platform.failures["/feeds/videos.xml"] = 503
    out = dalel("poll")
    assert "503" in out.output
    status = dalel.json("status")
    assert "503" in status["sources"][0]["last_error"]
    platform.failures.clear()
    dalel("poll")
    assert dalel.json("status")["sources"][0]["last_error"] is None


def test_channel_list_and_remove(platform, dalel):
    dalel("channel", "add", platform.feed_url, "--name", "Demo", "--every", "30m")
    [src] = dalel.json("channel", "list")
    assert src["name"] == "Demo" and src["every_s"] == 1800 and src["kind"] == "feed"
    dup = dalel("channel", "add", platform.feed_url, ok=False)
    assert "already watched" in dup.output
    dalel("channel", "remove", "Demo")
    assert dalel.json("channel", "list") == []
    missing = dalel("channel", "remove", "Demo", ok=False)
    assert missing.exit_code == 1 and "no channel" in missing.output


def test_a_corrupt_media_file_fails_alone(platform, dalel, tmp_path):
    from dalel.loopback import DemoVideo
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    good = demo_videos()[1]
    platform.videos = [DemoVideo("BrokenVid01", "broken", broken, "2024-03-09T00:00:00+00:00"), good]
    dalel("channel", "add", platform.feed_url)
    dalel("poll")
    result = dalel("transcribe", ok=False)
    assert result.exit_code == 1
    assert "failed BrokenVid01" in result.output and f"transcribed {good.video_id}" in result.output
    assert "Traceback" not in result.output
    status = dalel.json("status")
    assert status["videos"]["transcribed"] == 1 and status["videos"]["failed"] == 1
    assert status["failed"][0]["video_id"] == "BrokenVid01"
    assert dalel.json("search", "парламент")["total"] >= 1


def test_a_file_cut_short_is_transcribed_and_a_report_names_the_seconds_never_heard(platform, dalel, tmp_path):
    # the archived original itself is damaged (a recording cut short): what it has is transcribed
    # and searched, and no statement of absence is made for the end that is not there
    import subprocess
    from dalel.formats import hms
    from dalel.loopback import DemoVideo
    from dalel.media import ffmpeg_exe
    whole = tmp_path / "whole.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(demo_videos()[0].media), "-c", "copy",
                    "-movflags", "+faststart", str(whole)], check=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    platform.videos = [DemoVideo("CutShort01", "Эфир, записанный не до конца", cut, "2024-03-09T00:00:00+00:00")]
    dalel("channel", "add", platform.feed_url)
    dalel("poll")
    assert "transcribed CutShort01" in dalel("transcribe").output
    cov = json.loads(dalel("transcript", "CutShort01", "--format", "json").output)["coverage"]
    assert cov["undecodable_s"] > 5 and len(cov["undecodable"]) == 1
    start, end = cov["undecodable"][0]
    assert "could not be decoded" in dalel("status").output
    report = dalel.json("report", "референдум")
    assert report["statement"].startswith("No occurrence")
    assert f"{cov['undecodable_s']:g} s of audio could not be decoded" in report["statement"]
    assert f"CutShort01 {hms(start)}–{hms(end)}" in report["statement"]
    assert dalel.json("search", "выборах")["total"] >= 1      # the first half: said, heard, found


def test_a_live_stream_is_deferred_until_it_has_ended(platform, dalel, tmp_path):
    import subprocess
    from dalel.loopback import DemoVideo
    from dalel.media import ffmpeg_exe
    hls = tmp_path / "hls"
    hls.mkdir()
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(demo_videos()[1].media), "-c", "copy",
                    "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "event",
                    str(hls / "LiveStream1.m3u8")], check=True)
    playlist = hls / "LiveStream1.m3u8"
    ended = playlist.read_text()
    playlist.write_text(ended.replace("#EXT-X-ENDLIST\n", ""))  # still live: no end marker
    platform.files = {p.name: p for p in hls.glob("*.ts")}
    platform.videos = [DemoVideo("LiveStream1", "Прямой эфир", playlist, "2024-03-10T18:00:00+00:00")]
    dalel("channel", "add", platform.feed_url)
    assert "1 live (archived once ended)" in dalel("poll").output
    status = dalel.json("status")
    assert status["videos"]["discovered"] == 1 and status["videos"]["archived"] == 0
    assert status["videos"]["failed"] == 0
    db = sqlite3.connect(dalel.data_dir / "dalel.sqlite3")
    assert db.execute("SELECT live_status FROM videos").fetchone()[0] == "is_live"
    playlist.write_text(ended)  # the stream has ended
    assert "1 archived" in dalel("poll").output
    assert dalel.json("status")["videos"]["archived"] == 1
