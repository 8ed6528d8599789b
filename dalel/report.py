"""Claim-check reports ("did the broadcast contain …?") and multi-clip exports."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import csv
import io
import tempfile
from dataclasses import replace
from pathlib import Path

import store
import transcribe

from . import __version__
from .evidence import ClipRequest, build_clip, clip_range, original, tool_versions, write_package
from .formats import coverage_line, hit_json, hms, link_at
from .templating import render

if TYPE_CHECKING:
    from .app import App

CAVEAT = ("Speech recognition can miss or mishear words, especially in poor audio, overlapping "
          "speech or Kazakh–Russian code-switching; an absence in the transcript is not proof of "
          "absence in the recording. The occurrences listed can be checked against the archived "
          "original at the given times.")


def build_report(app: App, query: str, opts: store.SearchOptions) -> dict:
    """Scope, the word forms searched and found, every occurrence in its sentence, the
    possible mentions spelled differently (apart), and the statement.

    A scope that holds nothing to search is refused, never reported as an absence."""
    parsed = store.parse(query)
    everything = replace(opts, limit=10**9, offset=0, source=opts.source or "speech")
    store.check_scope(app.store, everything)
    scope = store.scope(app.store, everything)
    if not scope["videos"]:
        raise store.NotFound("no archived video is in this scope; check --channel, --video and the "
                             "dates (`dalel status` lists the archive)")
    if not scope["transcribed_videos"]:
        raise store.NotFound(f"none of the {scope['videos']} video(s) in scope is transcribed: nothing "
                             "was searched; run `dalel transcribe` first")
    results = store.search(app.store, parsed, everything, approximate=True, exhaustive=True)
    hits = [_hit_row(h) for h in results.hits if not h.approximate]
    possible = [_hit_row(h) for h in results.hits if h.approximate]
    found: dict[str, int] = {}
    for h in hits:
        for word in h["matches"]:
            found[store.normalise(word)] = found.get(store.normalise(word), 0) + 1
    hours = scope["transcribed_hours"]
    untranscribed = scope["videos"] - scope["transcribed_videos"]
    searched = (f"{hours:.2f} hours of transcript ({scope['transcribed_videos']} of "
                f"{scope['videos']} video(s) transcribed")
    searched += f"; {untranscribed} not transcribed, so not searched)" if untranscribed else ")"
    cov = scope["coverage"]
    if cov["speech_s"] or cov.get("undecodable_s"):
        searched += f"; speech recognition: {coverage_line(cov)}"
    if hits:
        statement = (f"{len(hits)} occurrence(s) of «{query}» were found in "
                     f"{len({h['video_id'] for h in hits})} video(s), searching {searched}.")
    else:
        statement = f"No occurrence of «{query}» was found in {searched}."
        if cov["uncovered_s"]:
            statement += (f" {cov['uncovered_s']:g} s of detected speech have no words in the transcript "
                          f"and were not searched: {_where(cov['uncovered'])}.")
        if cov.get("undecodable_s"):
            statement += (f" {cov['undecodable_s']:g} s of audio could not be decoded (damaged or missing from "
                          f"the archived file), so nothing said there was heard or searched: "
                          f"{_where(cov['undecodable'])}.")
    if possible:
        statement += (f" {len(possible)} possible mention(s) spelled differently in the transcript "
                      "are listed apart; listen to each before relying on it.")
    statement += " " + CAVEAT
    return {"query": query, "scope": scope, "forms": _forms(app, results.forms),
            "found_forms": dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))),
            "hits": hits, "possible": possible, "statement": statement,
            "created_at": store.utcnow(), "tools": tool_versions()}


def _where(spans: list) -> str:
    """The first 20 stretches, (video, start, end) each, as "VIDEO 0:00:14–0:00:28, …"."""
    return ", ".join(f"{v} {hms(a)}–{hms(b)}" for v, a, b in spans[:20])


def _hit_row(h: store.Hit) -> dict:
    """A hit as the search JSON has it, with its times written h:mm:ss and its match spans."""
    return hit_json(h) | {"time": hms(h.start), "end_time": hms(h.end), "spans": [list(s) for s in h.spans]}


def _forms(app: App, asked: dict[str, list[str]]) -> dict[str, dict[str, list[str]]]:
    """For each query word: the indexed forms searched (its family's), and every spoken form
    in the archive that has one of them."""
    return {word: {"searched": stems, "spoken": app.store.index.spoken_forms(stems)}
            for word, stems in asked.items()}


def report_html(report: dict) -> str:
    """A self-contained, printable HTML page (no external assets, no script)."""
    return render("report.html", r=report)


def export(app: App, query: str, opts: store.SearchOptions, out: Path, pad: float,
           fmt: str = "zip") -> tuple[Path, int]:
    """One package with a clip per hit, an index (HTML and CSV); returns (path, clips)."""
    speech = replace(opts, source=opts.source or "speech")  # a title is not a moment to cut
    results = store.search(app.store, store.parse(query), replace(speech, offset=0),
                           approximate=False, exhaustive=True)
    members: dict[str, bytes] = {}
    index: list[dict[str, Any]] = []
    originals: dict[str, tuple] = {}  # each original is re-hashed and probed once, not per hit
    with tempfile.TemporaryDirectory(dir=app.config.tmp_dir if app.config.tmp_dir.exists() else None) as tmp:
        for i, h in enumerate(results.hits, 1):
            key = f"{h.platform}:{h.video_id}"
            if key not in originals:
                video = app.store.videos.find(key)
                src, rec = original(app, video)
                originals[key] = (video, src, rec, transcribe.media_duration(src))
            video, src, rec, total = originals[key]
            req = ClipRequest(h.video_id, h.start, h.end, pad)
            start, end = clip_range(req, total)
            folder = f"{i:03d}_{h.video_id}_{int(h.start)}s/"
            work = Path(tmp) / str(i)
            work.mkdir()
            for name, data in build_clip(app, video, src, rec, start, end, req, work).items():
                members[folder + name] = data
            index.append({"n": i, "folder": folder, "video_id": h.video_id, "title": h.title or "",
                          "start": hms(h.start), "end": hms(h.end), "text": h.text,
                          "url": link_at(h.url, h.start)})
    if not index:
        raise store.NotFound(f"no occurrence of {query!r}; nothing to export (see `dalel report`)")
    members["index.csv"] = _csv(index).encode()
    members["index.html"] = _index_html(query, index).encode()
    path = out
    digest = write_package(path, members, fmt, f"{len(index)} clip(s) of «{query}»")
    for vid in {row["video_id"] for row in index}:
        store.custody.record(app.store, app.store.videos.find(vid), "export",
                             {"package": path.name, "sha256": digest, "query": query})
    return path, len(index)


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _index_html(query: str, rows: list[dict]) -> str:
    return render("export_index.html", query=query, rows=rows, version=__version__) + "\n"
