"""A cluster's processes as real processes: `dalel scheduler` (one active, a standby taking over)
and `dalel worker`s on a real PostgreSQL and a real SeaweedFS, against the loopback platform —
every video archived and transcribed exactly once with 4 workers, a worker killed with SIGKILL
mid-download or mid-transcription replaced by another, the database restarted mid-run."""
from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from conftest import app_role_url, empty_cluster_database, make_bucket

import servers
from dalel.loopback import DemoVideo, Platform, demo_videos

CONFIG = """data_dir = "data"
[monitor]
poll_every = "2s"
recheck_every = "2s"
min_request_interval = "0s"
retry_base = "1s"
request_timeout = "5s"
lease = "4s"
per_host = 2
download_workers = 1
[transcribe]
languages = ["ru"]
[evidence]
fixity_every = "3s"
[cluster]
database_url = "{url}"
archive_url = "s3://{bucket}/dalel"
s3_endpoint_url = "{endpoint}"
retention_days = 1
"""


def videos(n: int) -> list[DemoVideo]:
    """n videos (the demo's two recordings under their own ids)."""
    demo = demo_videos()
    return [DemoVideo(f"DaLeLclus{i:02d}", f"{demo[i % 2].title} {i}", demo[i % 2].media,
                      f"2024-03-{i + 1:02d}T18:00:00+00:00") for i in range(n)]


class Cluster:
    """Processes of one cluster, each with its own log; the state read with psycopg."""

    def __init__(self, tmp: Path, url: str, endpoint: str, bucket: str):
        self.tmp, self.url = tmp, url
        self.config = tmp / "cluster.toml"
        self.config.write_text(CONFIG.format(url=url, bucket=bucket, endpoint=endpoint), encoding="utf-8")
        self.procs: dict[str, subprocess.Popen] = {}

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "dalel", "--config", str(self.config), *args],
                              capture_output=True, text=True, timeout=120, cwd=self.tmp)

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "a")
        proc = subprocess.Popen([sys.executable, "-m", "dalel", "--config", str(self.config), "-v", *args],
                                stdout=subprocess.DEVNULL, stderr=log, cwd=self.tmp)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n" + "\n".join(self.log(n).splitlines()[-30:]) for n in self.procs)

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as db:
            return db.execute(sql, params).fetchall()

    def wait(self, what, timeout: float = 180.0, step: float = 0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got = what()
            except psycopg.OperationalError:
                got = None
            if got:
                return got
            time.sleep(step)
        raise AssertionError(f"timed out waiting; logs:\n{self.logs()}")

    def transcribed(self) -> int:
        return self.rows("SELECT count(*) FROM videos WHERE state = 'transcribed'")[0][0]

    def owner_of(self, kind: str) -> str | None:
        """The process (its name here) holding a running job of this kind."""
        rows = self.rows("SELECT lease_owner FROM jobs WHERE kind = %s AND state = 'running'", (kind,))
        pids = {int(owner.split(":")[1]) for (owner,) in rows}
        return next((n for n, p in self.procs.items() if p.pid in pids), None)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def assert_exactly_once(self, n: int) -> None:
        """Each video archived once (one capture in custody, one media object), transcribed once
        (one complete speech transcript, one transcription entry), no job done twice."""
        assert self.rows("SELECT count(*) FROM videos")[0][0] == n
        assert self.transcribed() == n
        per_video = self.rows("SELECT v.video_id, count(*) FILTER (WHERE c.event = 'capture'),"
                              " count(*) FILTER (WHERE c.event = 'transcription') FROM videos v"
                              " JOIN custody c ON c.video = v.id GROUP BY v.video_id")
        assert len(per_video) == n and all(cap == 1 and tr == 1 for _, cap, tr in per_video), per_video
        assert self.rows("SELECT count(*) FROM files WHERE role = 'media'")[0][0] == n
        assert self.rows("SELECT count(*) FROM transcripts WHERE source = 'asr'")[0][0] == n
        assert self.rows("SELECT count(*) FROM transcripts WHERE NOT complete")[0][0] == 0
        done = self.rows("SELECT kind, video, count(*) FROM jobs WHERE state = 'done' AND kind IN"
                         " ('archive', 'transcribe') GROUP BY kind, video HAVING count(*) > 1")   # (re-checks recur)
        assert done == [], done
        scratch = self.tmp / "data" / "tmp"
        left = [p for p in scratch.rglob("*") if p.is_file()] if scratch.exists() else []
        assert left == [], left


@pytest.fixture(scope="module")
def pg_server():
    """A PostgreSQL server of these tests' own: one of them restarts it."""
    with servers.postgres_server() as url:
        yield url


@pytest.fixture
def cluster(pg_server, seaweed, tmp_path, request):
    bucket = "pr-" + hashlib.sha1(request.node.name.encode()).hexdigest()[:12]
    make_bucket(seaweed, bucket)
    app_role_url(pg_server)                     # every process connects as the application role
    c = Cluster(tmp_path, app_role_url(empty_cluster_database(pg_server, app_role="dalel_app")), seaweed, bucket)
    yield c
    for proc in c.procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_scheduler_and_four_workers_do_every_video_exactly_once(cluster):
    with Platform(videos(4)) as platform:
        assert cluster.cli("channel", "add", platform.feed_url).returncode == 0
        cluster.start("scheduler", "scheduler")
        for i in range(4):
            cluster.start(f"worker-{i}", "worker")
        cluster.wait(lambda: cluster.transcribed() == 4)
        status = json.loads(cluster.cli("status", "--json").stdout)
        roles = sorted((p["role"], p["state"]) for p in status["processes"] if p["alive"])
        assert roles == [("scheduler", "active")] + [("worker", "active")] * 4
        assert status["daemon"]["alive"] and status["videos"]["transcribed"] == 4
        # polls, re-checks at the source and fixity are jobs too, done by the workers
        cluster.wait(lambda: {k for (k,) in cluster.rows("SELECT DISTINCT kind FROM jobs WHERE state = 'done'")}
                     >= {"poll", "archive", "transcribe", "recheck", "fixity"})
        polls = cluster.rows("SELECT state, count(*) FROM jobs WHERE kind = 'poll' GROUP BY state")
        assert dict(polls).get("done", 0) >= 1 and dict(polls).get("failed", 0) == 0
        cluster.stop()
    cluster.assert_exactly_once(4)
    fixity = cluster.rows("SELECT details FROM custody WHERE event = 'fixity'")
    assert fixity and all(json.loads(d)["ok"] for (d,) in fixity)
    assert "scheduler active" in cluster.log("scheduler")


def test_a_worker_killed_mid_download_is_replaced_by_another(cluster):
    with Platform(videos(2)) as platform:
        platform.throttle = 40_000      # bytes/s: a download takes seconds
        assert cluster.cli("channel", "add", platform.feed_url).returncode == 0
        cluster.start("scheduler", "scheduler")
        cluster.start("a", "worker")
        cluster.start("b", "worker")
        scratch = cluster.tmp / "data" / "tmp"
        cluster.wait(lambda: scratch.exists() and any(p.name.endswith(".part") for p in scratch.rglob("*")),
                     step=0.05)         # mid-download
        victim = cluster.owner_of("archive")
        assert victim is not None
        cluster.procs[victim].send_signal(signal.SIGKILL)
        cluster.procs[victim].wait()
        platform.throttle = None
        cluster.wait(lambda: cluster.transcribed() == 2)
        cluster.stop()
    cluster.assert_exactly_once(2)


def test_a_worker_killed_mid_transcription_is_replaced_by_another(cluster):
    with Platform(videos(1)) as platform:
        assert cluster.cli("channel", "add", platform.feed_url).returncode == 0
        cluster.start("scheduler", "scheduler")
        cluster.start("a", "worker", "--kinds", "poll,archive,transcribe")
        cluster.start("b", "worker", "--kinds", "transcribe")
        cluster.wait(lambda: cluster.rows("SELECT count(*) FROM transcripts WHERE source = 'asr'"
                                          " AND NOT complete")[0][0], step=0.02)
        victim = cluster.owner_of("transcribe")
        assert victim is not None
        cluster.procs[victim].send_signal(signal.SIGKILL)
        cluster.procs[victim].wait()
        cluster.wait(lambda: cluster.transcribed() == 1)
        cluster.stop()
    cluster.assert_exactly_once(1)


def test_the_standby_scheduler_takes_over_and_workers_survive_a_database_restart(cluster, pg_server):
    with Platform(videos(2)) as platform:
        first, second = platform.videos
        platform.videos = [first]
        assert cluster.cli("channel", "add", platform.feed_url).returncode == 0
        cluster.start("s1", "scheduler")
        cluster.wait(lambda: "scheduler active" in cluster.log("s1"))
        cluster.start("s2", "scheduler")
        cluster.wait(lambda: "standing by" in cluster.log("s2"))
        cluster.start("w", "worker")
        cluster.wait(lambda: cluster.transcribed() == 1)
        pg_server.restart()             # every connection is cut
        cluster.procs["s1"].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        cluster.wait(lambda: "scheduler active" in cluster.log("s2"), timeout=60)
        assert time.monotonic() - killed < 60
        platform.videos = [second, first]                      # a new video: its poll queued by s2, done by w
        cluster.wait(lambda: cluster.transcribed() == 2)
        cluster.stop()
    cluster.assert_exactly_once(2)
    assert "new connection" in cluster.log("w")
    assert any(" found " in line and second.video_id in line for line in cluster.log("w").splitlines())
    assert "found " not in cluster.log("s1") + cluster.log("s2")    # a scheduler of its own polls nothing itself
