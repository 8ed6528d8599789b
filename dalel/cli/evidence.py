"""Evidence: `clip`, `export`, `report`, `verify`, `custody`."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

import store

from ..app import App
from ..errors import USER_ERRORS
from .base import TimeType, app_of, cli, echo_json, filters, search_options


@cli.command()
@click.argument("video_id")
@click.argument("start", type=TimeType())
@click.argument("end", type=TimeType())
@click.option("--pad", type=click.FloatRange(0, 3600), default=0.0, show_default=True,
              help="Seconds added before START and after END.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Package path (default: DATA_DIR/exports/ID_START-END.zip).")
@click.option("--copy", is_flag=True, help="Stream copy instead of re-encoding (cuts at keyframes).")
@click.option("--format", "fmt", type=click.Choice(["zip", "bagit"]), default="zip", show_default=True,
              help="A ZIP, or a BagIt bag (RFC 8493): a folder archivists' tools validate.")
@click.pass_context
def clip(ctx: click.Context, video_id: str, start: float, end: float, pad: float,
         out: Path | None, copy: bool, fmt: str) -> None:
    """Write an evidence package: the clip, its subtitles, manifest and how to verify.

    START and END are seconds or h:mm:ss. The package is a ZIP, or with --format bagit a
    BagIt bag (a folder with SHA-256 and SHA-512 manifests; `bagit.py --validate` checks it).

    \b
    Example:
        dalel clip dQw4w9WgXcQ 0:01:05 0:01:20 --pad 3 --out moment.zip
        dalel clip dQw4w9WgXcQ 0:01:05 0:01:20 --format bagit --out moment-bag
    """
    from ..evidence import ClipRequest, make_clip
    path = make_clip(app_of(ctx), ClipRequest(video_id, start, end, pad, copy), out, fmt)
    click.echo(f"wrote {path}")


@cli.command()
@click.argument("query")
@filters
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Package path (.zip, or a new folder for --format bagit).")
@click.option("--pad", type=click.FloatRange(0, 3600), help="Seconds around each hit (default: [evidence] pad).")
@click.option("--limit", default=100, type=click.IntRange(1), show_default=True, help="Most clips.")
@click.option("--format", "fmt", type=click.Choice(["zip", "bagit"]), default="zip", show_default=True,
              help="A ZIP, or a BagIt bag (RFC 8493, a folder).")
@click.pass_context
def export(ctx: click.Context, query: str, channel, video, lang, since, until, lemma, out: Path,
           pad: float | None, limit: int, fmt: str) -> None:
    """One package with a clip per search hit, and an index of them (HTML and CSV).

    \b
    Example:
        dalel export '"захват власти"' --channel "Ne deidi" --out hits.zip
    """
    from ..report import export as export_hits
    app = app_of(ctx)
    opts = search_options(app, channel, video, lang, since, until, lemma, limit)
    path, n = export_hits(app, query, opts, out, app.config.evidence.pad if pad is None else pad, fmt)
    click.echo(f"wrote {path}: {n} clip(s)")


@cli.command()
@click.argument("query")
@filters
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a self-contained HTML report here.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def report(ctx: click.Context, query: str, channel, video, lang, since, until, lemma,
           out: Path | None, as_json: bool) -> None:
    """Did they say it? Every occurrence of a phrase in scope, or a statement that there is none.

    Each spoken mention is counted once and shown in its sentence, with the sentences
    before and after (a negation said just before is part of the answer). Words are
    searched with their families (захват: захватить, захватывать; --lemma: only захват's
    own forms); the report lists every form searched and found. Possible mentions spelled
    differently by speech recognition (эфир written «афере») are listed apart, never
    counted. A scope that holds nothing to search (an unknown --video or --channel, no
    transcript) is an error, not an absence.

    \b
    Example:
        dalel report '"захват власти"' --video dQw4w9WgXcQ --out report.html
        dalel report '"призывы к свержению"' --channel "Ne deidi" --since 2024-01-01 --json
    """
    from ..report import build_report, report_html
    app = app_of(ctx)
    data = build_report(app, query, search_options(app, channel, video, lang, since, until, lemma))
    if out:
        out.write_text(report_html(data), encoding="utf-8")
    if as_json:
        echo_json({k: data[k] for k in ("query", "scope", "forms", "found_forms", "hits", "possible",
                                         "statement")})
        return
    click.echo(data["statement"])
    for title, rows in (("Occurrences", data["hits"]), ("Possible mentions, spelled differently "
                                                        "(not counted; listen to each)", data["possible"])):
        if rows:
            click.echo(f"\n{title}:")
        for h in rows:
            click.echo(f"  {h['video_id']} {h['time']}–{h['end_time']}  {h['text']}")
            if h["context_before"]:
                click.echo(f"    before: {h['context_before']}")
            if h["context_after"]:
                click.echo(f"    after:  {h['context_after']}")
            click.echo(f"    {h['url']}")
    click.echo("\nForms searched: " + "; ".join(f"{w}: {', '.join(f['searched'])}" for w, f in data["forms"].items()))
    click.echo("Forms found: " + (", ".join(f"{w} ({n})" for w, n in data["found_forms"].items()) or "none"))
    if out:
        click.echo(f"wrote {out}")


@cli.command()
@click.argument("package", required=False, type=click.Path(path_type=Path))
@click.option("--archive", "whole_archive", is_flag=True,
              help="Re-hash every archived file against its recorded SHA-256.")
@click.pass_context
def verify(ctx: click.Context, package: Path | None, whole_archive: bool) -> None:
    """Check an evidence package, or (--archive) every archived file. Exit 0 only if all match.

    \b
    Example:
        dalel verify exports/moment.zip
        dalel verify --archive
    """
    from ..verification import verify_archive, verify_package
    if not package and not whole_archive:
        raise click.UsageError("give a PACKAGE (a ZIP or a BagIt folder) or --archive")
    failed = 0
    if package:
        if not package.exists():
            raise click.ClickException(f"{package} not found")
        app = _try_app(ctx)
        for c in verify_package(package, app):
            failed += not c.ok
            click.echo(f"{'OK  ' if c.ok else 'FAIL'} {c.what}{': ' + c.detail if c.detail else ''}")
    if whole_archive:
        n, bad = verify_archive(app_of(ctx))
        for c in bad:
            click.echo(f"FAIL {c.what}: {c.detail}")
        failed += len(bad)
        click.echo(f"checked {n} archived file(s): {len(bad)} video(s) changed")
    if failed:
        raise click.ClickException(f"{failed} check(s) failed")
    click.echo("all checks passed")


def _try_app(ctx: click.Context) -> App | None:
    """The archive when one is configured and exists (verifying a package needs none)."""
    try:
        app = app_of(ctx)
    except USER_ERRORS:
        return None
    return app


@cli.command()
@click.argument("video_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def custody(ctx: click.Context, video_id: str, as_json: bool) -> None:
    """Print a video's chain of custody and check that no entry was altered, removed or
    recomputed: each entry's hash, and the chain's head against the copy kept outside the
    database (custody-heads.log beside it).

    \b
    Example:
        dalel custody dQw4w9WgXcQ
    """
    app = app_of(ctx)
    video = app.store.videos.find(video_id)
    entries, problems = store.custody.chain(app.store, video)
    problems += store.custody.check_heads(app.store, video, entries,
                                          store.custody.last_heads(app.store.heads_path))
    if as_json:
        echo_json({"video_id": video.video_id, "intact": not problems, "problems": problems,
                    "entries": [asdict(e) for e in entries]})
    else:
        for e in entries:
            click.echo(f"{e.seq:>3} {e.at} {e.actor} {e.event} "
                       f"{json.dumps(e.details, ensure_ascii=False)[:160]}\n    {e.hash}")
        click.echo("chain intact" if not problems else "CHAIN BROKEN:\n  " + "\n  ".join(problems))
    if problems:
        ctx.exit(1)
