"""Claim-check reports ("did the broadcast contain …?") and multi-clip exports."""
from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import replace
from html import escape
from pathlib import Path

import store
import transcribe

from . import __version__
from .app import App
from .evidence import ClipRequest, build_clip, clip_range, original, tool_versions, write_zip
from .formats import hms, link_at

CAVEAT = ("Speech recognition can miss or mishear words, especially in poor audio, overlapping "
          "speech or Kazakh–Russian code-switching; an absence in the transcript is not proof of "
          "absence in the recording. The occurrences listed can be checked against the archived "
          "original at the given times.")


def build_report(app: App, query: str, opts: store.SearchOptions) -> dict:
    """Scope, the word forms searched, every occurrence with context, and the statement."""
    parsed = store.parse(query)
    everything = replace(opts, limit=100_000, offset=0, source=opts.source or "speech")
    results = store.search(app.store, parsed, everything, approximate=False)
    scope = store.scope(app.store, everything)
    hits = []
    for h in results.hits:
        before, after = store.context(app.store, h.segment_id)
        hits.append({"video_id": h.video_id, "title": h.title, "channel": h.channel,
                     "start": h.start, "end": h.end, "time": hms(h.start), "text": h.text,
                     "before": before, "after": after, "lang": h.lang, "source": h.source,
                     "url": link_at(h.url, h.start), "matches": list(h.matches),
                     "removed": h.removed})
    hours = scope["transcribed_hours"]
    if hits:
        statement = (f"{len(hits)} occurrence(s) of «{query}» were found in "
                     f"{len({h['video_id'] for h in hits})} of {scope['videos']} video(s) "
                     f"({hours:.2f} hours of transcript). {CAVEAT}")
    else:
        statement = (f"No occurrence of «{query}» was found in {hours:.2f} hours of transcript "
                     f"({scope['transcribed_videos']} of {scope['videos']} video(s) transcribed). "
                     f"{CAVEAT}")
    return {"query": query, "scope": scope, "forms": store.forms_of(app.store, parsed, opts.lang),
            "hits": hits, "statement": statement, "created_at": store.utcnow(),
            "tools": tool_versions()}


def report_html(report: dict) -> str:
    """A self-contained, printable HTML page (no external assets)."""
    s = report["scope"]
    e = lambda v: escape(str(v if v is not None else "—"))  # noqa: E731
    rows = "".join(
        f"<tr><td>{e(h['time'])}–{e(hms(h['end']))}</td><td>{e(h['title'])}<br><small>{e(h['video_id'])}"
        f"{' · removed at source' if h['removed'] else ''}</small></td><td>"
        f"<span class=ctx>{e(h['before'] or '')}</span> <b>{_marked(h)}</b> "
        f"<span class=ctx>{e(h['after'] or '')}</span></td>"
        f"<td><a href=\"{e(h['url'])}\">open</a></td></tr>" for h in report["hits"])
    forms = "".join(f"<li><b>{e(k)}</b>: {e(', '.join(v))}</li>" for k, v in report["forms"].items())
    videos = "".join(f"<li>{e(v['published'])} — {e(v['title'])} ({e(v['video_id'])})"
                     f"{'' if v['transcribed'] else ' — not transcribed'}</li>" for v in s["video_list"])
    tools = ", ".join(f"{e(k)} {e(v)}" for k, v in report["tools"].items())
    table = (f"<table><tr><th>Time</th><th>Video</th><th>Context</th><th>Link</th></tr>{rows}</table>"
             if rows else "<p><b>No occurrence.</b></p>")
    return f"""<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Dalel report: {e(report['query'])}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}}
table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #999;padding:.3rem;vertical-align:top}}
.statement{{border:2px solid #111;padding:.8rem;font-size:1.1rem}}.ctx{{color:#555}}
mark{{background:#ff6}}@media print{{a{{color:#000}}}}
</style></head><body>
<h1>Claim check: «{e(report['query'])}»</h1>
<p class="statement">{e(report['statement'])}</p>
<h2>Scope</h2>
<ul><li>Videos: {e(s['videos'])} ({e(s['hours'])} hours), transcribed: {e(s['transcribed_videos'])}
({e(s['transcribed_hours'])} hours)</li>
<li>Published: {e(s['from'])} – {e(s['to'])}</li>
<li>Speech recognition: {e(', '.join(s['models']) or '—')}; languages: {e(', '.join(s['languages']) or '—')}</li></ul>
<details><summary>Videos in scope</summary><ul>{videos}</ul></details>
<h2>Word forms searched</h2><ul>{forms}</ul>
<h2>Occurrences ({len(report['hits'])})</h2>{table}
<p><small>Created {e(report['created_at'])} with {tools}.</small></p>
</body></html>
"""


def _marked(hit: dict) -> str:
    text = escape(hit["text"])
    for word in sorted(set(hit["matches"]), key=len, reverse=True):
        text = text.replace(escape(word), f"<mark>{escape(word)}</mark>")
    return text


def export(app: App, query: str, opts: store.SearchOptions, out: Path, pad: float) -> tuple[Path, int]:
    """One package with a clip per hit, an index (HTML and CSV); returns (path, clips)."""
    speech = replace(opts, source=opts.source or "speech")  # a title is not a moment to cut
    results = store.search(app.store, store.parse(query), speech, approximate=False)
    members: dict[str, bytes] = {}
    index = []
    originals: dict[str, tuple] = {}  # each original is re-hashed and probed once, not per hit
    with tempfile.TemporaryDirectory(dir=app.config.tmp_dir if app.config.tmp_dir.exists() else None) as tmp:
        for i, h in enumerate(results.hits, 1):
            key = f"{h.platform}:{h.video_id}"
            if key not in originals:
                video = app.store.find_video(key)
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
    digest = write_zip(path, members)
    for vid in {row["video_id"] for row in index}:
        store.custody.record(app.store, app.store.find_video(vid), "export",
                             {"package": path.name, "sha256": digest, "query": query})
    return path, len(index)


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _index_html(query: str, rows: list[dict]) -> str:
    body = "".join(f"<tr><td>{r['n']}</td><td><a href=\"{escape(r['folder'])}clip.mp4\">{escape(r['folder'])}</a>"
                   f"</td><td>{escape(r['title'])}</td><td>{r['start']}–{r['end']}</td>"
                   f"<td>{escape(r['text'])}</td></tr>" for r in rows)
    return (f"<!doctype html><html><head><meta charset=utf-8><title>Export: {escape(query)}</title>"
            f"</head><body><h1>Export: «{escape(query)}»</h1><p>{len(rows)} clip(s); each folder "
            f"holds its own manifest.json, SHA256SUMS and README.txt (dalel {__version__}).</p>"
            f"<table border=1><tr><th>#</th><th>Folder</th><th>Video</th><th>Range</th><th>Text</th>"
            f"</tr>{body}</table></body></html>\n")
