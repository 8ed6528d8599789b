"""The cluster's state on a real PostgreSQL: the schema migrates once, the job queue keeps the
embedded queue's promises with many processes claiming at once (no job ever done twice), and
the custody log stays one chain per video under concurrent appends, append-only by trigger and
by privilege."""
from __future__ import annotations

import json
import multiprocessing
import threading
import time

import psycopg
import pytest

import store
from store.pg import PgDatabase, PgQueue
from store.pg.schema import STEPS


@pytest.fixture
def db(postgres):
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute("DROP SCHEMA public CASCADE")
        admin.execute("CREATE SCHEMA public")
        admin.execute("DO $$ BEGIN CREATE ROLE dalel_app LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    with PgDatabase(postgres) as d:
        assert d.migrate(app_role="dalel_app") == len(STEPS)
        assert d.migrate(app_role="dalel_app") == 0              # applied once
        yield d


def video(db, vid: str, source: str | None = None) -> int:
    src = None
    if source:
        src = db.conn.execute("INSERT INTO sources (url, kind, created_at) VALUES (%s, 'feed', 'now')"
                              " ON CONFLICT (url) DO UPDATE SET kind = 'feed' RETURNING id", (source,)).fetchone()[0]
    return db.conn.execute("INSERT INTO videos (platform, video_id, url, discovered_at, source_id)"
                           " VALUES ('web', %s, %s, 'now', %s) RETURNING id",
                           (vid, f"https://e/{vid}", src)).fetchone()[0]


def test_the_queue_keeps_its_promises(db):
    q = PgQueue(db)
    v = video(db, "v1")
    assert q.enqueue("archive", v) is True and q.enqueue("archive", v) is False
    job = q.claim(("archive",), "worker-a", 600)
    assert job and job.lease_owner == "worker-a" and job.attempts == 1
    assert q.claim(("archive",), "worker-b", 60) is None
    q.extend(job, "someone-else", 0)                             # only the owner extends its lease
    assert q.claim(("archive",), "worker-b", 60) is None
    db.conn.execute("UPDATE jobs SET lease_until = now() - interval '1 second'")   # worker-a died
    again = q.claim(("archive",), "worker-b", 60)
    assert again and again.id == job.id and again.attempts == 2 and again.lease_owner == "worker-b"
    assert 8 <= q.retry(again, "HTTP 503", base_s=5) <= 12      # 5 × 2¹, jitter ±20 %
    assert q.claim(("archive",), "w", 60) is None                # not before its time
    db.conn.execute("UPDATE jobs SET not_before = now()")
    third = q.claim(("archive",), "w", 60)
    assert q.retry(third, "429", base_s=1, retry_after_s=1e12) == 24 * 3600   # Retry-After capped at a day
    db.conn.execute("UPDATE jobs SET not_before = now()")
    q.done(q.claim(("archive",), "w", 60))
    assert q.depth() == {} and q.enqueue("archive", v) is True   # done: the same work may be queued again


def test_claims_go_round_robin_across_sources(db):
    q = PgQueue(db)
    for i in range(5):
        q.enqueue("archive", video(db, f"a{i}", "https://a.example/feed"))
    q.enqueue("archive", video(db, "b0", "https://b.example/feed"))
    first, second = q.claim(("archive",), "w", 60), q.claim(("archive",), "w", 60)
    sources = {db.conn.execute("SELECT source_id FROM videos WHERE id = %s", (j.video,)).fetchone()[0]
               for j in (first, second)}
    assert len(sources) == 2


def claimer(url: str, name: str, out, ready, go) -> None:
    """One process claiming (and finishing) jobs until none is left; puts (ids, claim times)."""
    with PgDatabase(url) as d:
        q, done, waits = PgQueue(d), [], []
        ready.put(name)
        go.wait(60)                     # all eight connected: they claim at once
        while True:
            start = time.perf_counter()
            job = q.claim(("archive",), name, 600)
            waits.append(time.perf_counter() - start)
            if job is None:
                break
            q.done(job)
            done.append(job.id)
        out.put((done, waits))


def claim_in_processes(url: str, n: int, timeout: float = 600) -> list[tuple[list[int], list[float]]]:
    """n processes, all connected before any claims, claiming at once until the queue is empty;
    each one's (job ids done, claim times in seconds). bench/cluster.py times the same."""
    ctx = multiprocessing.get_context("spawn")
    out, ready, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=claimer, args=(url, f"w{k}", out, ready, go)) for k in range(n)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=60)
    go.set()
    results = [out.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join()
    return results


def test_eight_processes_claim_every_job_exactly_once(db, postgres):
    q = PgQueue(db)
    for i in range(400):
        q.enqueue("archive", video(db, f"p{i}", f"https://s{i % 7}.example/feed"))
    results = claim_in_processes(postgres, 8)
    done = [j for ids, _ in results for j in ids]
    assert len(done) == 400 and len(set(done)) == 400                  # none twice, none lost
    assert all(len(ids) > 0 for ids, _ in results)                     # the work was shared
    waits = sorted(w for _, ws in results for w in ws)
    print(f"claim p50 {waits[len(waits) // 2] * 1000:.1f} ms, p95 {waits[int(len(waits) * 0.95)] * 1000:.1f} ms")


def test_custody_is_one_chain_per_video_under_concurrent_appends(db, postgres):
    v = video(db, "c1")

    def appender(n: int) -> None:
        with store.Store(postgres, actor=f"worker-{n}") as s:      # the store's own custody, on PostgreSQL
            one = s.videos.by_pk(v)
            for i in range(25):
                store.custody.record(s, one, "verification", {"by": n, "i": i})
    threads = [threading.Thread(target=appender, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = [r[0] for r in db.conn.execute("SELECT seq FROM custody WHERE video = %s ORDER BY seq", (v,))]
    assert seqs == list(range(1, 201))
    with store.Store(postgres) as s:
        assert store.custody.chain(s, s.videos.by_pk(v))[1] == []


def test_custody_is_append_only_by_trigger_and_by_privilege(db, postgres):
    v = video(db, "c2")
    with store.Store(postgres) as s:
        store.custody.record(s, s.videos.by_pk(v), "capture", {"sha256": "ab" * 32})
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        db.conn.execute("UPDATE custody SET details = '{}'")          # even the owner of the table
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        db.conn.execute("DELETE FROM custody")
    app_url = postgres.replace("postgres@", "dalel_app@")
    with psycopg.connect(app_url, autocommit=True) as app:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("UPDATE custody SET details = '{}'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("TRUNCATE custody")
        assert app.execute("SELECT count(*) FROM custody").fetchone()[0] == 1


def test_dalel_migrate_prepares_the_schema_once_and_the_commands_run_on_it(postgres, tmp_path):
    from click.testing import CliRunner

    from dalel.cli import cli
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS migrated")
        admin.execute("CREATE DATABASE migrated")
    url = postgres.rsplit("/", 1)[0] + "/migrated"
    config = tmp_path / "cluster.toml"
    config.write_text(f'data_dir = "data"\n[cluster]\ndatabase_url = "{url}"\n', encoding="utf-8")
    before = CliRunner().invoke(cli, ["--config", str(config), "status"])
    assert before.exit_code == 1 and "run `dalel migrate`" in before.output      # no schema: one line
    assert len(before.output.strip().splitlines()) == 1
    first = CliRunner().invoke(cli, ["--config", str(config), "migrate"])
    assert first.exit_code == 0 and f"schema at version {len(STEPS)} ({len(STEPS)} step(s) applied)" in first.output
    again = CliRunner().invoke(cli, ["--config", str(config), "migrate"])
    assert again.exit_code == 0 and "(0 step(s) applied)" in again.output
    status = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    assert status.exit_code == 0 and json.loads(status.output)["videos"]["discovered"] == 0
    assert not (tmp_path / "data" / "dalel.sqlite3").exists()
    config.write_text('data_dir = "data"\n[cluster]\ndatabase_url = "postgresql://127.0.0.1:9/x"\n', encoding="utf-8")
    down = CliRunner().invoke(cli, ["--config", str(config), "migrate"])
    assert down.exit_code == 1 and "cannot connect to PostgreSQL" in down.output


def test_an_older_cluster_schema_is_upgraded_with_its_jobs(postgres):
    """A database at step 1 (jobs only about videos) with a queued job: `migrate` applies the
    later steps under the lock, keeps the job, and polls can then be queued."""
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS upgraded")
        admin.execute("CREATE DATABASE upgraded")
    url = postgres.rsplit("/", 1)[0] + "/upgraded"
    with psycopg.connect(url, autocommit=True) as old:
        old.execute(STEPS[0])
        old.execute("CREATE TABLE schema_version (version integer NOT NULL); INSERT INTO schema_version VALUES (1)")
        old.execute("INSERT INTO sources (url, kind, created_at) VALUES ('https://a.example/feed', 'feed', 'now')")
        old.execute("INSERT INTO videos (platform, video_id, url, source_id, discovered_at)"
                    " VALUES ('web', 'v1', 'https://a.example/v1', 1, 'now')")
        old.execute("INSERT INTO jobs (kind, video) VALUES ('archive', 1)")
    with PgDatabase(url) as d:
        assert d.version() == 1 and d.migrate() == len(STEPS) - 1 and d.version() == len(STEPS)
        q = PgQueue(d)
        assert q.enqueue_source("poll", 1) is True and q.enqueue("archive", 1) is False   # the old job is open
        assert sorted(k for k, in d.conn.execute("SELECT kind FROM jobs")) == ["archive", "poll"]


def test_the_application_role_writes_the_index_past_its_partitions(db, postgres):
    """The index is partitioned by segment id (schema step 5); the application role, which may
    not create tables, writes segments past the last partition: dalel_index_partitions (the
    schema owner's) makes the next ones, always a whole partition ahead, and the search finds
    the segments on both sides of the boundary, each once."""
    from store import SegmentRecord
    size = int(db.conn.execute("SELECT value FROM meta WHERE key = 'index_partition_ids'").fetchone()[0])
    assert size == 2_000_000
    assert db.conn.execute("SELECT relkind FROM pg_class WHERE relname = 'segments_tsv'").fetchone()[0] == "p"
    assert db.conn.execute("SELECT lo, hi FROM segments_tsv_parts ORDER BY lo").fetchall() == \
        [(0, size), (size, 2 * size)]
    db.conn.execute("SELECT setval(pg_get_serial_sequence('segments', 'id'), %s)", (2 * size - 3,))
    app = postgres.replace("postgres@", "dalel_app@")
    with store.Store(app) as st:
        with pytest.raises(Exception, match="permission denied"):
            st.conn.raw.execute("CREATE TABLE segments_tsv_x PARTITION OF segments_tsv"
                                f" FOR VALUES FROM ({3 * size}) TO ({4 * size})")
        video, _ = st.videos.discover("example", "v1", "https://example.org/v1", channel="Ne deidi")
        st.transcripts.add_text(video, source="asr", model="by hand", segments=[
            SegmentRecord(float(i), i + 0.9, f"Выборы прошли, строка {i}.", "ru") for i in range(6)])
        ids = [r[0] for r in st.conn.execute("SELECT id FROM segments ORDER BY id")]
        assert ids[0] < 2 * size <= ids[-1]
        r = store.search(st, store.parse("выборы"), store.SearchOptions(limit=20), approximate=False)
        assert r.total == 6 and sorted(h.start for h in r.hits) == [float(i) for i in range(6)]
    assert db.conn.execute("SELECT max(hi) FROM segments_tsv_parts").fetchone()[0] == 4 * size


def test_writers_at_once_make_the_index_partitions_without_waiting_for_each_other(db, postgres):
    """Six writers add transcripts at once while their ids cross a partition boundary every 40
    ids (the size lowered after migrating): each partition is made once, before the writer
    that needs it writes anything (no two writers wait for each other), none is missing and
    every segment is found once."""
    from store import SegmentRecord
    db.conn.execute("UPDATE meta SET value = '40' WHERE key = 'index_partition_ids'")
    db.conn.execute("SELECT setval(pg_get_serial_sequence('segments', 'id'), 4000000 - 1)")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with store.Store(postgres) as s:
                for k in range(8):
                    one, _ = s.videos.discover("example", f"w{n}-{k}", f"https://example.org/{n}/{k}")
                    s.transcripts.add_text(one, source="asr", model="by hand", segments=[
                        SegmentRecord(float(i), i + 0.9, f"Выборы прошли, строка {i}.", "ru") for i in range(25)])
        except BaseException as exc:      # reported by the test below
            errors.append(exc)
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and not any(t.is_alive() for t in threads)
    parts = db.conn.execute("SELECT lo, hi FROM segments_tsv_parts ORDER BY lo").fetchall()
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))            # no gap, no overlap
    top = db.conn.execute("SELECT max(id) FROM segments").fetchone()[0]
    assert parts[-1][1] > top + 40 and len(parts) >= 2 + 1200 // 40
    assert db.conn.execute("SELECT count(*) FROM segments_tsv").fetchone()[0] == 1200
    with store.Store(postgres) as s:
        r = store.search(s, store.parse("выборы"), store.SearchOptions(limit=20), approximate=False)
        assert r.total == 1200 and not r.total_capped and r.videos and all(n == 25 for n in r.videos.values())
