"""`dalel config`: the configuration in effect, the defaults as a config.toml, the keys."""
from __future__ import annotations

import dataclasses

import click

from ..keys import KEYS, SECTIONS, by_section, markdown, toml_defaults, toml_value
from .base import app_of, cli


def _written(kind: str, value) -> str:
    """A value in effect, written as config.toml would hold it."""
    if kind == "duration":
        return '""' if value is None else f'"{value:g}s"'
    if kind == "size":
        return f'"{value}B"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _help() -> str:
    lines = ["Show the configuration in effect (as TOML), the defaults, or the table of keys.", "",
             "Keys (section, name, default, meaning):", "", "\b"]
    for key in KEYS:
        where = f"[{key.section}] " if key.section else ""
        default = "" if key.default is None else f" = {toml_value(key.default)}"
        lines.append(f"  {where}{key.name}{default}: {key.help}")
    lines += ["", "\b", "Example:", "    dalel config", "    dalel config --defaults > config.toml"]
    return "\n".join(lines)


@cli.command("config", help=_help())
@click.option("--defaults", is_flag=True, help="Print every key at its default, as the shipped config.toml.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the table of keys (the README's).")
@click.pass_context
def config_cmd(ctx: click.Context, defaults: bool, as_markdown: bool) -> None:
    if defaults:
        click.echo(toml_defaults(), nl=False)
        return
    if as_markdown:
        click.echo(markdown(), nl=False)
        return
    cfg = app_of(ctx).config
    click.echo(f"# in effect: {cfg.path or 'the built-in defaults'}")
    click.echo(f'data_dir = "{cfg.data_dir}"')
    for section in SECTIONS:
        click.echo(f"\n[{section}]")
        values = getattr(cfg, section)
        for key in by_section(section).values():
            value = getattr(values, key.name)
            if key.kind == "models":
                for lang, model in value.items():
                    click.echo(f'models.{lang} = "{model}"')
            else:
                click.echo(f"{key.name} = {_written(key.kind, value)}")
    for ch in cfg.channels:
        click.echo("\n[[channels]]")
        for field in dataclasses.fields(ch):
            click.echo(f"{field.name} = {_written(by_section('channels')[field.name].kind, getattr(ch, field.name))}")
