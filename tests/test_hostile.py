"""Hostile feeds, pages and files: each bad item fails alone, nothing is written outside the
archive, no parser takes super-linear time (issue: faults and hostile input)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

import monitor
from monitor.archive import folder_for, inside
from monitor.feeds import parse_feed, safe_id, web_url
from monitor.fetch import MAX_RETRY_AFTER, retry_after

HOSTILE_LINKS = ["file:///etc/passwd", "gopher://127.0.0.1:70/x", "javascript:alert(1)",
                 "http://[::1", "http://127.0.0.1:99999/x.mp4", "data:text/html,<b>x</b>"]


def entry(video_id: str, link: str) -> str:
    return (f"<entry><id>yt:video:{video_id}</id><title>{video_id}</title>"
            f'<link rel="alternate" href="{link.replace("&", "&amp;").replace("<", "&lt;")}"/>'
            "<published>2024-03-01T18:00:00+00:00</published></entry>\n")


@pytest.mark.parametrize("url", HOSTILE_LINKS + ["http://", "ftp://example.org/x", "http://a b/"])
def test_only_http_urls_are_fetchable(url):
    assert not web_url(url)
    with pytest.raises(monitor.DownloadError) as err:
        monitor.ytdlp.download(url, Path("/nonexistent"), monitor.YtdlpOptions())
    assert err.value.permanent


def test_a_hostile_feed_entry_fails_alone_and_the_rest_is_archived(platform, dalel):
    platform.extra_entries = [entry(f"bad{i}", link) for i, link in enumerate(HOSTILE_LINKS)]
    platform.extra_entries.append(entry("redirected", f"{platform.base}/to-file"))
    platform.redirects["/to-file"] = "file:///etc/passwd"
    dalel("channel", "add", platform.feed_url)
    out = dalel("poll", ok=False)
    assert "Traceback" not in out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)
    assert "1 failed" in out.output
    status = dalel.json("status")
    assert status["videos"]["archived"] == 2                 # both good videos
    failed = {f["video_id"] for f in status["failed"]}
    assert failed == {"redirected"}                          # the one that looked like a web page
    assert not any(f"bad{i}" in str(status) for i in range(len(HOSTILE_LINKS)))  # never listed


def test_hostile_ids_are_made_safe_and_distinct():
    ids = ["a/b", "a_b", "../../../../tmp/PLANTED", "..", ".", "x" * 300, "x" * 301, "ok-id_1.2"]
    safe = [safe_id(i) for i in ids]
    assert len(set(safe)) == len(ids)                        # distinct ids never merge
    assert safe[-1] == "ok-id_1.2"                           # a safe id stays as it is
    assert safe[1] == "a_b" and safe[0].startswith("a_b-")
    for s in safe:
        assert "/" not in s and s not in (".", "..") and len(s) <= 120
        folder_for("web", s)                                  # accepted as a folder name


def test_a_listed_entry_cannot_name_a_path_outside_the_archive(tmp_path):
    from monitor.sources import _entries
    listed = [{"id": "..%2F..%2F..%2Ftmp%2FPLANTED", "url": "http://127.0.0.1:1/page/x.html"},
              {"id": "../../etc", "url": "http://127.0.0.1:1/y.mp4"},
              {"id": "fine", "url": "javascript:alert(1)"}]
    got = list(_entries(listed))
    assert len(got) == 2
    root = tmp_path / "archive"
    for e in got:
        path = inside(root, folder_for(e.platform, e.video_id))
        assert path.is_relative_to(root.resolve())
    for bad in ("..", "a/b", ""):
        with pytest.raises(monitor.DownloadError):
            folder_for("web", bad)
    with pytest.raises(monitor.DownloadError):
        inside(root, "../outside")


@pytest.mark.parametrize("value, expected", [
    ("1e20", MAX_RETRY_AFTER), ("inf", MAX_RETRY_AFTER), ("nan", None), ("-5", 0.0),
    ("99999999", MAX_RETRY_AFTER), ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER),
    ("30", 30.0), ("soon", None), ("9" * 400, None),
])
def test_retry_after_is_capped_at_a_day(value, expected):
    assert retry_after(value) == expected


def test_malformed_feed_dates_are_not_stored_as_text():
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><guid>a</guid><link>http://example.org/a.mp4</link><pubDate>2030 maybe</pubDate></item>
    <item><guid>b</guid><link>http://example.org/b.mp4</link><pubDate>Tue, 05 Mar 2024 18:00:00 GMT</pubDate></item>
    </channel></rss>"""
    a, b = parse_feed(rss).entries
    assert a.published is None and b.published == "2024-03-05T18:00:00+00:00"


@pytest.mark.parametrize("size", [100_000, 1_000_000])
def test_subtitle_parsing_is_linear(size):
    from dalel.formats import parse_subtitles
    hostile = [
        "1" * size,                                            # digits with no cue
        "00:00:01.000 --> " * (size // 17),                    # arrows with no end
        "WEBVTT\n\n" + "00:00:01.000 --> 00:00:02.000\nx\n\n" * (size // 36),
        "<" * size,
    ]
    for text in hostile:
        start = time.perf_counter()
        parse_subtitles(text)
        assert time.perf_counter() - start < 2.0


def test_a_cue_that_ends_before_it_starts_is_refused(dalel, platform, tmp_path):
    dalel("channel", "add", platform.feed_url)
    dalel("poll")
    bad = tmp_path / "bad.srt"
    bad.write_text("1\n00:00:05,000 --> 00:00:02,000\nНазад во времени.\n", encoding="utf-8")
    result = dalel("import-transcript", "DaLeLdemo01", str(bad), ok=False)
    assert result.exit_code == 1 and "ends before it starts" in result.output
    assert "Traceback" not in result.output


def test_the_daemon_survives_hostile_entries_and_an_absurd_retry_after(platform, tmp_path):
    import signal

    from test_daemon import Daemon

    first, second = platform.videos
    platform.extra_entries = [entry(f"bad{i}", link) for i, link in enumerate(HOSTILE_LINKS)]
    platform.extra_entries.append(entry("redirected", f"{platform.base}/to-file"))
    platform.redirects["/to-file"] = "file:///etc/passwd"
    media = f"/media/{second.video_id}.mp4"
    platform.failures[media] = 429
    platform.retry_after[media] = "1e20"
    d = Daemon(tmp_path)
    d.cli("channel", "add", platform.feed_url)
    d.start()
    try:
        d.wait(lambda: d.counts()["transcribed"] == 1 and d.counts()["failed"] == 1)
        time.sleep(2)
        assert d.proc.poll() is None                          # still running
        db = d.db()
        wait = db.execute("SELECT (julianday(j.not_before) - julianday('now')) * 86400 FROM jobs j"
                          " JOIN videos v ON v.id = j.video WHERE v.video_id = ?", (second.video_id,)).fetchone()[0]
        assert 0 < wait <= 24 * 3600 + 60                      # Retry-After capped at a day
        log = d.log.read_text()
        assert "Traceback" not in log
        assert d.kill(signal.SIGTERM) < 10 and d.proc.returncode == 0
    finally:
        if d.proc.poll() is None:
            d.proc.kill()


class Trickle:
    """A loopback server that answers one byte at a time, slowly (headers or body)."""

    def __init__(self, what: str, every: float = 0.5, size: int = 0):
        import socket
        import threading
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/feed.xml"
        self.what, self.every, self.size = what, every, size
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        import threading
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        try:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nX-Pad: " + b"a" * 200 + b"\r\n\r\n"
            if self.what == "headers":
                for byte in head:
                    if self.stop.is_set():
                        return
                    conn.send(bytes([byte]))
                    time.sleep(self.every)
            elif self.what == "body":
                conn.send(head.replace(b"\r\n\r\n", b"\r\nContent-Length: 100000\r\n\r\n"))
                while not self.stop.is_set():
                    conn.send(b"<")
                    time.sleep(self.every)
            else:   # huge
                conn.send(head.replace(b"\r\n\r\n", f"\r\nContent-Length: {self.size}\r\n\r\n".encode()))
                block = b"<rss>" + b" " * 65531
                sent = 0
                while sent < self.size and not self.stop.is_set():
                    conn.sendall(block)
                    sent += len(block)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("what", ["headers", "body"])
def test_a_trickling_server_cannot_hold_a_request_past_its_deadline(what):
    from monitor.fetch import Fetcher, HttpOptions
    server = Trickle(what)
    try:
        with Fetcher(HttpOptions(timeout=1.0)) as f:   # each byte comes within the timeout
            start = time.monotonic()
            with pytest.raises(monitor.FeedError) as err:
                f.get(server.url)
            took = time.monotonic() - start
        assert took < 4.0 and "timed out" in str(err.value)
    finally:
        server.close()


def test_a_huge_feed_is_refused_not_read_whole():
    from monitor.fetch import Fetcher, HttpOptions
    server = Trickle("huge", size=50_000_000)
    try:
        with Fetcher(HttpOptions(timeout=10.0, max_bytes=5_000_000)) as f:
            with pytest.raises(monitor.FeedError) as err:
                f.get(server.url)
        assert "larger than 5 MB" in str(err.value) and not err.value.transient
    finally:
        server.close()


def test_one_huge_feed_does_not_starve_another_source(tmp_path):
    import store
    s = store.Store(tmp_path / "q.sqlite3")
    q = store.Queue(s)
    big = s.sources.add("https://big.example/feed", "feed", None, "big", None)
    small = s.sources.add("https://small.example/feed", "feed", None, "small", None)
    s.videos.discover_many([dict(platform="web", video_id=f"b{i}", url=f"https://big.example/{i}.mp4",
                          source_id=big.id, published=f"2024-01-{1 + i % 28:02d}") for i in range(3000)])
    s.videos.discover_many([dict(platform="web", video_id="s1", url="https://small.example/1.mp4",
                          source_id=small.id)])
    assert q.top_up("archive", big.id, 50) == 50            # 3,000 videos, 50 jobs at a time
    assert q.top_up("archive", big.id, 50) == 0
    assert q.top_up("archive", small.id, 50) == 1
    claimed = [q.claim(("archive",), "w", 60) for _ in range(2)]
    sources = {s.videos.by_pk(j.video).source_id for j in claimed}
    assert sources == {big.id, small.id}                     # round robin: the small source's turn comes at once
    s.close()


def test_verify_does_not_trust_the_database_alone(platform, dalel):
    import hashlib
    import os
    import sqlite3
    import stat

    dalel("channel", "add", platform.feed_url)
    dalel("poll")
    assert "all checks passed" in dalel("verify", "--archive").output
    media = dalel.data_dir / "archive" / "youtube" / "DaLeLdemo01" / "DaLeLdemo01.mp4"
    os.chmod(media, stat.S_IWUSR | stat.S_IRUSR)
    media.write_bytes(media.read_bytes() + b"tampered")
    forged = hashlib.sha256(media.read_bytes()).hexdigest()
    db = sqlite3.connect(dalel.data_dir / "dalel.sqlite3")
    db.execute("UPDATE files SET sha256 = ? WHERE path LIKE '%DaLeLdemo01.mp4'", (forged,))
    db.commit()
    out = dalel("verify", "--archive", ok=False).output
    assert "DaLeLdemo01" in out and "the capture record says" in out and "manifest.json says" in out
    assert "DaLeLdemo02" not in out


def test_a_custody_chain_cut_short_or_recomputed_is_detected(platform, dalel):
    import sqlite3

    from store.custody import digest as _digest
    dalel("channel", "add", platform.feed_url)
    dalel("poll")
    dalel("verify", "--archive")                    # adds a fixity entry to each chain
    db = sqlite3.connect(dalel.data_dir / "dalel.sqlite3")
    triggers = db.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'custody'").fetchall()
    db.executescript("DROP TRIGGER custody_no_update; DROP TRIGGER custody_no_delete;")
    # 1: the last entry of one video deleted
    vid1 = db.execute("SELECT id FROM videos WHERE video_id = 'DaLeLdemo01'").fetchone()[0]
    db.execute("DELETE FROM custody WHERE video = ? AND seq = (SELECT max(seq) FROM custody WHERE video = ?)",
               (vid1, vid1))
    # 2: the other video's whole chain recomputed after editing its capture entry
    vid2, key = db.execute("SELECT id, platform || ':' || video_id FROM videos"
                           " WHERE video_id = 'DaLeLdemo02'").fetchone()
    prev = "0" * 64
    for seq, at, actor, event, details in db.execute(
            "SELECT seq, at, actor, event, details FROM custody WHERE video = ? ORDER BY seq", (vid2,)).fetchall():
        if event == "capture":
            details = details.replace("http", "hxxp")
        digest = _digest(prev, key, seq, at, actor, event, details)
        db.execute("UPDATE custody SET details = ?, prev_hash = ?, hash = ? WHERE video = ? AND seq = ?",
                   (details, prev, digest, vid2, seq))
        prev = digest
    for (sql,) in triggers:
        db.execute(sql)
    db.commit()
    # each entry's hash still matches: only the copy of the head outside the database tells
    rewritten = dalel("custody", "DaLeLdemo02", ok=False)
    assert rewritten.exit_code == 1 and "was rewritten" in rewritten.output
    out = dalel("verify", "--archive", ok=False).output
    assert "DaLeLdemo01" in out and "entries were removed" in out
    assert "DaLeLdemo02" in out and "was rewritten" in out


def test_downloads_pause_while_the_disk_is_low_and_resume(platform, tmp_path):
    from click.testing import CliRunner

    from dalel.cli import cli
    config = tmp_path / "config.toml"

    def run(min_free: str, *args: str):
        config.write_text(f'data_dir = "data"\n[monitor]\nmin_request_interval = "0s"\n'
                          f'min_free_space = "{min_free}"\n', encoding="utf-8")
        return CliRunner().invoke(cli, ["--config", str(config), *args])

    assert run("100000TB", "channel", "add", platform.feed_url).exit_code == 0
    low = run("100000TB", "poll")
    assert "downloads paused" in low.output and "0 archived" in low.output
    import json
    status = json.loads(run("100000TB", "status", "--json").output)
    assert status["disk"]["paused"] is True and status["videos"]["failed"] == 0
    assert not any((tmp_path / "data" / "tmp").glob("*/*"))          # nothing half-written
    back = run("0", "poll")
    assert "2 archived" in back.output


def _gapped_recording(folder: Path) -> Path:
    """Four 2 s AAC clips, each with a beep at 0.5 s, joined at 5 s intervals: three gaps of
    3 s in the presentation timestamps, as a recorded live stream has."""
    import subprocess
    import wave

    import imageio_ffmpeg
    import numpy as np
    ffmpeg, sr = imageio_ffmpeg.get_ffmpeg_exe(), 16000
    t = np.arange(2 * sr) / sr
    beep = (t >= 0.5) & (t < 0.7)
    x = np.where(beep, 0.5 * np.sin(2 * np.pi * 1000 * t), 0.0)
    with wave.open(str(folder / "clip.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(sr)
        w.writeframes((x * 32767).astype(np.int16).tobytes())
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-i", str(folder / "clip.wav"), "-c:a", "aac",
                    "-ar", "16000", "-ac", "1", str(folder / "seg.m4a")], check=True)
    (folder / "list.txt").write_text("file 'seg.m4a'\nduration 5.0\n" * 4, encoding="utf-8")
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i",
                    str(folder / "list.txt"), "-c", "copy", str(folder / "gaps.mp4")], check=True)
    return folder / "gaps.mp4"


def test_audio_positions_follow_presentation_time_across_gaps_and_after_a_resume(tmp_path):
    import numpy as np

    from transcribe.audio import SAMPLE_RATE, windows
    path = _gapped_recording(tmp_path)

    def beeps(start: float, window: float) -> list[float]:
        found = []
        for offset, audio in windows(str(path), window, start):
            loud = np.abs(audio) > 0.2
            for i in np.flatnonzero(loud[1:] & ~loud[:-1]) + 1:
                at = offset + i / SAMPLE_RATE
                if not found or at - found[-1] > 1.0:
                    found.append(at)
        return found

    expected = [0.5, 5.5, 10.5, 15.5]                      # where a player shows each beep
    straight = beeps(0.0, 60)
    assert len(straight) == 4 and all(abs(a - b) < 0.15 for a, b in zip(straight, expected)), straight
    windowed = beeps(0.0, 7.0)                             # cut into windows: the same places
    assert len(windowed) == 4 and all(abs(a - b) < 0.01 for a, b in zip(windowed, straight)), windowed
    resumed = beeps(6.0, 60)                               # a resume seeks into the second gap
    assert len(resumed) == 2 and all(abs(a - b) < 0.15 for a, b in zip(resumed, expected[2:])), resumed
    # the gaps are audio the recording does not have: on record as not heard, not as silence
    missing: list = []
    list(windows(str(path), 7.0, 0.0, missing))
    assert len(missing) == 3 and all(abs(a - (2.0 + 5 * k)) < 0.15 and abs(b - a - 3.0) < 0.15
                                     for k, (a, b) in enumerate(missing)), missing


def test_credentials_in_a_channel_url_are_never_shown(platform, dalel):
    from urllib.parse import urlsplit
    parts = urlsplit(platform.feed_url)
    secret = platform.feed_url.replace(f"{parts.hostname}:", f"reader:hunter2@{parts.hostname}:")
    dalel("channel", "add", secret)
    shown = dalel("channel", "list").output + dalel("channel", "list", "--json").output + \
        dalel("status", "--json").output
    assert "hunter2" not in shown and "***@" in shown


def test_clip_times_must_be_finite_and_an_unwritable_out_is_one_line(platform, dalel, tmp_path):
    dalel("channel", "add", platform.feed_url)
    dalel("poll")
    for args in (["nan", "5"], ["1", "inf"], ["1", "5", "--pad", "nan"]):
        result = dalel("clip", "DaLeLdemo01", *args, ok=False)
        assert result.exit_code in (1, 2) and "Traceback" not in result.output, args
    result = dalel("clip", "DaLeLdemo01", "1", "3", "--out", "/proc/self/x.zip", ok=False)
    assert result.exit_code == 1 and "cannot write /proc/self/x.zip" in result.output
