"""Sources and archiving: `channel add|list|remove`, `poll`, `retry`, `archive`."""
from __future__ import annotations

from dataclasses import asdict

import click

import store

from ..errors import DalelError
from ..formats import shown_url
from .base import app_of, cli, echo_json

# --- channels ----------------------------------------------------------------

@cli.group()
def channel() -> None:
    """Add, list and remove watched channels and feeds."""


@channel.command("add")
@click.argument("url")
@click.option("--name", help="A name to show instead of the source's own title.")
@click.option("--every", metavar="DURATION", help='Poll interval for this channel, e.g. "30m".')
@click.option("--since", metavar="DATE", help="History: archive videos published on or after YYYY-MM-DD; "
              "older ones are recorded as skipped (`dalel archive ID` takes one later).")
@click.option("--last", "last_n", type=click.IntRange(1, 100_000), metavar="N",
              help="History: archive the N newest videos of the first check (and everything new).")
@click.pass_context
def channel_add(ctx: click.Context, url: str, name: str | None, every: str | None, since: str | None,
                last_n: int | None) -> None:
    """Watch a YouTube channel, an RSS/Atom feed, or any list yt-dlp understands.

    By default the whole history the source lists is archived; --since and --last choose.
    A video without a published date is archived.

    \b
    Example:
        dalel channel add https://www.youtube.com/channel/UC...
        dalel channel add https://example.org/podcast.xml --name "Ne deidi" --every 30m
        dalel channel add https://www.youtube.com/@NeDeidi --since 2022-01-01
    """
    if since:
        store.check_date(since, "--since")
    app = app_of(ctx)
    src = app.add_channel(url, name, every, since=since, last_n=last_n)
    click.echo(f"added channel {src.id}: {src.name or shown_url(src.url)} ({src.kind})")
    if app.last_warning:
        click.echo(f"warning: {app.last_warning}", err=True)


@channel.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def channel_list(ctx: click.Context, as_json: bool) -> None:
    """List watched channels.

    \b
    Example:
        dalel channel list --json
    """
    sources = app_of(ctx).store.sources.all()
    if as_json:
        echo_json([asdict(s) | {"url": shown_url(s.url), "feed_url": shown_url(s.feed_url)}
                    for s in sources])
        return
    if not sources:
        click.echo("no channels yet; add one with `dalel channel add URL`")
    for s in sources:
        click.echo(f"{s.id}\t{s.kind}\t{s.name or '-'}\t{shown_url(s.url)}")


@channel.command("pause")
@click.argument("id_or_url")
@click.pass_context
def channel_pause(ctx: click.Context, id_or_url: str) -> None:
    """Stop checking a channel for now (its videos and their queue stay).

    \b
    Example:
        dalel channel pause 2
    """
    src = app_of(ctx).store.sources.set_paused(id_or_url, True)
    click.echo(f"paused {src.name or src.url}; `dalel channel resume {src.id}` checks it again")


@channel.command("resume")
@click.argument("id_or_url")
@click.pass_context
def channel_resume(ctx: click.Context, id_or_url: str) -> None:
    """Check a paused channel again.

    \b
    Example:
        dalel channel resume 2
    """
    src = app_of(ctx).store.sources.set_paused(id_or_url, False)
    click.echo(f"resumed {src.name or src.url}")


@channel.command("remove")
@click.argument("id_or_url")
@click.pass_context
def channel_remove(ctx: click.Context, id_or_url: str) -> None:
    """Stop watching a channel (its archived videos stay).

    \b
    Example:
        dalel channel remove 3
    """
    src = app_of(ctx).store.sources.remove(id_or_url)
    click.echo(f"removed channel {src.id}: {src.name or src.url}")


# --- archive -----------------------------------------------------------------

@cli.command()
@click.argument("channel_ref", metavar="[CHANNEL]", required=False)
@click.pass_context
def poll(ctx: click.Context, channel_ref: str | None) -> None:
    """Check sources once and archive every new video.

    \b
    Example:
        dalel poll
        dalel poll 3
    """
    app = app_of(ctx)
    app.sync_config_channels()
    report = app.poll(channel_ref, progress=lambda msg: click.echo(msg, err=True))
    click.echo(f"checked {report.sources} source(s) ({report.unchanged} unchanged): "
               f"{report.found} new video(s), {report.archived} archived, {report.failed} failed"
               + (f", {report.retrying} to retry (a transient error)" if report.retrying else "")
               + (f", {report.deferred} live (archived once ended)" if report.deferred else "")
               + ("; the daemon (`dalel run`) records live streams while they are live"
                  if report.deferred and app.config.monitor.live == "record" else ""))
    for err in report.errors:
        click.echo(f"error: {err}", err=True)


@cli.command()
@click.argument("video_ids", nargs=-1, metavar="[VIDEO_ID]...")
@click.option("--all", "all_failed", is_flag=True, help="Every failed video.")
@click.pass_context
def retry(ctx: click.Context, video_ids: tuple[str, ...], all_failed: bool) -> None:
    """Queue failed videos again (archived ones for transcription), e.g. after a platform outage.

    The daemon takes them up; `dalel poll` archives those still waiting.

    \b
    Example:
        dalel retry --all
        dalel retry dQw4w9WgXcQ
    """
    if not video_ids and not all_failed:
        raise click.UsageError("give the video ids to retry, or --all")
    app = app_of(ctx)
    done = app.retry_failed(video_ids)
    skipped = len(video_ids) - len(done) if video_ids else 0
    click.echo(f"queued {len(done)} failed video(s) again" + (f"; {skipped} had not failed" if skipped else ""))


@cli.command()
@click.argument("url", metavar="URL_OR_VIDEO_ID")
@click.pass_context
def archive(ctx: click.Context, url: str) -> None:
    """Archive one video now: a URL, or the id of a video the archive knows but has not
    archived (skipped by a channel's --since/--last, or failed).

    \b
    Example:
        dalel archive "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
        dalel archive dQw4w9WgXcQ
    """
    app = app_of(ctx)
    if "://" in url:
        video, _ = app.archive_url(url)
    else:
        video = app.store.videos.find(url)
        if video.archived_at:
            raise DalelError(f"{video.video_id} is archived already; see `dalel status`")
        app.store.videos.reset_failed(video)
        video = app.archive_video(video)
    click.echo(f"archived {video.video_id}: {video.title or ''} → {video.folder}")
