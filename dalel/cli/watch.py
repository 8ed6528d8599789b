"""Saved searches: `watch add|list|remove|alerts`."""
from __future__ import annotations

from dataclasses import asdict

import click

import store

from ..formats import hms
from .base import app_of, cli, echo_json

# --- watchlist ---------------------------------------------------------------

@cli.group()
def watch() -> None:
    """Saved searches, checked against every newly indexed transcript."""


@watch.command("add")
@click.argument("query")
@click.pass_context
def watch_add(ctx: click.Context, query: str) -> None:
    """Save a search; new transcripts that match it raise alerts.

    \b
    Example:
        dalel watch add '"захват власти"'
    """
    w = store.add_watch(app_of(ctx).store, query)
    click.echo(f"watching {w.id}: {w.query}")


@watch.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def watch_list(ctx: click.Context, as_json: bool) -> None:
    """List saved searches.

    \b
    Example:
        dalel watch list
    """
    watches = store.list_watches(app_of(ctx).store)
    if as_json:
        echo_json([asdict(w) for w in watches])
        return
    if not watches:
        click.echo("no watches; add one with `dalel watch add QUERY`")
    for w in watches:
        click.echo(f"{w.id}\t{w.query}\t(since {w.created_at})")


@watch.command("remove")
@click.argument("watch_id")
@click.pass_context
def watch_remove(ctx: click.Context, watch_id: str) -> None:
    """Delete a saved search and its alerts.

    \b
    Example:
        dalel watch remove 2
    """
    w = store.remove_watch(app_of(ctx).store, watch_id)
    click.echo(f"removed watch {w.id}: {w.query}")


@watch.command("alerts")
@click.option("--limit", default=100, type=click.IntRange(1), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def watch_alerts(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Matches of saved searches in newly indexed transcripts, newest first.

    \b
    Example:
        dalel watch alerts --json
    """
    found = store.alerts(app_of(ctx).store, limit)
    if as_json:
        echo_json({"alerts": found})
        return
    if not found:
        click.echo("no alerts")
    for a in found:
        click.echo(f"[{a['created_at']}] watch {a['watch']} {a['query']!r}: {a['video_id']} "
                   f"{hms(a['start'])}  {a['text']}")
