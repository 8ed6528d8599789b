"""Soak: the daemon through a simulated day of a hostile platform, killed at random.

A loopback channel publishes N videos over the run (a simulated day, compressed), every
request meeting random faults (10% 503, 5% a stall past the request timeout, 2% a body cut
in half); a few of the videos are recordings with gaps in their timestamps. `dalel run`
works through it while the bench sends it `kill -9` at random moments and restarts it. At
the end it prints: videos lost (published, not archived and transcribed), duplicated
(files, transcripts, segments, custody entries), failed although the fault was transient,
whether the daemon is alive, `verify --archive`, and how far the transcript's time of a
known word on the gapped recordings lies from the player's (target: 0, 0, 0, alive, clean,
within 0.5 s).

    .venv/bin/python bench/soak.py [--videos 200] [--kills 20] [--minutes 20]
"""
from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dalel.loopback import DEMO_DIR, DemoVideo, Platform  # noqa: E402

CONFIG = """data_dir = "data"
[monitor]
poll_every = "2s"
recheck_every = "24h"
min_request_interval = "0s"
retry_base = "1s"
request_timeout = "2s"
max_attempts = 60
min_free_space = "0"
[transcribe]
languages = ["ru"]
"""


def gapped(folder: Path) -> tuple[Path, list[float]]:
    """The demo broadcast twice, the second copy 5 s after the first ends (a 5 s gap in the
    timestamps); returns the file and where a player shows «захвату» in it."""
    import imageio_ffmpeg

    from transcribe import media_duration
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    src = DEMO_DIR / "ru_broadcast.mp4"
    spoken = json.loads((DEMO_DIR / "ru_broadcast.json").read_text(encoding="utf-8"))["spoken_at"]
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-i", str(src), "-vn", "-c:a", "aac", "-ar", "16000",
                    "-ac", "1", str(folder / "part.m4a")], check=True)
    length = media_duration(folder / "part.m4a")
    (folder / "list.txt").write_text(f"file 'part.m4a'\nduration {length + 5:.3f}\nfile 'part.m4a'\n",
                                     encoding="utf-8")
    out = folder / "gapped.mp4"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "concat", "-safe", "0", "-i",
                    str(folder / "list.txt"), "-c", "copy", str(out)], check=True)
    return out, [spoken, length + 5 + spoken]


class Daemon:
    """The dalel process under test, its CLI, and how far it got."""

    def __init__(self, tmp: Path):
        self.tmp, self.log = tmp, tmp / "daemon.log"

    def cli(self, *a: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "dalel", "--config", str(self.tmp / "config.toml"), *a],
                              capture_output=True, text=True, timeout=300)

    def start(self) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "dalel", "--config", str(self.tmp / "config.toml"), "-v",
                                 "run"], stdout=subprocess.DEVNULL, stderr=open(self.log, "a"))

    def done(self) -> int:
        try:
            db = sqlite3.connect(self.tmp / "data" / "dalel.sqlite3", timeout=30)
            return db.execute("SELECT count(*) FROM videos WHERE state = 'transcribed'").fetchone()[0]
        except sqlite3.Error:
            return 0


def run_chaos(args, daemon: Daemon, videos: list[DemoVideo], rng: random.Random) -> tuple[bool, float, list]:
    """Publish the videos over the first third of the run under random faults, kill -9 the
    daemon at random times; returns (alive at the end, seconds taken, kill times)."""
    started = time.monotonic()
    deadline = started + args.minutes * 60
    with Platform([], channel="Soak") as platform:
        out = daemon.cli("channel", "add", platform.feed_url)    # the channel is added on a good day
        if out.returncode:
            raise SystemExit(out.stdout + out.stderr)
        platform.chaos = {"5xx": 0.10, "timeout": 0.05, "truncate": 0.02, "stall_s": 3.0,
                          "rng": random.Random(11)}
        proc = daemon.start()
        kills = sorted(rng.uniform(5, args.minutes * 60 / 3) for _ in range(args.kills))   # while publishing
        published, kill_times = 0, []
        while time.monotonic() < deadline:
            elapsed = time.monotonic() - started
            # the day's videos appear over the first third of the run, newest first in the feed
            due = min(len(videos), int(len(videos) * elapsed / max(1.0, args.minutes * 60 / 3)) + 1)
            if due > published:
                platform.videos = list(reversed(videos[:due]))[:50]   # a feed shows the newest 50
                published = due
            if kills and elapsed >= kills[0]:
                kills.pop(0)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kill_times.append(round(elapsed, 1))
                proc = daemon.start()
            if published == len(videos) and not kills and daemon.done() == len(videos):
                break
            if proc.poll() is not None:
                print(f"daemon exited {proc.returncode} by itself at {elapsed:.0f} s; restarting")
                proc = daemon.start()
            time.sleep(0.5)
        alive = proc.poll() is None
        took = time.monotonic() - started
        platform.chaos = None
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return alive, took, kill_times


def duplicates(db: sqlite3.Connection) -> dict[str, int]:
    return {
        "videos": db.execute("SELECT count(*) - count(DISTINCT video_id) FROM videos").fetchone()[0],
        "media files": db.execute("SELECT count(*) - count(DISTINCT video) FROM files"
                                  " WHERE role = 'media'").fetchone()[0],
        "asr transcripts": db.execute("SELECT count(*) - count(DISTINCT video) FROM transcripts"
                                      " WHERE source = 'asr' AND complete").fetchone()[0],
        "segments": db.execute("SELECT count(*) FROM (SELECT transcript, seq FROM segments GROUP BY"
                               " transcript, seq HAVING count(*) > 1)").fetchone()[0],
        "custody captures": db.execute("SELECT count(*) - count(DISTINCT video) FROM custody"
                                       " WHERE event = 'capture'").fetchone()[0],
    }


def report(args, daemon: Daemon, videos, gapped_ids, truth, alive: bool, took: float, kill_times) -> None:
    db = sqlite3.connect(daemon.tmp / "data" / "dalel.sqlite3")
    complete = {r[0] for r in db.execute("SELECT video_id FROM videos WHERE state = 'transcribed'")}
    lost = sorted({v.video_id for v in videos} - complete)
    dup = duplicates(db)
    failed = [(v, e) for v, e in db.execute("SELECT video_id, error FROM videos WHERE state = 'failed'")]
    transient = [f for f in failed if any(w in (f[1] or "").lower() for w in
                                          ("503", "timed out", "timeout", "incomplete", "truncat", "reset"))]
    verify = daemon.cli("verify", "--archive")
    offsets = []
    for vid in sorted(gapped_ids & complete):
        words = json.loads(daemon.cli("transcript", vid, "--format", "json").stdout)
        times = [w["start"] for s in words["segments"] for w in s["words"]
                 if w["word"].strip().lower().startswith("захвату")]
        offsets += [min(abs(t - x) for t in times) for x in truth] if times else [float("inf")]
    print(f"{args.videos} videos over {took / 60:.1f} min, {len(kill_times)} kill -9 at {kill_times} s; "
          f"faults: 10% 503, 5% stalls past the timeout, 2% truncated bodies")
    print(f"lost: {len(lost)} {lost[:10]}")
    print(f"duplicated: {sum(dup.values())} {dup}")
    print(f"failed although transient: {len(transient)} {transient[:5]} (failed in all: {len(failed)})")
    print(f"daemon alive at the end: {alive}")
    said = verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else verify.stderr.strip()
    print(f"verify --archive: exit {verify.returncode}: {said}")
    worst = max(offsets, default=float("nan"))
    print(f"gapped recordings: «захвату» at most {worst:.2f} s from the player's time "
          f"({len(offsets)} mentions in {len(gapped_ids & complete)} recordings)")
    ok = not lost and not sum(dup.values()) and not transient and alive and verify.returncode == 0 and worst <= 0.5
    print("target: 0 lost, 0 duplicated, 0 failed-but-transient, alive, verify clean, within 0.5 s — "
          + ("met" if ok else "NOT met") + f"\n(archive kept in {daemon.tmp})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=200)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--minutes", type=float, default=20.0, help="give up after this long")
    args = ap.parse_args()
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="dalel-soak-"))
    (tmp / "config.toml").write_text(CONFIG, encoding="utf-8")
    gap_file, truth = gapped(tmp)
    media = [DEMO_DIR / "ru_news.mp4", DEMO_DIR / "ru_broadcast.mp4"]
    gapped_ids = {f"Soak{i:04d}" for i in range(0, args.videos, max(1, args.videos // 4))}
    videos = [DemoVideo(f"Soak{i:04d}", f"Soak video {i}", gap_file if f"Soak{i:04d}" in gapped_ids
                        else media[i % 2], f"2024-05-{1 + i % 28:02d}T{i % 24:02d}:00:00+00:00")
              for i in range(args.videos)]
    daemon = Daemon(tmp)
    alive, took, kill_times = run_chaos(args, daemon, videos, rng)
    report(args, daemon, videos, gapped_ids, truth, alive, took, kill_times)


if __name__ == "__main__":
    main()
