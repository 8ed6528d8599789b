"""Accountable users: `user add|list|remove|passwd|token`, and `audit`."""
from __future__ import annotations

import sys
from dataclasses import asdict

import click

from .base import app_of, cli, echo_json


def _password(confirm: bool = True) -> str:
    """From standard input when it is not a terminal (scripts), else asked twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)


@cli.group()
def user() -> None:
    """Users of the web app and API: admins (channels, settings, users) and analysts (search,
    watch, export). Once any user exists, every page and API call needs a login or a token."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["analyst", "admin"]), required=True, help="What the user may do.")
@click.pass_context
def user_add(ctx: click.Context, name: str, role: str) -> None:
    """Add a user; the password is read from standard input when it is not a terminal.

    \b
    Example:
        dalel user add amina --role analyst
        printf '%s\\n' "$PASSWORD" | dalel user add ops --role admin
    """
    app = app_of(ctx)
    added = app.store.users.add(name, role, _password())
    app.store.users.audit("cli", "user add", f"{added.name} ({added.role})")
    click.echo(f"added {added.name} ({added.role})")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def user_list(ctx: click.Context, as_json: bool) -> None:
    """The users and their roles.

    \b
    Example:
        dalel user list --json
    """
    users = app_of(ctx).store.users.all()
    if as_json:
        echo_json([asdict(u) for u in users])
        return
    if not users:
        click.echo("no users: the web app is open on 127.0.0.1 (or guarded by [web] token)")
    for u in users:
        click.echo(f"{u.name}\t{u.role}\tsince {u.created_at}")


@user.command("remove")
@click.argument("name")
@click.pass_context
def user_remove(ctx: click.Context, name: str) -> None:
    """Remove a user (and their tokens).

    \b
    Example:
        dalel user remove amina
    """
    app = app_of(ctx)
    gone = app.store.users.remove(name)
    app.store.users.audit("cli", "user remove", gone.name)
    click.echo(f"removed {gone.name}")


@user.command("passwd")
@click.argument("name")
@click.pass_context
def user_passwd(ctx: click.Context, name: str) -> None:
    """Set a user's password (standard input when it is not a terminal).

    \b
    Example:
        dalel user passwd amina
    """
    app = app_of(ctx)
    app.store.users.set_password(name, _password())
    app.store.users.audit("cli", "user passwd", name)
    click.echo(f"password of {name} changed")


@user.command("token")
@click.argument("name")
@click.pass_context
def user_token(ctx: click.Context, name: str) -> None:
    """Print a new API token for the user (shown once): send it as 'Authorization: Bearer TOKEN'.

    \b
    Example:
        curl -H "Authorization: Bearer $(dalel user token amina)" http://127.0.0.1:8080/api/search?q=билік
    """
    app = app_of(ctx)
    token = app.store.users.new_token(name)
    app.store.users.audit("cli", "user token", name)
    click.echo(token)


@cli.command()
@click.option("--limit", default=1000, type=click.IntRange(1), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: entries with time, user, action, target.")
@click.pass_context
def audit(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Who searched, exported, verified or changed what, and when (newest first).

    \b
    Example:
        dalel audit --json
    """
    entries = app_of(ctx).store.users.audit_log(limit)
    if as_json:
        echo_json(entries)
        return
    for e in entries:
        click.echo(f"{e['time']}\t{e['user']}\t{e['action']}\t{e['target'] or ''}")
