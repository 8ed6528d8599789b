"""Finding what was said: `search`, `analyze`, `reindex`."""
from __future__ import annotations

from dataclasses import replace

import sys

import click

import store

from ..formats import hms, link_at, results_json
from .base import app_of, cli, echo_json, highlight, search_options

# --- search ------------------------------------------------------------------

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
@click.option("--sort", type=click.Choice(["relevance", "newest", "oldest"]), default="relevance",
              show_default=True, help="Order of the hits: relevance, or broadcast date.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object (with facets and a histogram of mentions per month).")
@click.pass_context
def search(ctx: click.Context, query: str, channel: str | None, lang: str | None,
           since: str | None, until: str | None, limit: int | None, offset: int,
           mode: str | None, lemma: bool, sort: str, as_json: bool) -> None:
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
    app = app_of(ctx)
    parsed = store.parse(query)
    opts = replace(search_options(app, channel, None, lang, since, until, lemma, limit, offset), sort=sort)
    approximate = {"approximate": True, "exact": False}.get(mode or "")
    results = store.search(app.store, parsed, opts, approximate=approximate)
    if as_json:
        echo_json(results_json(results))
        return
    _print_results(query, results, offset)


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
        echo_json({"tokens": [{"word": t.word, "stem": t.stem, "lang": t.lang} for t in tokens]})
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
    app = app_of(ctx)
    total = app.store.conn.execute("SELECT count(*) FROM segments").fetchone()[0]
    with click.progressbar(length=max(1, total), label="reindexing", file=sys.stderr) as bar:
        done = app.store.index.rebuild(progress=lambda n: bar.update(n - bar.pos))
    click.echo(f"reindexed {done} segment(s)")


def _print_results(query: str, results: store.Results, offset: int) -> None:
    """Hits grouped by video, each in its sentence with the sentences around it."""
    if not results.hits:
        click.echo(f"no occurrence of {query!r} in the transcripts")
        return
    if results.approximate:
        about = "" if results.total_exact else "about "
        click.echo(f"no exact match; {about}{results.total:,} possible mention(s) spelled differently:")
    groups: dict[str, list[store.Hit]] = {}
    for h in results.hits:
        groups.setdefault(h.video_id, []).append(h)
    for vid, hits in groups.items():
        h = hits[0]
        removed = "  [removed at source]" if h.removed else ""
        n = results.videos.get(vid, len(hits))
        click.echo(click.style(f"{h.channel or '-'} — {h.title or '-'} ({vid}), {n:,} hit(s)", bold=True)
                   + removed)
        for h in hits:
            tag = "" if h.source == "asr" else f" [{h.source}]"
            tag += " [possible: spelled differently]" if h.approximate else ""
            click.echo(f"  {hms(h.start)}–{hms(h.end)}{tag}  {highlight(h)}")
            if h.context_before or h.context_after:
                click.echo(click.style(f"    before: {h.context_before or '—'}", dim=True))
                click.echo(click.style(f"    after:  {h.context_after or '—'}", dim=True))
            click.echo(f"    {link_at(h.url, h.start)}")
    shown = offset + len(results.hits)
    about = "" if results.total_exact else "about "
    possible = f" ({results.possible_total:,} possible)" if results.possible_total and results.exact_total else ""
    if results.total_capped:
        click.echo(f"{results.total:,}+ hit(s): more than {results.total:,} segments match, the best shown are "
                   "of the newest of them; narrow the search (--channel, --since, a phrase) for exact counts"
                   + (f"; next page: --offset {shown}" if results.total > shown else ""))
        return
    click.echo(f"{about}{results.total:,} hit(s){possible} in {len(results.videos)} video(s)"
               + (f"; showing {offset + 1}–{shown}, next page: --offset {shown}"
                  if results.total > shown else ""))
