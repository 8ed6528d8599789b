"""The `dalel` command line: thin wrappers that open the archive, call the app, print."""
from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

import store
import transcribe

from . import __version__, config as configmod
from .app import App
from .errors import USER_ERRORS, DalelError
from .formats import FORMATTERS, coverage_line, hms, link_at, results_json, shown_url, transcript_json


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


def _app(ctx: click.Context) -> App:
    obj = ctx.find_root().obj
    if obj.get("app") is None:
        cfg = configmod.load(obj["config"], obj["data_dir"])
        if cfg.log.format == "json":
            for handler in logging.getLogger().handlers:
                handler.setFormatter(JsonLogFormatter())
        obj["app"] = App(cfg)
        ctx.find_root().call_on_close(obj["app"].close)
    return obj["app"]


def _echo_json(data: Any) -> None:
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
    app = _app(ctx)
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
    sources = _app(ctx).store.list_sources()
    if as_json:
        _echo_json([asdict(s) | {"url": shown_url(s.url), "feed_url": shown_url(s.feed_url)}
                    for s in sources])
        return
    if not sources:
        click.echo("no channels yet; add one with `dalel channel add URL`")
    for s in sources:
        click.echo(f"{s.id}\t{s.kind}\t{s.name or '-'}\t{shown_url(s.url)}")


@channel.command("remove")
@click.argument("id_or_url")
@click.pass_context
def channel_remove(ctx: click.Context, id_or_url: str) -> None:
    """Stop watching a channel (its archived videos stay).

    \b
    Example:
        dalel channel remove 3
    """
    src = _app(ctx).store.remove_source(id_or_url)
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
    app = _app(ctx)
    app.sync_config_channels()
    report = app.poll(channel_ref, progress=lambda msg: click.echo(msg, err=True))
    click.echo(f"checked {report.sources} source(s) ({report.unchanged} unchanged): "
               f"{report.found} new video(s), {report.archived} archived, {report.failed} failed"
               + (f", {report.retrying} to retry (a transient error)" if report.retrying else "")
               + (f", {report.deferred} live (archived once ended)" if report.deferred else ""))
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
    app = _app(ctx)
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
    app = _app(ctx)
    if "://" in url:
        video, _ = app.archive_url(url)
    else:
        video = app.store.find_video(url)
        if video.archived_at:
            raise DalelError(f"{video.video_id} is archived already; see `dalel status`")
        app.store.reset_failed(video)
        video = app.archive_video(video)
    click.echo(f"archived {video.video_id}: {video.title or ''} → {video.folder}")


# --- transcription -----------------------------------------------------------

@cli.command("transcribe")
@click.argument("video_ids", nargs=-1, metavar="[VIDEO_ID]...")
@click.option("--again", is_flag=True,
              help="Transcribe the given videos again (current settings, or --model); the previous "
                   "transcript stays until the new one is complete, and both are in the custody log.")
@click.option("--model", metavar="NAME", help="Use this model for this run (a faster-whisper name or folder).")
@click.pass_context
def transcribe_cmd(ctx: click.Context, video_ids: tuple[str, ...], again: bool, model: str | None) -> None:
    """Transcribe archived videos that have no transcript yet (or the given ones).

    \b
    Example:
        dalel transcribe
        dalel transcribe dQw4w9WgXcQ
        dalel transcribe --again dQw4w9WgXcQ --model large-v3
    """
    if again and not video_ids:
        raise click.UsageError("--again needs the video ids to transcribe again")
    app = _app(ctx)
    if model:
        app.use_model(model)
    videos = app.videos_to_transcribe(video_ids)
    if not videos:
        click.echo("nothing to transcribe")
        return
    failed: list[str] = []
    for video in videos:
        bars: list = []
        step = _progress(bars, f"{video.video_id} {(video.title or '')[:40]}")
        try:
            count = app.transcribe_video(video, progress=step)
        except (transcribe.TranscribeError, DalelError) as exc:  # this video only; go on
            app.store.mark_failed(video, f"transcribe: {exc}")
            failed.append(f"{video.video_id}: {exc}")
            click.echo(f"failed {video.video_id}: {exc}", err=True)
            continue
        finally:
            if bars:
                bars[0].render_finish()
        click.echo(f"transcribed {video.video_id}: {count} segments")
    if failed:
        raise click.ClickException(f"{len(failed)} video(s) could not be transcribed: "
                                   + "; ".join(failed))


def _progress(bars: list, label: str):
    """A progress callback that opens its bar (with ETA) once the total is known."""
    def step(done: float, total: float) -> None:
        if not bars:
            bars.append(click.progressbar(length=max(1, int(total)), file=sys.stderr, label=label,
                                          show_eta=True, show_percent=True))
        bars[0].update(max(0, min(int(done), bars[0].length) - bars[0].pos))
    return step


@cli.command()
@click.argument("video_id")
@click.option("--format", "fmt", type=click.Choice(["txt", "srt", "vtt", "json"]), default="txt",
              show_default=True)
@click.option("--source", type=click.Choice(["asr", "subtitles", "metadata", "import"]),
              help="Which transcript (default: speech recognition, else the newest).")
@click.pass_context
def transcript(ctx: click.Context, video_id: str, fmt: str, source: str | None) -> None:
    """Print a video's transcript.

    \b
    Example:
        dalel transcript dQw4w9WgXcQ --format srt > clip.srt
    """
    app = _app(ctx)
    video = app.store.find_video(video_id)
    t = app.store.transcript(video, source)
    out = transcript_json(t, video.video_id) if fmt == "json" else FORMATTERS[fmt](t)
    click.echo(out.rstrip("\n"))


@cli.command("import-transcript")
@click.argument("video_id")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(store.LANGUAGES), help="Language of the text (default: guessed).")
@click.pass_context
def import_transcript(ctx: click.Context, video_id: str, file: Path, lang: str | None) -> None:
    """Import an SRT, WebVTT or plain-text transcript (e.g. human-corrected) of a video.

    It is searchable like the rest, tagged as source "import".

    \b
    Example:
        dalel import-transcript dQw4w9WgXcQ corrected.srt --lang kk
    """
    n = _app(ctx).import_transcript(video_id, file, lang)
    click.echo(f"imported {n} segment(s) for {video_id}")


# --- search ------------------------------------------------------------------

def _check_dates(since: str | None, until: str | None) -> None:
    for option, value in (("--since", since), ("--until", until)):
        if value:
            store.check_date(value, option)


def _highlight(hit: store.Hit) -> str:
    out, last = [], 0
    for a, b in hit.spans:
        out += [hit.text[last:a], click.style(f"[{hit.text[a:b]}]", bold=True, fg="yellow")]
        last = b
    return "".join(out) + hit.text[last:]


@cli.command()
@click.argument("query")
@click.option("--channel", help="Only this channel (name or URL).")
@click.option("--lang", type=click.Choice(store.LANGUAGES), help="Only segments in this language.")
@click.option("--since", metavar="DATE", help="Published on or after YYYY-MM-DD.")
@click.option("--until", metavar="DATE", help="Published on or before YYYY-MM-DD.")
@click.option("--limit", default=None, type=click.IntRange(1, 10_000), help="Hits to show.")
@click.option("--offset", default=0, type=click.IntRange(0, 10**9), help="Skip this many hits (paging).")
@click.option("--approximate", "mode", flag_value="approximate",
              help="Also list possible mentions: near spellings (misheard words).")
@click.option("--exact", "mode", flag_value="exact",
              help="Never fall back to near spellings when nothing matches exactly.")
@click.option("--lemma", is_flag=True,
              help="Only each word's own forms, not its family (захват, not захватить).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def search(ctx: click.Context, query: str, channel: str | None, lang: str | None,
           since: str | None, until: str | None, limit: int | None, offset: int,
           mode: str | None, lemma: bool, as_json: bool) -> None:
    """Find what was said, in any word form: each spoken mention once, in its sentence.

    \b
    Query syntax:
        захват власти          all words, any form, close together (12 words, one sentence)
        захват AND власть      the same; also && and +word
        "захват власти"        adjacent words, any form
        "захват власти"~5      within 5 words, any order (as NEAR)
        выборы OR референдум   either word (also ||); a b OR c = a AND (b OR c)
        (захват OR свержение) власть   group with parentheses
        -суд  NOT суд  !суд    exclude: no hit in a segment where it is said
        власт*                 prefix
        эфир~                  also near spellings of this word (possible mentions)
        NEAR(захват власть, 5) within 5 words, any order
        channel:NAME lang:ru after:2024-01-01 before:2024-12-31 video:ID source:asr
        channel:"Ne deidi"     a filter value with spaces, quoted

    A word finds its family: a noun its verbs and a verb its nouns (захват finds
    захватили, захватывала; призыв finds призывал), --lemma turns that off. Kazakh and
    Russian word forms meet (билік finds билікті, билігі), Latin and Cyrillic spellings
    too (bilikti, Ablyazov); names meet across the languages (Назарбаев finds
    Назарбаевтың). `dalel analyze` shows why a word matches. Anything else that looks
    like syntax (an unknown field:, ^, [a TO b]) is refused with exit 2; an unknown
    --video or --channel, or a date that does not exist, with exit 1 or 2.

    \b
    Example:
        dalel search "захват власти" --lang ru --json
        dalel search '"сөз бостандығы" after:2024-01-01'
        dalel search '(митинг OR протест) -футбол' --channel "Ne deidi" --limit 50
    """
    app = _app(ctx)
    parsed = store.parse(query)
    _check_dates(since, until)
    opts = store.SearchOptions(channel=channel, lang=lang, since=since, until=until,
                               limit=limit or app.config.search.limit, offset=offset, lemma=lemma)
    approximate = {"approximate": True, "exact": False}.get(mode or "")
    results = store.search(app.store, parsed, opts, approximate=approximate)
    if as_json:
        _echo_json(results_json(results))
        return
    if not results.hits:
        click.echo(f"no occurrence of {query!r} in the transcripts")
        return
    if results.approximate:
        click.echo(f"no exact match; {results.total} possible mention(s) spelled differently:")
    groups: dict[str, list[store.Hit]] = {}
    for h in results.hits:
        groups.setdefault(h.video_id, []).append(h)
    for vid, hits in groups.items():
        h = hits[0]
        removed = "  [removed at source]" if h.removed else ""
        n = results.videos.get(vid, len(hits))
        click.echo(click.style(f"{h.channel or '-'} — {h.title or '-'} ({vid}), {n} hit(s)", bold=True)
                   + removed)
        for h in hits:
            tag = "" if h.source == "asr" else f" [{h.source}]"
            tag += " [possible: spelled differently]" if h.approximate else ""
            click.echo(f"  {hms(h.start)}–{hms(h.end)}{tag}  {_highlight(h)}")
            if h.context_before or h.context_after:
                click.echo(click.style(f"    before: {h.context_before or '—'}", dim=True))
                click.echo(click.style(f"    after:  {h.context_after or '—'}", dim=True))
            click.echo(f"    {link_at(h.url, h.start)}")
    shown = offset + len(results.hits)
    about = "" if results.total_exact else "about "
    possible = f" ({results.possible_total} possible)" if results.possible_total and results.exact_total else ""
    click.echo(f"{about}{results.total} hit(s){possible} in {len(results.videos)} video(s)"
               + (f"; showing {offset + 1}–{shown}, next page: --offset {shown}"
                  if results.total > shown else ""))


@cli.command()
@click.argument("text")
@click.option("--lang", type=click.Choice(store.LANGUAGES), help="Analyse as this language.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def analyze(text: str, lang: str | None, as_json: bool) -> None:
    """Show each word and the form it is indexed under.

    Two words match when their forms are equal: Russian words go to their lemma,
    Kazakh words to their stem (і and й written и), names and loans in Kazakh
    speech to the Russian word. Without --lang the language is guessed.

    \b
    Example:
        dalel analyze --lang ru "захвату власти"
        dalel analyze --lang kk "билігі айыпталды Назарбаевтың"
        dalel analyze --json "bilikti"
    """
    tokens = store.analyse(text, lang)
    if as_json:
        _echo_json({"tokens": [{"word": t.word, "stem": t.stem, "lang": t.lang} for t in tokens]})
        return
    for t in tokens:
        click.echo(f"{t.word}\t{t.stem}\t{t.lang}")


@cli.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the search index from the stored transcripts (after an analyser upgrade).

    \b
    Example:
        dalel reindex
    """
    app = _app(ctx)
    total = app.store.conn.execute("SELECT count(*) FROM segments").fetchone()[0]
    with click.progressbar(length=max(1, total), label="reindexing", file=sys.stderr) as bar:
        done = app.store.reindex(progress=lambda n: bar.update(n - bar.pos))
    click.echo(f"reindexed {done} segment(s)")


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
    app = _app(ctx)
    report = app.status()
    if as_json:
        _echo_json(report)
        return
    click.echo(f"archive: {report['data_dir']}")
    d = report["daemon"]
    click.echo(f"daemon: running (pid {d['pid']} on {d['host']}, last heartbeat {d['heartbeat']})"
               if d["alive"] else "daemon: not running" + (f" (last heartbeat {d['heartbeat']})"
                                                          if d["heartbeat"] else " (`dalel run` starts it)"))
    disk = report["disk"]
    if disk["paused"]:
        click.echo(f"DOWNLOADS PAUSED: {disk['free_bytes'] / 1e9:.1f} GB free, less than [monitor] "
                   f"min_free_space ({disk['min_free_bytes'] / 1e9:.1f} GB); free space to resume")
    click.echo("videos: " + ", ".join(f"{k} {v}" for k, v in report["videos"].items()))
    if report["coverage"]["speech_s"]:
        click.echo("transcripts: " + coverage_line(report["coverage"]))
    click.echo("queue: " + (", ".join(f"{k} {v}" for k, v in report["queue"].items()) or "empty"))
    for s in report["sources"]:
        err = f"  error: {s['last_error']}" if s["last_error"] else ""
        click.echo(f"  [{s['id']}] {s['name'] or s['url']}  last check {s['last_checked'] or 'never'},"
                   f" next {s['next_check'] or 'now'}{err}")
    for g in report["failures_by_reason"]:
        click.echo(f"failed: {g['count']} × {g['reason']}  ({', '.join(g['videos'][:5])}"
                   f"{', …' if g['count'] > 5 else ''}; `dalel retry` queues them again)")
    for r in report["removed"]:
        click.echo(f"  removed at source {r['video_id']} since {r['removed_at']}: {r['title'] or ''}")


@cli.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the daemon: poll sources on schedule, archive, transcribe, re-check for takedowns.

    Stops on SIGTERM or Ctrl-C within seconds; work in progress resumes on the next start.
    Logs one line per event to stderr (use -v for found/archived/transcribed lines).

    \b
    Example:
        dalel -v run
    """
    from .daemon import Daemon
    app = _app(ctx)
    cfg = app.config
    app.close()
    ctx.find_root().obj["app"] = None
    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
    daemon = Daemon(cfg)
    daemon.run_until_stopped()
    if daemon.busy_workers():
        # A transcription still inside the speech engine's native threads would abort the
        # interpreter's exit ("terminate called…", exit 134); its work is checkpointed and
        # resumes on the next start, and every database write is a committed transaction.
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
    from .web import serve as run_web
    cfg = _app(ctx).config
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
    from .demo import run_demo
    run_demo(None if temp else folder, echo=click.echo)


# The evidence and watchlist commands live in their own module; importing it registers them.
from . import cli_evidence  # noqa: E402,F401


def main() -> None:
    cli(prog_name="dalel")
