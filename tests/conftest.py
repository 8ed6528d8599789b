"""Shared fixtures: a stand-in platform on 127.0.0.1 and the real CLI against it.

Two tiers: a test that uses a real server, daemon process, Whisper model or browser (one
of `END_TO_END` fixtures, or marked by hand) is marked `slow`; `pytest -m "not slow"` runs
the rest — the unit tier on data built by hand — in seconds. `make test` runs both.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import servers
from dalel.cli import cli
from dalel.loopback import DEMO_DIR, Platform

HERE = Path(__file__).parent
# Fixtures that start the real components: the loopback platform (and yt-dlp behind it), a
# transcribed archive (Whisper), a daemon process, Chromium, a timestamp authority, PostgreSQL.
END_TO_END = {"platform", "transcribed", "daemon", "browser", "transcriber", "local_tsa", "postgres",
              "seaweed"}
# Modules whose every test drives a daemon process, Whisper or the web app end to end.
SLOW_MODULES = {"test_daemon", "test_operations", "test_hostile", "test_transcribe", "test_archive",
                "test_web", "test_evidence"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if END_TO_END & set(getattr(item, "fixturenames", ())) or module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


class Dalel:
    """Runs `dalel --data-dir DIR ...` in-process, like a user at a terminal."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True):
        result = self.runner.invoke(cli, ["--data-dir", str(self.data_dir), *args])
        if ok and result.exit_code != 0:
            raise AssertionError(f"dalel {' '.join(args)} exited {result.exit_code}:\n"
                                 f"{result.output}\n{result.exception!r}")
        return result

    def json(self, *args: str):
        return json.loads(self(*args, "--json").output)


@pytest.fixture
def platform():
    with Platform() as p:
        yield p


@pytest.fixture
def dalel(tmp_path) -> Dalel:
    return Dalel(tmp_path / "data")


@pytest.fixture(scope="session")
def transcribed(tmp_path_factory):
    """An archive in which the demo channel has been polled and transcribed (done once)."""
    data = tmp_path_factory.mktemp("archive") / "data"
    with Platform() as p:
        d = Dalel(data)
        d("channel", "add", p.feed_url)
        d("poll")
        d("transcribe")
        yield d, p


@pytest.fixture
def spoken():
    return json.loads((DEMO_DIR / "ru_broadcast.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server on 127.0.0.1 for the session (tests/servers.py)."""
    with servers.postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def seaweed():
    """A real SeaweedFS server (S3 with versioning and Object Lock) on 127.0.0.1 (tests/servers.py)."""
    with servers.seaweed_server() as endpoint:
        yield endpoint


def make_bucket(endpoint: str, name: str, lock: bool = True) -> None:
    import boto3
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=lock)


def empty_cluster_database(url: str, partition_ids: int | None = 1000, app_role: str | None = None) -> str:
    """A new database on the PostgreSQL server at `url`, migrated to the current schema (as
    `dalel migrate [--app-role ROLE]` leaves it); returns its URL. Its search index is
    partitioned every `partition_ids` segment ids (None: the schema's 2,000,000), so that the
    tests' archives span many partitions and the partitions are made while they are written."""
    import psycopg

    from store.pg import PgDatabase
    name = f"dalel_{next(_DATABASES)}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
        if partition_ids is not None:
            admin.execute(f"ALTER DATABASE {name} SET dalel.index_partition_ids = '{int(partition_ids)}'")
    url = url.rsplit("/", 1)[0] + "/" + name
    with PgDatabase(url) as db:
        db.migrate(app_role=app_role)
    return url


def app_role_url(url: str, role: str = "dalel_app") -> str:
    """`url` as the application role (created, able to log in, when missing): what the
    cluster's processes connect as in the README's set-up."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DO $$ BEGIN CREATE ROLE {role} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    return url.replace("://postgres@", f"://{role}@")


_DATABASES = __import__("itertools").count(1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def backend(request, tmp_path):
    """Where a store built by a test lives: a SQLite file, or a cluster's PostgreSQL database
    (the same contract tests run on both)."""
    if request.param == "sqlite":
        return str(tmp_path / "dalel.sqlite3")
    return empty_cluster_database(request.getfixturevalue("postgres"))
