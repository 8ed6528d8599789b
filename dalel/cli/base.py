"""The `dalel` command line: the root group, error handling, and the helpers every command shares."""
from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click

import store

from .. import __version__
from .. import config as configmod
from ..app import App
from ..errors import USER_ERRORS
from ..formats import parse_time
from ..searching import options, pieces


class QueryProblem(click.ClickException):
    """A malformed search query: exit code 2, one line."""
    exit_code = 2


class DalelGroup(click.Group):
    """Turns every foreseeable error into one line and a non-zero exit, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except store.QueryError as exc:
            raise QueryProblem(str(exc)) from exc
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from exc
        except KeyboardInterrupt:
            raise click.ClickException("interrupted") from None


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
               "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def app_of(ctx: click.Context) -> App:
    obj = ctx.find_root().obj
    if obj.get("app") is None:
        cfg = configmod.load(obj["config"], obj["data_dir"])
        if cfg.log.format == "json":
            for handler in logging.getLogger().handlers:
                handler.setFormatter(JsonLogFormatter())
        obj["app"] = App(cfg)
        ctx.find_root().call_on_close(obj["app"].close)
    return obj["app"]


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(cls=DalelGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH",
              help="Config file (default: $DALEL_CONFIG or ./config.toml).")
@click.option("--data-dir", metavar="DIR", help="Archive folder (default: config data_dir, $DALEL_DATA_DIR).")
@click.option("-v", "--verbose", count=True, help="Log what happens (-v: events, -vv: debug).")
@click.version_option(__version__, prog_name="dalel")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, data_dir: str | None, verbose: int) -> None:
    """Dalel: archive channels byte-exact, transcribe Kazakh and Russian speech,
    and search what was said.

    \b
    Example:
        dalel channel add https://www.youtube.com/@nedeidi
        dalel poll && dalel transcribe
        dalel search "захват власти"
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = {"config": config_path, "data_dir": data_dir, "app": None}


def progress(bars: list, label: str):
    """A progress callback that opens its bar (with ETA) once the total is known."""
    def step(done: float, total: float) -> None:
        if not bars:
            bars.append(click.progressbar(length=max(1, int(total)), file=sys.stderr, label=label,
                                          show_eta=True, show_percent=True))
        bars[0].update(max(0, min(int(done), bars[0].length) - bars[0].pos))
    return step


class TimeType(click.ParamType):
    name = "TIME"

    def convert(self, value, param, ctx):  # noqa: ANN001 (click's signature)
        if isinstance(value, (int, float)):
            value = str(value)
        try:
            return parse_time(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def filters(f):
    """The search filters, shared by search, report and export."""
    for opt in reversed([
        click.option("--channel", help="Only this channel (name or URL)."),
        click.option("--video", "video", metavar="ID", help="Only this video."),
        click.option("--lang", type=click.Choice(store.LANGUAGES), help="Only this language."),
        click.option("--since", metavar="DATE", help="Published on or after YYYY-MM-DD."),
        click.option("--until", metavar="DATE", help="Published on or before YYYY-MM-DD."),
        click.option("--lemma", is_flag=True,
                     help="Only each word's own forms, not its family (захват, not захватить)."),
    ]):
        f = opt(f)
    return f


def search_options(app: App, channel, video, lang, since, until, lemma=False, limit=None,
                   offset=0) -> store.SearchOptions:
    """The options of `filters`, with the config's page size by default."""
    return options(channel=channel, video=video, lang=lang, since=since, until=until,
                   limit=limit or app.config.search.limit, offset=offset, lemma=lemma)


def highlight(hit: store.Hit) -> str:
    """A hit's sentence with each match bracketed and coloured."""
    return "".join(click.style(f"[{p}]", bold=True, fg="yellow") if m else p
                   for p, m in pieces(hit.text, hit.spans))


def main() -> None:
    cli(prog_name="dalel")
