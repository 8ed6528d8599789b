"""Transcription: `transcribe`, `transcript`, `import-transcript`."""
from __future__ import annotations

from pathlib import Path

import click

import store
import transcribe

from ..errors import DalelError
from ..formats import FORMATTERS, transcript_json
from .base import app_of, cli, progress

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
    app = app_of(ctx)
    if model:
        app.use_model(model)
    videos = app.videos_to_transcribe(video_ids)
    if not videos:
        click.echo("nothing to transcribe")
        return
    failed: list[str] = []
    for video in videos:
        bars: list = []
        step = progress(bars, f"{video.video_id} {(video.title or '')[:40]}")
        try:
            count = app.transcribe_video(video, progress=step)
        except (transcribe.TranscribeError, DalelError) as exc:  # this video only; go on
            app.store.videos.mark_failed(video, f"transcribe: {exc}")
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
    app = app_of(ctx)
    video = app.store.videos.find(video_id)
    t = app.store.transcripts.get(video, source)
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
    n = app_of(ctx).import_transcript(video_id, file, lang)
    click.echo(f"imported {n} segment(s) for {video_id}")
