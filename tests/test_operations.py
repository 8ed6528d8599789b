"""Operations: a transient failure is never final, failed videos can be retried, a feed that
answers 5xx at add time is kept (issue: operations)."""
from __future__ import annotations


def test_a_transient_download_failure_is_queued_not_final(platform, dalel):
    first, second = platform.videos
    media = f"/media/{second.video_id}.mp4"
    platform.failures[media] = 503
    dalel("channel", "add", platform.feed_url)
    out = dalel("poll").output
    assert "1 archived, 0 failed, 1 to retry" in out
    status = dalel.json("status")
    assert status["videos"]["failed"] == 0 and status["failed"] == []
    assert status["queue"] == {"archive_queued": 1}                 # the daemon or the next poll retries it
    platform.failures.clear()                                     # the platform is back
    assert "1 archived, 0 failed" in dalel("poll").output
    assert dalel.json("status")["videos"]["archived"] == 2


def test_failed_videos_are_grouped_by_reason_and_retried(platform, dalel):
    first, second = platform.videos
    for v in (first, second):
        platform.failures[f"/media/{v.video_id}.mp4"] = 404      # permanent: failed at once
    dalel("channel", "add", platform.feed_url)
    assert "0 archived, 2 failed" in dalel("poll").output
    status = dalel.json("status")
    [group] = status["failures_by_reason"]
    assert group["count"] == 2 and "404" in group["reason"] and "http" not in group["reason"]
    assert "failed: 2 ×" in dalel("status").output
    assert dalel("retry", ok=False).exit_code == 2                # ids or --all
    platform.failures.clear()
    assert "queued 2 failed video(s) again" in dalel("retry", "--all").output
    assert "2 archived, 0 failed" in dalel("poll").output
    assert dalel.json("status")["videos"]["failed"] == 0


def test_a_feed_answering_503_at_add_time_is_kept_with_a_warning(platform, dalel):
    platform.failures["/feeds/videos.xml"] = 503
    result = dalel("channel", "add", platform.feed_url)
    assert "added channel 1" in result.output and "(feed)" in result.output
    assert "warning:" in result.output and "503" in result.output
    platform.failures.clear()
    assert "2 archived" in dalel("poll").output


def test_a_feed_answering_404_at_add_time_is_refused(platform, dalel):
    platform.failures["/feeds/videos.xml"] = 404
    result = dalel("channel", "add", platform.feed_url, ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert dalel.json("channel", "list") == []


def test_health_and_metrics(transcribed, tmp_path):
    import json
    import os
    import shutil
    import socket
    import sqlite3
    import time

    from prometheus_client.parser import text_string_to_metric_families
    from test_web import Server
    data = tmp_path / "data"
    shutil.copytree(transcribed[0].data_dir, data)
    with Server(data) as srv:
        code, body, _ = srv.get("/healthz")
        assert code == 503 and json.loads(body)["daemon"]["alive"] is False     # no daemon yet
        db = sqlite3.connect(data / "dalel.sqlite3")
        beat = {"pid": os.getpid(), "host": socket.gethostname(), "heartbeat": time.time()}
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('daemon', ?)", (json.dumps(beat),))
        db.commit()
        code, body, _ = srv.get("/healthz")
        assert code == 200 and json.loads(body)["daemon"]["pid"] == os.getpid()
        code, body, headers = srv.get("/metrics")
        assert code == 200 and headers["content-type"].startswith("text/plain")
        families = {f.name: f for f in text_string_to_metric_families(body.decode())}
        assert {"dalel_videos", "dalel_queue_jobs", "dalel_failures", "dalel_audio_seconds_transcribed",
                "dalel_daemon_heartbeat_timestamp_seconds"} <= set(families)
        videos = {s.labels["state"]: s.value for s in families["dalel_videos"].samples}
        assert videos["transcribed"] == 2
        assert families["dalel_audio_seconds_transcribed"].samples[0].value > 30
        assert abs(families["dalel_daemon_heartbeat_timestamp_seconds"].samples[0].value - beat["heartbeat"]) < 2
        beat["heartbeat"] -= 3600                                               # an hour old: stale
        db.execute("UPDATE meta SET value = ? WHERE key = 'daemon'", (json.dumps(beat),))
        db.commit()
        assert srv.get("/healthz")[0] == 503
    status = json.loads(__import__("subprocess").run(
        [__import__("sys").executable, "-m", "dalel", "--data-dir", str(data), "status", "--json"],
        capture_output=True, text=True).stdout)
    assert set(status["daemon"]) == {"alive", "heartbeat", "pid", "host"} and status["daemon"]["alive"] is False


def test_metrics_need_the_token_and_health_does_not(transcribed, tmp_path):
    import shutil

    from test_web import Server
    shutil.copytree(transcribed[0].data_dir, tmp_path / "data")
    with Server(tmp_path / "data", '[web]\ntoken = "s3cret"\n') as srv:
        assert srv.get("/metrics")[0] == 401
        assert srv.get("/metrics", {"Authorization": "Bearer s3cret"})[0] == 200
        assert srv.get("/healthz")[0] == 503          # answered without a token (no daemon here)


def test_json_logs(platform, tmp_path):
    import json
    import subprocess
    import sys
    (tmp_path / "config.toml").write_text('data_dir = "data"\n[log]\nformat = "json"\n', encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "dalel", "--config", str(tmp_path / "config.toml"), "-v",
                          "channel", "add", platform.feed_url], capture_output=True, text=True)
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 0 and lines and all({"time", "level", "logger", "message"} <= set(x) for x in lines)


def test_the_demo_keeps_its_archive_and_says_what_to_try(tmp_path):
    from click.testing import CliRunner

    from dalel.cli import cli
    folder = tmp_path / "demo-data"
    run = CliRunner().invoke(cli, ["demo", "--dir", str(folder)])
    assert run.exit_code == 0, run.output
    assert "$ dalel search 'билікті'" in run.output and "[билікті]" in run.output   # the Kazakh recording
    assert f"The demo archive is in {folder}" in run.output and "serve" in run.output
    assert (folder / "dalel.sqlite3").is_file() and (folder / "archive").is_dir()
    stranger = tmp_path / "mine"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("keep me", encoding="utf-8")
    refused = CliRunner().invoke(cli, ["demo", "--dir", str(stranger)])
    assert refused.exit_code == 1 and "is not a demo folder" in refused.output
    assert (stranger / "notes.txt").is_file()


def test_a_port_in_use_is_one_line(tmp_path):
    import socket
    import subprocess
    import sys
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "dalel", "--data-dir", str(tmp_path / "d"), "serve",
                              "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "cannot listen on 127.0.0.1" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_a_job_outliving_its_first_lease_runs_once(platform, tmp_path):
    """Leases of 3 s, downloads of about 8 s with two download workers: without the lease
    being extended as the download progresses, the second worker would take the job over."""
    import re
    import signal

    from test_daemon import CONFIG, Daemon
    platform.throttle = 25_000                                       # bytes per second
    first, second = platform.videos
    platform.videos = [first]
    d = Daemon(tmp_path, CONFIG.replace('retry_base = "1s"', 'retry_base = "1s"\nlease = "3s"\ndownload_workers = 2'))
    d.cli("channel", "add", platform.feed_url)
    d.start()
    try:
        d.wait(lambda: d.counts()["transcribed"] == 1, timeout=120)
        log = d.log.read_text()
        assert len(re.findall(r"downloading DaLeLdemo01", log)) == 1, log[-3000:]
        db = d.db()
        assert db.execute("SELECT count(*) FROM custody WHERE event = 'capture'").fetchone()[0] == 1
        assert db.execute("SELECT max(attempts) FROM jobs WHERE kind = 'archive'").fetchone()[0] == 1
        assert d.kill(signal.SIGTERM) < 10
    finally:
        if d.proc.poll() is None:
            d.proc.kill()


def _dated(platform, n: int):
    """The platform lists n videos, one a month from January 2022, newest first."""
    from dalel.loopback import DemoVideo
    media = platform.videos[0].media
    platform.videos = [DemoVideo(f"Hist{i:02d}", f"Broadcast {i}", media, f"2022-{1 + i:02d}-15T18:00:00+00:00")
                       for i in reversed(range(n))]


def test_history_since_a_date(platform, dalel):
    _dated(platform, 6)                                             # 2022-01 … 2022-06
    dalel("channel", "add", platform.feed_url, "--since", "2022-04-01")
    assert "3 archived" in dalel("poll").output                     # April, May, June
    status = dalel.json("status")["videos"]
    assert status["skipped"] == 3 and status["archived"] == 3
    assert "archived Hist00" in dalel("archive", "Hist00").output  # a skipped one, taken later
    assert dalel.json("status")["videos"]["archived"] == 4
    bad = dalel("channel", "add", platform.feed_url + "&x=1", "--since", "2022-13-01", ok=False)
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_history_the_last_n(platform, dalel):
    _dated(platform, 6)
    dalel("channel", "add", platform.feed_url, "--last", "2")
    assert "2 archived" in dalel("poll").output
    _dated(platform, 7)                                             # a new video appears
    assert "1 archived" in dalel("poll").output                     # new ones are archived
    status = dalel.json("status")["videos"]
    assert status["archived"] == 3 and status["skipped"] == 4


def test_video_states_move_only_as_allowed(tmp_path):
    import pytest

    import store
    from store.state import move
    s = store.Store(tmp_path / "x.sqlite3")
    v, _ = s.videos.discover("example", "v1", "https://example.org/v1")
    with pytest.raises(store.StoreError, match="cannot go from discovered to transcribed"):
        with s.transaction() as conn:
            move(conn, v.id, store.VideoState.TRANSCRIBED)
    s.videos.mark_failed(v, "HTTP Error 503")
    assert s.videos.reset_failed(s.videos.by_pk(v.id)) and s.videos.by_pk(v.id).state == "discovered"
    assert not s.videos.reset_failed(s.videos.by_pk(v.id))              # it has not failed: nothing moves
    assert all(store.VideoState(x) for x in ("discovered", "skipped", "archived", "transcribed", "failed"))
    s.close()


class LiveStream:
    """A live HLS stream on the loopback platform: the bundled broadcast cut in 2-s segments,
    published one a second; then the playlist ends (#EXT-X-ENDLIST) or disappears (404)."""

    def __init__(self, platform, tmp_path, video_id: str, ending: str):
        import subprocess

        from dalel.loopback import DemoVideo, demo_videos
        from dalel.media import ffmpeg_exe
        hls = tmp_path / "hls"
        hls.mkdir()
        subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(demo_videos()[0].media),
                        "-c:v", "libx264", "-preset", "ultrafast", "-force_key_frames", "expr:gte(t,n_forced*2)",
                        "-c:a", "aac", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "event",
                        str(hls / f"{video_id}.m3u8")], check=True)
        lines = (hls / f"{video_id}.m3u8").read_text().splitlines()
        self.head = [line for line in lines
                     if line.startswith("#EXT") and not line.startswith(("#EXTINF", "#EXT-X-ENDLIST"))]
        self.segments = [(a, b) for a, b in zip(lines, lines[1:]) if a.startswith("#EXTINF")]
        self.playlist = tmp_path / f"{video_id}.m3u8"
        self.platform, self.ending, self.video_id = platform, ending, video_id
        self.write(2)
        platform.files = {p.name: p for p in hls.glob("*.ts")}
        platform.videos = [DemoVideo(video_id, "Прямой эфир", self.playlist, "2024-03-10T18:00:00+00:00")]

    window = 0      # a sliding window of this many segments (0: the whole stream so far)

    def write(self, n: int, end: bool = False) -> None:
        first = max(0, n - self.window) if self.window else 0
        head = [line if not line.startswith("#EXT-X-MEDIA-SEQUENCE") else f"#EXT-X-MEDIA-SEQUENCE:{first}"
                for line in self.head if not (self.window and line.startswith("#EXT-X-PLAYLIST-TYPE"))]
        body = head + [x for seg in self.segments[first:n] for x in seg] + (["#EXT-X-ENDLIST"] if end else [])
        self.playlist.write_text("\n".join(body) + "\n")

    def run(self) -> None:
        import time
        for n in range(3, len(self.segments) + 1):
            time.sleep(1.0)
            self.write(n)
        time.sleep(2.0)
        if self.ending == "end":
            self.write(len(self.segments), end=True)
        else:
            self.platform.failures[f"/media/{self.video_id}.m3u8"] = 404


def _record_live(platform, tmp_path, ending: str):
    import json
    import threading

    from test_daemon import CONFIG, Daemon
    stream = LiveStream(platform, tmp_path, "LiveNow1", ending)
    d = Daemon(tmp_path, CONFIG.replace('retry_base = "1s"', 'retry_base = "1s"\nlease = "4s"'))
    d.cli("channel", "add", platform.feed_url)
    d.start()
    try:
        d.wait(lambda: (d.db().execute("SELECT live_status FROM videos").fetchone() or [None])[0] == "recording")
        status = d.status()
        assert status["live"] == [{"video_id": "LiveNow1", "title": "Прямой эфир", "live_status": "recording"}]
        [job] = status["running"]                      # who is recording it, and its lease
        assert job["kind"] == "archive" and job["video_id"] == "LiveNow1" and job["worker"] and job["lease_until"]
        threading.Thread(target=stream.run, daemon=True).start()
        d.wait(lambda: d.counts()["transcribed"] == 1, timeout=150)
        db = d.db()
        # one capture, one download, although the recording outlived its lease (4 s) many times
        assert db.execute("SELECT count(*) FROM custody WHERE event = 'capture'").fetchone()[0] == 1
        assert db.execute("SELECT max(attempts) FROM jobs WHERE kind = 'archive'").fetchone()[0] == 1
        [(details,)] = db.execute("SELECT details FROM custody WHERE event = 'capture'").fetchall()
        live = json.loads(details)["live"]
        found = json.loads(d.cli("search", "захват власти", "--json").stdout)
        return live, found, db.execute("SELECT live_status, duration FROM videos").fetchone()
    finally:
        d.stop()
        if d.proc.poll() is None:
            d.proc.kill()


def test_a_live_stream_is_recorded_while_live_until_it_ends(platform, tmp_path):
    live, found, (status, duration) = _record_live(platform, tmp_path, "end")
    assert live["recorded"] == "while live" and live["complete"] is True and live["after"] == "the stream ended"
    assert status == "recorded"
    assert found["total"] == 1 and found["hits"][0]["video_id"] == "LiveNow1"   # searchable


def test_a_live_stream_that_disappears_keeps_what_was_recorded_marked_incomplete(platform, tmp_path):
    live, found, (status, _) = _record_live(platform, tmp_path, "gone")
    assert live["complete"] is False and live["after"].startswith("the stream disappeared")
    assert live["stopped_at"]
    assert status == "recorded_incomplete"
    assert found["total"] == 1                                       # what was said before it vanished


def test_a_longer_final_version_replaces_the_live_recording_keeping_both(platform, tmp_path):
    """The stream is found late (a 3-segment window: its first seconds are gone) and recorded
    to its end; the platform's final version has it all: with live_final it becomes the capture
    and is transcribed again, the recording stays archived and both are in the custody log."""
    import json
    import threading

    from test_daemon import CONFIG, Daemon
    stream = LiveStream(platform, tmp_path, "LiveLate1", "end")
    stream.window = 3
    stream.write(6)
    d = Daemon(tmp_path, CONFIG.replace('retry_base = "1s"', 'retry_base = "1s"\nlive_final = true'))
    d.cli("channel", "add", platform.feed_url)
    d.start()
    try:
        d.wait(lambda: (d.db().execute("SELECT live_status FROM videos").fetchone() or [None])[0] == "recording")
        runner = threading.Thread(target=stream.run)
        runner.start()
        runner.join()
        d.wait(lambda: d.db().execute("SELECT live_status FROM videos").fetchone()[0] == "recorded", timeout=120)
        stream.window = 0
        stream.write(len(stream.segments), end=True)          # the platform's final version: all of it
        d.wait(lambda: d.db().execute("SELECT count(*) FROM custody WHERE event = 'transcription'").fetchone()[0] == 2
               and d.db().execute("SELECT state FROM videos").fetchone()[0] == "transcribed", timeout=150)
        db = d.db()
        roles = sorted(r[0] for r in db.execute("SELECT role FROM files WHERE role LIKE '%media'"))
        assert roles == ["live-media", "media"]
        captures = [json.loads(r[0]) for r in db.execute("SELECT details FROM custody WHERE event = 'capture'"
                                                        " ORDER BY seq")]
        assert len(captures) == 2 and captures[1]["replaces"]["folder"] == captures[0]["folder"]
        assert set(captures[1]["replaces"]["files"].values()) == set(
            f"{h}" for h in captures[0]["files"].values())                     # both hashes on record
        assert db.execute("SELECT live_status FROM videos").fetchone()[0] == "final"
        # the transcript is the final version's, longer than the recording, and names the one it replaced
        [(audio,)] = db.execute("SELECT audio_seconds FROM transcripts WHERE source = 'asr'").fetchall()
        assert audio > 30
        last = json.loads(db.execute("SELECT details FROM custody WHERE event = 'transcription'"
                                     " ORDER BY seq DESC").fetchone()[0])
        assert last["replaces"]
        verify = d.cli("verify", "--archive")
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        d.stop()
        if d.proc.poll() is None:
            d.proc.kill()


def test_the_web_groups_failures_by_reason_and_retries_them(platform, dalel, tmp_path):
    import re

    from fastapi.testclient import TestClient

    from dalel import config as configmod
    from dalel.web import create_app
    for v in platform.videos:
        platform.failures[f"/media/{v.video_id}.mp4"] = 404
    dalel("channel", "add", platform.feed_url)
    dalel("poll")
    config = tmp_path / "web.toml"
    config.write_text(f'data_dir = "{dalel.data_dir}"\n', encoding="utf-8")
    with TestClient(create_app(configmod.load(str(config))), base_url="http://127.0.0.1") as web:
        page = web.get("/channels").text
        assert re.search(r"2 × <span class=\"error\">[^<]*404", page)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        assert web.post("/retry", data={"csrf": "wrong"}).status_code == 403
        done = web.post("/retry", data={"csrf": csrf}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/channels"
    status = dalel.json("status")
    assert status["videos"]["failed"] == 0 and status["queue"] == {"archive_queued": 2}


def test_channels_are_added_with_their_history_paused_and_removed_in_the_browser(platform, dalel, tmp_path):
    import re

    from fastapi.testclient import TestClient

    from dalel import config as configmod
    from dalel.web import create_app
    _dated(platform, 5)
    config = tmp_path / "web.toml"
    config.write_text(f'data_dir = "{dalel.data_dir}"\n[monitor]\nmin_request_interval = "0s"\n', encoding="utf-8")
    with TestClient(create_app(configmod.load(str(config))), base_url="http://127.0.0.1") as web:
        csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/channels").text).group(1)
        added = web.post("/channels", data={"csrf": csrf, "url": platform.feed_url, "name": "Hist",
                                            "backfill": "last", "last": "2"}, follow_redirects=False)
        assert added.status_code == 303
        page = web.get("/channels").text
        assert "Hist" in page and "pause" in page
        bad = web.post("/channels", data={"csrf": csrf, "url": "not a url", "backfill": "all"})
        assert bad.status_code == 200 and 'class="error"' in bad.text
        src = dalel.json("channel", "list")[0]
        assert src["last_n"] == 2
        assert web.post(f"/channels/{src['id']}/pause", data={"csrf": csrf}, follow_redirects=False).status_code == 303
        assert "0 new video(s)" in dalel("poll").output and dalel.json("status")["videos"]["discovered"] == 0
        web.post(f"/channels/{src['id']}/resume", data={"csrf": csrf})
        assert "2 archived" in dalel("poll").output                       # the last 2 of 5; 3 skipped
        assert dalel.json("status")["videos"]["skipped"] == 3
        api = web.post("/api/channels", json={"url": platform.feed_url + "&again=1", "since": "2022-04-01"},
                       headers={"X-CSRF-Token": csrf})
        assert api.status_code == 201 and api.json()["since"] == "2022-04-01"
        assert web.post(f"/channels/{src['id']}/remove", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert [s["name"] for s in dalel.json("channel", "list")] != ["Hist"]
