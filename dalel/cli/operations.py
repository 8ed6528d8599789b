"""Running Dalel: `status`, `run` (the daemon), `serve` (the web app), `demo`."""
from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

import click

import store

from ..working import KINDS

from ..formats import coverage_line
from .. import config as configmod
from .base import app_of, cli, echo_json

# --- status ------------------------------------------------------------------

@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Sources with their last check and error; video counts.

    \b
    Example:
        dalel status --json
    """
    app = app_of(ctx)
    report = app.status()
    if as_json:
        echo_json(report)
        return
    click.echo(f"archive: {report['data_dir']}")
    d = report["daemon"]
    click.echo(f"daemon: running (pid {d['pid']} on {d['host']}, last heartbeat {d['heartbeat']})"
               if d["alive"] else "daemon: not running" + (f" (last heartbeat {d['heartbeat']})"
                                                          if d["heartbeat"] else " (`dalel run` starts it)"))
    for proc in report["processes"]:
        click.echo(f"  {proc['role']} {proc['owner']} ({proc['state'] if proc['alive'] else 'silent'}, heartbeat"
                   f" {proc['heartbeat_age_s']:.0f}s ago, {proc['kinds'] or '-'})"
                   + (f": {proc['jobs']}" if proc["jobs"] else ""))
    disk = report["disk"]
    if disk["paused"]:
        click.echo(f"DOWNLOADS PAUSED: {disk['free_bytes'] / 1e9:.1f} GB free, less than [monitor] "
                   f"min_free_space ({disk['min_free_bytes'] / 1e9:.1f} GB); free space to resume")
    click.echo("videos: " + ", ".join(f"{k} {v}" for k, v in report["videos"].items()))
    if report["coverage"]["speech_s"]:
        click.echo("transcripts: " + coverage_line(report["coverage"]))
    click.echo("queue: " + (", ".join(f"{k} {v}" for k, v in report["queue"].items()) or "empty"))
    for job in report["running"]:
        click.echo(f"  working: {job['kind']} {job['video_id']} by {job['worker']} since {job['since']}"
                   f" (lease until {job['lease_until']})")
    for s in report["sources"]:
        err = f"  error: {s['last_error']}" if s["last_error"] else ""
        click.echo(f"  [{s['id']}] {s['name'] or s['url']}  last check {s['last_checked'] or 'never'},"
                   f" next {s['next_check'] or 'now'}{err}")
    for g in report["failures_by_reason"]:
        click.echo(f"failed: {g['count']} × {g['reason']}  ({', '.join(g['videos'][:5])}"
                   f"{', …' if g['count'] > 5 else ''}; `dalel retry` queues them again)")
    for v in report["live"]:
        doing = {"recording": "recording now", "is_live": "live", "upcoming": "announced"}[v["live_status"]]
        click.echo(f"  {doing}: {v['video_id']} {v['title'] or ''}")
    for r in report["removed"]:
        click.echo(f"  removed at source {r['video_id']} since {r['removed_at']}: {r['title'] or ''}")


@cli.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the daemon: poll sources on schedule, archive, transcribe, re-check for takedowns.

    Stops on SIGTERM or Ctrl-C within seconds; work in progress resumes on the next start.
    Logs one line per event to stderr (use -v for found/archived/transcribed lines). On a
    cluster, `dalel scheduler` and `dalel worker` run the two halves on separate machines.

    \b
    Example:
        dalel -v run
    """
    _run_daemon(ctx, "daemon", KINDS)


@cli.command()
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the scheduler alone: queue the sources' polls, their videos, re-checks, fixity.

    Exactly one scheduler is active: it holds a lock in the database ([cluster] database_url:
    a PostgreSQL advisory lock). Start a second one on another machine and it stands by,
    taking over within seconds when the active one dies. The jobs it queues (a poll per
    source when it is due, archive, recheck and fixity jobs) are done by `dalel worker`
    processes: run at least one that takes poll jobs (every worker does by default).

    \b
    Example:
        dalel -v scheduler
    """
    _run_daemon(ctx, "scheduler", ())


@cli.command()
@click.option("--kinds", default=",".join(KINDS), show_default=True, metavar="KIND,…",
              help="The jobs this worker takes: poll, archive, transcribe, timestamp, recheck, fixity.")
@click.pass_context
def worker(ctx: click.Context, kinds: str) -> None:
    """Run a worker: claim jobs from the queue and do them, on any number of machines.

    Poll (check a source's feed for new videos), archive, timestamp, recheck (is it still at
    its source?) and fixity (re-hash its files and check its custody chain) jobs take the
    download threads ([monitor] download_workers),
    transcribe jobs the transcription threads ([transcribe] workers). Each job is held under a
    lease the worker extends as it works, so a three-hour
    transcription is never started twice, and a dead worker's job is taken over when its
    lease runs out ([monitor] lease). Downloads keep to [monitor] per_host per host across
    all workers. A GPU machine runs the transcriptions with its own [transcribe] settings.

    \b
    Example:
        dalel worker --kinds archive,timestamp
        dalel --config gpu.toml worker --kinds transcribe
    """
    chosen = tuple(dict.fromkeys(k.strip() for k in kinds.split(",") if k.strip()))
    wrong = [k for k in chosen if k not in KINDS]
    if wrong or not chosen:
        raise click.BadParameter(f"{', '.join(wrong) or 'none'}; choose among {', '.join(KINDS)}",
                                 param_hint="--kinds")
    _run_daemon(ctx, "worker", chosen)


def _run_daemon(ctx: click.Context, role: str, kinds: tuple[str, ...]) -> None:
    from ..daemon import Daemon
    app = app_of(ctx)
    cfg = app.config
    app.close()
    ctx.find_root().obj["app"] = None
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
    daemon = Daemon(cfg, role, kinds)
    daemon.run_until_stopped()
    # (the scheduler's pool threads are joined at interpreter exit, even after shutdown(wait=False))
    lingering = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()
                 and (not t.daemon or t.name.startswith("ThreadPoolExecutor"))]
    if daemon.busy_workers() or lingering:
        # A transcription still inside the speech engine's native threads would abort the
        # interpreter's exit ("terminate called…", exit 134), and a scheduled check still
        # running (a slow source) would hold it: the process ends now. Work is checkpointed
        # and resumes on the next start; every database write is a transaction (an unfinished
        # one is rolled back).
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)


@cli.command()
@click.option("--host", help="Address to listen on (default: [web] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: [web] port, 8080).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Run the web app: search, videos with the transcript in sync, clips, status, JSON API.

    Listens on 127.0.0.1 unless [web] token is set in the config (then every page and
    API call needs it: "Authorization: Bearer TOKEN", or open a page once with ?token=TOKEN).

    \b
    Example:
        dalel serve --port 8080     # then open http://127.0.0.1:8080/
    """
    from ..web import serve as run_web
    cfg = app_of(ctx).config
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
    run_web(cfg, host or cfg.web.host, port or cfg.web.port)


@cli.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default="demo-data",
              show_default=True, help="Where the demo archive is kept (a previous demo there is replaced).")
@click.option("--temp", is_flag=True, help="Use a fresh temporary folder instead.")
def demo(folder: Path, temp: bool) -> None:
    """Run the whole pipeline offline on a built-in demo channel, and keep the archive.

    Serves a YouTube-format feed and bundled Russian and Kazakh speech on 127.0.0.1, then
    adds it as a channel, polls, archives, transcribes, imports the Kazakh script, searches
    and checks a claim — and prints the commands to try next on the archive it leaves.

    \b
    Example:
        dalel demo
        dalel demo --dir /tmp/dalel-demo
    """
    from ..demo import run_demo
    run_demo(cli, None if temp else folder, echo=click.echo)


@cli.command()
@click.option("--app-role", metavar="ROLE", help="Grant this PostgreSQL role what Dalel needs (custody: insert "
              "and read only).")
@click.pass_context
def migrate(ctx: click.Context, app_role: str | None) -> None:
    """Create or upgrade the cluster's PostgreSQL schema ([cluster] database_url).

    Safe to run again and from several machines at once (an advisory lock serialises it).

    \b
    Example:
        dalel --config cluster.toml migrate --app-role dalel_app
    """
    from store.pg import PgDatabase

    cfg = configmod.load(ctx.find_root().obj["config"], ctx.find_root().obj["data_dir"])
    if not cfg.cluster.database_url:
        raise click.ClickException("set [cluster] database_url = \"postgresql://…\" in the config first")
    with PgDatabase(cfg.cluster.database_url) as db:
        applied = db.migrate(app_role=app_role)
        click.echo(f"schema at version {db.version()} ({applied} step(s) applied)")


@cli.group()
def cluster() -> None:
    """Move an archive into cluster storage."""


@cluster.command("anchor")
@click.pass_context
def cluster_anchor(ctx: click.Context) -> None:
    """Write every custody chain's head into an Object-Locked object in S3 now.

    The scheduler does it every [cluster] anchor_every; each anchor is also timestamped by
    [evidence] tsa_urls when set. `dalel verify --archive` checks every chain against the
    latest anchor: entries removed since, or a chain recomputed, are named — even when done
    by someone with every right on the database.

    \b
    Example:
        dalel --config cluster.toml cluster anchor
    """
    from ..anchoring import anchor
    app = app_of(ctx)
    click.echo(f"anchored {len(store.custody.all_heads(app.store))} custody chain head(s) in "
               f"{app.config.cluster.archive_url}/{anchor(app)}")


@cluster.command("import")
@click.option("--from", "source", required=True, type=click.Path(file_okay=False, path_type=Path),
              metavar="DATA_DIR", help="The embedded archive (its data folder) to move into the cluster.")
@click.pass_context
def cluster_import(ctx: click.Context, source: Path) -> None:
    """Move an embedded archive into the cluster: its originals into S3, its state into PostgreSQL.

    With [cluster] archive_url, every original is re-hashed on the way (a changed one is named,
    not moved), stored under Object Lock, its version recorded with a custody entry, the chain
    re-verified; then the local copy is removed. With [cluster] database_url, the archive's
    state (sources, videos, files, transcripts, custody log, watches, accounts) is copied into
    PostgreSQL, custody entries as they are, each video's chain verified there, the search index
    rebuilt; a video the cluster already holds is kept as it is. Run it again after a failure:
    what is done is not done twice.

    \b
    Example:
        dalel --config cluster.toml cluster import --from ./dalel-data
    """
    from ..moving import import_archive
    app = app_of(ctx)
    problems = import_archive(app, source, progress=lambda m: click.echo(m, err=True), say=click.echo)
    for p in problems:
        click.echo(f"not moved: {p}", err=True)
    if problems:
        ctx.exit(1)
