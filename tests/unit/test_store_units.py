"""The store's machinery on data built by hand: the job queue's claims, leases and
back-off; migrations from every older schema version; the custody chain."""
from __future__ import annotations

import sqlite3
import time

import pytest

import store
from store import custody
from store.schema import MIGRATIONS


@pytest.fixture
def s(tmp_path):
    with store.Store(tmp_path / "dalel.sqlite3", actor="tester@test") as st:
        yield st


@pytest.fixture
def both(backend):
    """A store in SQLite, then in a cluster's PostgreSQL: the queue's and the custody chain's
    contract holds on both (each with its own queue: store.open_queue)."""
    with store.Store(backend, actor="tester@test") as st:
        yield st


def _lease_until(s) -> float:
    """The job's lease expiry as epoch seconds, as each engine stores it."""
    if s.dialect == "postgresql":
        return float(s.conn.execute("SELECT extract(epoch FROM lease_until) FROM jobs").fetchone()[0])
    return store.parse_stamp(s.conn.execute("SELECT lease_until FROM jobs").fetchone()[0])


def _video(s, vid="v1", source_id=None, published=None):
    video, _ = s.videos.discover("web", vid, f"https://example.org/{vid}", source_id=source_id,
                                 published=published)
    return video


# --- queue ---------------------------------------------------------------------------

def test_enqueueing_the_same_work_twice_queues_it_once(both):
    s = both
    q, v = store.open_queue(s), _video(s)
    assert q.enqueue("archive", v.id) is True
    assert q.enqueue("archive", v.id) is False
    assert sum(q.depth().values()) == 1


def test_a_claimed_job_is_not_claimed_again_until_its_lease_expires(both):
    s = both
    q, v = store.open_queue(s), _video(s)
    q.enqueue("archive", v.id)
    job = q.claim(("archive",), "worker-a", lease_s=600)
    assert job is not None and job.lease_owner == "worker-a" and job.attempts == 1
    assert q.claim(("archive",), "worker-b", lease_s=60) is None
    # the lease runs out (worker-a was killed): the job is taken over
    s.conn.execute("UPDATE jobs SET lease_until = ?", (store.utcnow(-1),))
    again = q.claim(("archive",), "worker-b", lease_s=60)
    assert again is not None and again.id == job.id and again.lease_owner == "worker-b"
    assert again.attempts == 2


def test_an_extended_lease_keeps_the_job(both):
    s = both
    q, v = store.open_queue(s), _video(s)
    q.enqueue("transcribe", v.id)
    job = q.claim(("transcribe",), "w", lease_s=0)
    q.extend(job, "w", lease_s=600)
    q.extend(job, "someone-else", lease_s=-600)      # only the owner extends its lease
    assert _lease_until(s) >= time.time() + 590
    assert q.claim(("transcribe",), "other", lease_s=60) is None


def test_back_off_grows_and_obeys_retry_after_up_to_a_day(both):
    s = both
    q, v = store.open_queue(s), _video(s)
    q.enqueue("archive", v.id)
    delays = []
    for _ in range(3):
        conn = s.conn
        conn.execute("UPDATE jobs SET not_before = '2000-01-01T00:00:00Z'")
        job = q.claim(("archive",), "w", lease_s=60)
        delays.append(q.retry(job, "HTTP 503", base_s=10))
    assert 8 <= delays[0] <= 12 and 16 <= delays[1] <= 24 and 32 <= delays[2] <= 48
    s.conn.execute("UPDATE jobs SET not_before = '2000-01-01T00:00:00Z'")
    job = q.claim(("archive",), "w", lease_s=60)
    assert q.retry(job, "429", base_s=10, retry_after_s=3600) >= 3600
    s.conn.execute("UPDATE jobs SET not_before = '2000-01-01T00:00:00Z'")
    job = q.claim(("archive",), "w", lease_s=60)
    assert q.retry(job, "429", base_s=10, retry_after_s=1e12) <= 24 * 3600 * 1.0
    assert q.claim(("archive",), "w", lease_s=60) is None          # not due before its time


def test_jobs_are_claimed_round_robin_across_sources(both):
    s = both
    a = s.sources.add("https://a.example/feed", "feed", None, None, None)
    b = s.sources.add("https://b.example/feed", "feed", None, None, None)
    q = store.open_queue(s)
    for i in range(5):
        q.enqueue("archive", _video(s, f"a{i}", a.id).id)
    q.enqueue("archive", _video(s, "b0", b.id).id)
    first = [q.claim(("archive",), "w", 60) for _ in range(2)]
    assert {s.videos.by_pk(j.video).source_id for j in first} == {a.id, b.id}


def test_jobs_of_a_dead_owner_are_released(both):
    s = both
    q, v = store.open_queue(s), _video(s)
    q.enqueue("archive", v.id)
    q.claim(("archive",), "host:123:worker", lease_s=3600)
    assert q.release("host:", alive=lambda owner: False) == 1
    job = q.claim(("archive",), "host:456:worker", lease_s=60)
    assert job is not None and job.attempts == 1       # a dead owner's attempt is not counted


def test_a_poll_is_a_job_about_a_source_queued_once_and_claimed_under_a_lease(both):
    """A cluster's scheduler queues a source's poll; one worker holds it under a lease; a second
    poll of the same source is not queued while one is open; removing the source removes it."""
    s = both
    a = s.sources.add("https://a.example/feed", "feed", None, "Alpha", None)
    b = s.sources.add("https://b.example/feed", "feed", None, None, None)
    q = store.open_queue(s)
    assert q.enqueue_source("poll", a.id) is True
    assert q.enqueue_source("poll", a.id) is False
    assert q.enqueue_source("poll", b.id) is True
    q.enqueue("archive", _video(s, "a0", a.id).id)
    assert q.depth() == {"poll_queued": 2, "archive_queued": 1}
    job = q.claim(("poll",), "worker-a", lease_s=600)
    assert job is not None and job.kind == "poll" and job.video is None and job.source in (a.id, b.id)
    assert [(r["kind"], r["video_id"]) for r in q.running()] == \
        [("poll", "Alpha" if job.source == a.id else "https://b.example/feed")]
    other = q.claim(("poll",), "worker-b", lease_s=600)
    assert other is not None and other.source != job.source
    assert q.claim(("poll",), "worker-c", lease_s=600) is None
    q.done(job)
    assert q.enqueue_source("poll", job.source) is True          # done: the next one may be queued
    archive = q.claim(("archive",), "worker-c", lease_s=600)
    assert archive is not None and archive.source is None and archive.video is not None
    named = s.sources.add("https://c.example/feed", "feed", None, str(a.id), None)   # named like a's id
    assert s.sources.by_pk(a.id).id == a.id and s.sources.by_pk(named.id).name == str(a.id)
    s.sources.remove(b.id)
    assert ("poll", b.id) not in [(k, src) for k, src in s.conn.execute("SELECT kind, source FROM jobs")]


# --- migrations ----------------------------------------------------------------------

@pytest.mark.parametrize("version", range(1, len(MIGRATIONS)))
def test_an_archive_of_every_older_schema_version_is_upgraded(tmp_path, version):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.create_function("dalel_fold", 1, store.text.fold, deterministic=True)   # as Store does
    for number, script in enumerate(MIGRATIONS[:version], start=1):
        for statement in script.split(";\n"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
    conn.execute("INSERT INTO videos (platform, video_id, url, discovered_at) VALUES"
                 " ('web', 'old1', 'https://example.org/old1', '2024-01-01T00:00:00Z')")
    conn.close()
    with store.Store(path) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        old = s.videos.find("old1")
        assert old.state == "discovered"
        s.transcripts.add_text(old, source="import", model="by hand",
                               segments=[store.SegmentRecord(0.0, 2.0, "Мы призываем к переменам", "ru")])
        hits = store.search(s, store.parse("призыв"))
        assert [h.video_id for h in hits.hits] == ["old1"]


# --- custody -------------------------------------------------------------------------

def test_the_custody_chain_links_each_entry_to_the_one_before(both):
    s = both
    v = _video(s)
    first = custody.record(s, v, "capture", {"sha256": "ab" * 32})
    second = custody.record(s, v, "export", {"package": "p.zip"})
    entries, problems = custody.chain(s, v)
    assert problems == []
    assert [e.seq for e in entries] == [1, 2]
    assert entries[0].prev_hash == custody.GENESIS and entries[1].prev_hash == first == entries[0].hash
    assert entries[1].hash == second and entries[0].actor == "tester@test"


def test_an_altered_custody_entry_is_named(s):
    v = _video(s)
    custody.record(s, v, "capture", {"sha256": "ab" * 32})
    custody.record(s, v, "export", {"package": "p.zip"})
    s.conn.execute("DROP TRIGGER custody_no_update")          # what someone with the file can do
    s.conn.execute("UPDATE custody SET details = '{\"sha256\":\"00\"}' WHERE seq = 1")
    _, problems = custody.chain(s, v)
    assert any("entry 1" in p and "altered" in p for p in problems)


def test_a_chain_cut_short_is_caught_by_the_heads_log(s):
    v = _video(s)
    custody.record(s, v, "capture", {"sha256": "ab" * 32})
    custody.record(s, v, "export", {"package": "p.zip"})
    s.conn.execute("DROP TRIGGER custody_no_delete")
    s.conn.execute("DELETE FROM custody WHERE seq = 2")
    entries, problems = custody.chain(s, v)
    assert problems == []                                       # the chain alone looks whole
    heads = custody.check_heads(s, v, entries, custody.last_heads(s.heads_path))
    assert heads and "removed" in heads[0]


def test_a_rolled_back_transaction_leaves_no_head(s):
    v = _video(s)
    with pytest.raises(RuntimeError):
        with s.transaction() as conn:
            custody.append(conn, v, "capture", {})
            raise RuntimeError("crash before commit")
    assert custody.last_heads(s.heads_path) == {}
    assert custody.chain(s, v) == ([], [])


# --- the SQL both engines run ------------------------------------------------------------

def test_the_postgresql_adapter_translates_placeholders_only_outside_quotes():
    from store.pg.conn import translate
    assert translate("SELECT '?', \"a?b\" FROM t WHERE x = ? AND y LIKE '%z'") == \
        "SELECT '?', \"a?b\" FROM t WHERE x = %s AND y LIKE '%%z'"
    assert translate("SELECT 1 FROM t WHERE id IN () OR id IN (?, ?)") == \
        "SELECT 1 FROM t WHERE id IN (NULL) OR id IN (%s, %s)"
    assert translate("SELECT 'it''s ?' || ?") == "SELECT 'it''s ?' || %s"
