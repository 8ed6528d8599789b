"""The HTML pages: search, a video with its transcript in sync, channels, files, clips."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

import monitor
import store
from store.text import language

from .. import i18n
from ..app import App
from ..charts import mentions_chart, period_range
from ..errors import USER_ERRORS
from ..formats import FORMATTERS, hms, link_at, parse_time, transcript_json
from ..searching import html_marked, options, unsure_words
from .common import PAGE, ClipIn, add_channel, find_video, get_app, make_clip, page, run_search, token_of
from .accounts import require_admin
from .security import check_csrf, confined, confined_new

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, app: App = Depends(get_app)) -> HTMLResponse:
    """The archive at a glance: channels with their hours, the daemon, failures, the newest
    videos and alerts, and the hours archived per week."""
    weeks = app.store.videos.hours_per_week()
    return page(request, "home.html", status=app.status(), channels=app.store.videos.overview(),
                newest=app.store.videos.browse(limit=10)[1], alerts=store.alerts(app.store, limit=10),
                chart=mentions_chart(weeks, label=_period_label(request)) if weeks else None,
                languages=store.LANGUAGES)


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: str = "", lang: str = "", channel: str = "",
                since: str = "", until: str = "", offset: int = 0, lemma: str = "", source: str = "",
                sort: str = "relevance", app: App = Depends(get_app)) -> HTMLResponse:
    ctx: dict[str, Any] = dict(q=q, lang=lang, channel=channel, since=since, until=until, source=source,
                               sort=sort, results=None, groups=[], error=None, prev_url=None, next_url=None,
                               lemma=bool(lemma), languages=store.LANGUAGES, facets=[], chart=None)
    if not q.strip():
        return page(request, "search.html", **ctx)
    try:
        results = run_search(app, q, lang, channel, since, until, PAGE, max(0, offset),
                             lemma=bool(lemma), source=source, sort=sort)
    except (store.QueryError, store.NotFound) as exc:
        return page(request, "search.html", **(ctx | {"error": str(exc)}))
    base = {k: v for k, v in dict(q=q, lang=lang, channel=channel, since=since, until=until, source=source,
                                  sort=sort if sort != "relevance" else "", lemma="1" if lemma else "").items() if v}

    def url(**change: str) -> str:
        return "/search?" + urlencode({k: v for k, v in (base | change).items() if v})
    ctx.update(results=results, groups=_groups(results), facets=_facets(results, url, request),
               chart=mentions_chart(results.histogram, lambda p: url(**dict(zip(("since", "until"), r)))
                                    if (r := period_range(p)) else None, _period_label(request))
               if results.histogram else None)
    if offset > 0:
        ctx["prev_url"] = url(offset=str(max(0, offset - PAGE)))
    if results.total > offset + PAGE:
        ctx["next_url"] = url(offset=str(offset + PAGE))
    return page(request, "search.html", **ctx)


def _period_label(request: Request):
    """A period ("2024-03", "2024-W10", "undated") as the reader's language writes it."""
    code = request.state.locale
    return lambda p: i18n.translations(code).gettext(p) if p == "undated" else i18n.period(p, code)


def _facets(results: store.Results, url, request: Request) -> list[dict]:
    """Each facet's values with their counts, the label shown in the reader's language, and the
    link that narrows the search to one."""
    gettext, period = i18n.translations(request.state.locale).gettext, _period_label(request)

    def narrow(facet: str, value: str) -> str | None:
        if facet in ("year", "month"):
            return url(since=value, until=value) if value != "undated" else None
        return url(**{facet: value}) if value != "unknown" else None

    def label(facet: str, value: str) -> str:
        if facet == "month":
            return period(value)
        if value in ("unknown", "undated") or facet == "source":
            return gettext(value)
        return gettext(language(value).name) if facet == "lang" and value in store.LANGUAGES else value
    names = {"channel": "Channel", "lang": "Language", "source": "Source", "year": "Year", "month": "Month"}
    return [{"name": names[f], "values": [v | {"link": narrow(f, v["value"]), "label": label(f, v["value"])}
                                          for v in values]}
            for f, values in results.facets.items()]


def _marks(app: App, q: str, video: store.Video) -> dict[int, list[tuple[int, int]]]:
    """Each segment's match spans for `q` in this video (none for a query it cannot read)."""
    marks: dict[int, list[tuple[int, int]]] = {}
    try:
        for h in run_search(app, q, "", "", "", "", 1000, 0, video=video.video_id).hits:
            for seg, a, b in h.marks:
                marks.setdefault(seg, []).append((a, b))
    except (store.QueryError, store.NotFound):
        pass
    return marks


@router.get("/videos/{video_id}", response_class=HTMLResponse)
def video_page(request: Request, video_id: str, q: str = "", t: float = 0.0,
               app: App = Depends(get_app)) -> HTMLResponse:
    video = find_video(app, video_id)
    try:
        transcript = app.store.transcripts.get(video)
    except store.NotFound:
        transcript = None
    marks = _marks(app, q, video) if q.strip() and transcript else {}
    segments = [{"start": s["start"], "end": s["end"], "hms": hms(s["start"]),
                 "hit": s["id"] in marks,
                 "html": html_marked(s["text"], marks.get(s["id"], ()), unsure_words(s["text"], s.get("words", ())))}
                for s in (transcript or {}).get("segments", [])]
    coverage = ((transcript.get("settings") or {}).get("coverage") or {"measured": False}) \
        if transcript and transcript.get("source") == "asr" else None
    custody, problems = store.custody.chain(app.store, video)
    return page(request, "video.html", video=video, transcript=transcript, segments=segments,
                files=app.store.videos.files(video), start=t, coverage=coverage, custody=custody,
                custody_problems=problems)


@router.get("/videos/{video_id}/transcript.{fmt}")
def transcript_file(video_id: str, fmt: str, app: App = Depends(get_app)) -> Response:
    """The transcript as TXT, SRT, WebVTT or JSON (with words), as `dalel transcript` prints it."""
    video = find_video(app, video_id)
    if fmt not in ("txt", "srt", "vtt", "json"):
        raise HTTPException(404, "use .txt, .srt, .vtt or .json")
    try:
        t = app.store.transcripts.get(video)
    except store.NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    body = transcript_json(t, video.video_id) if fmt == "json" else FORMATTERS[fmt](t)
    kinds = {"txt": "text/plain", "srt": "application/x-subrip", "vtt": "text/vtt", "json": "application/json"}
    return Response(body, media_type=f"{kinds[fmt]}; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{video.video_id}.{fmt}"'})


@router.get("/videos", response_class=HTMLResponse)
def videos_page(request: Request, channel: str = "", state: str = "", removed: str = "", since: str = "",
                until: str = "", offset: int = 0, app: App = Depends(get_app)) -> HTMLResponse:
    """Every video: filter by channel, state, removal at the source and broadcast dates."""
    ctx: dict[str, Any] = dict(channel=channel, state=state, removed=bool(removed), since=since, until=until,
                               states=[str(s) for s in store.VideoState], error=None, videos=[], total=0)
    try:
        for name, value in (("since", since), ("until", until)):
            if value:
                store.check_date(value, name)
        if state and state not in ctx["states"]:
            raise store.QueryError(f"state {state!r}: use one of {', '.join(ctx['states'])}")
    except store.QueryError as exc:
        return page(request, "videos.html", **(ctx | {"error": str(exc)}))
    total, rows = app.store.videos.browse(channel=channel or None, state=state or None, removed=bool(removed),
                                          since=since or None, until=until or None, limit=PAGE * 5,
                                          offset=max(0, offset))
    base = {k: v for k, v in dict(channel=channel, state=state, removed=removed, since=since, until=until).items() if v}
    more = "/videos?" + urlencode(base | {"offset": offset + PAGE * 5}) if total > offset + PAGE * 5 else None
    return page(request, "videos.html", **(ctx | dict(videos=rows, total=total, next_url=more)))


@router.get("/channels", response_class=HTMLResponse)
def channels_page(request: Request, app: App = Depends(get_app)) -> HTMLResponse:
    return page(request, "channels.html", status=app.status())


@router.get("/channels/{source_id}", response_class=HTMLResponse)
def channel_page(request: Request, source_id: str, offset: int = 0, app: App = Depends(get_app)) -> HTMLResponse:
    """One channel: where it is watched from and how it fares, its hours archived per week, its
    videos newest first, those that failed."""
    try:
        source = app.store.sources.get(source_id)      # its number, URL or name
    except store.NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    shown = next(s for s in app.status()["sources"] if s["id"] == source.id)
    total, videos = app.store.videos.browse(source_id=source.id, limit=PAGE * 5, offset=max(0, offset))
    weeks = app.store.videos.hours_per_week(source_id=source.id)
    more = f"/channels/{source.id}?offset={offset + PAGE * 5}" if total > offset + PAGE * 5 else None
    return page(request, "channel.html", source=shown, videos=videos, total=total, next_url=more,
                numbers=next(iter(app.store.videos.overview(source.id)), None),
                failed=app.store.videos.browse(source_id=source.id, state="failed", limit=50)[1],
                chart=mentions_chart(weeks, label=_period_label(request)) if weeks else None)


@router.post("/channels", response_class=HTMLResponse)
def channels_add(request: Request, csrf: str = Form(""), url: str = Form(...), name: str = Form(""),
                 backfill: str = Form("all"), since: str = Form(""), last: str = Form(""),
                 app: App = Depends(get_app)) -> Response:
    """Add a channel: its whole history, since a date, or the last N videos."""
    check_csrf(request, csrf, token_of(request))
    require_admin(request)
    try:
        add_channel(app, url.strip(), name.strip(), since if backfill == "since" else "",
                     int(last) if backfill == "last" and last.strip().isdigit() else None)
    except USER_ERRORS as exc:
        return page(request, "channels.html", status=app.status(), error=str(exc))
    return RedirectResponse("/channels", 303)


@router.post("/channels/{source_id}/{action}", response_class=HTMLResponse)
def channel_action(request: Request, source_id: str, action: str, csrf: str = Form(""),
                   app: App = Depends(get_app)) -> Response:
    """Pause, resume or remove a channel (admins)."""
    check_csrf(request, csrf, token_of(request))
    require_admin(request)
    try:
        if action in ("pause", "resume"):
            app.store.sources.set_paused(source_id, action == "pause")
        elif action == "remove":
            app.store.sources.remove(source_id)
        else:
            raise HTTPException(404, "use pause, resume or remove")
    except store.NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    if app.user:
        app.store.users.audit(app.user, f"channel {action}", source_id)
    return RedirectResponse("/channels", 303)


@router.post("/retry", response_class=HTMLResponse)
def retry_failed(request: Request, csrf: str = Form(""), app: App = Depends(get_app)) -> Response:
    """Every failed video queued again (as `dalel retry --all`), then back to the status page."""
    check_csrf(request, csrf, token_of(request))
    require_admin(request)
    retried = app.retry_failed()
    if app.user:
        app.store.users.audit(app.user, "retry", ", ".join(v.video_id for v in retried))
    return RedirectResponse("/channels", 303)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, error: str = "", app: App = Depends(get_app)) -> HTMLResponse:
    """Saved searches (add, stop) and their alerts (newest first; acknowledge)."""
    rows = store.alerts(app.store, limit=200)
    return page(request, "alerts.html", watches=store.list_watches(app.store), alerts=rows, error=error or None,
                unseen=sum(1 for a in rows if not a["acknowledged_at"]))


@router.post("/watches", response_class=HTMLResponse)
def add_watch(request: Request, csrf: str = Form(""), query: str = Form(...),
              app: App = Depends(get_app)) -> Response:
    check_csrf(request, csrf, token_of(request))
    try:
        store.add_watch(app.store, query)
    except USER_ERRORS as exc:
        return RedirectResponse("/alerts?" + urlencode({"error": str(exc)}), 303)
    return RedirectResponse("/alerts", 303)


@router.post("/watches/{watch_id}/remove", response_class=HTMLResponse)
def remove_watch(request: Request, watch_id: str, csrf: str = Form(""), app: App = Depends(get_app)) -> Response:
    check_csrf(request, csrf, token_of(request))
    try:
        store.remove_watch(app.store, watch_id)
    except store.NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return RedirectResponse("/alerts", 303)


@router.post("/alerts/acknowledge", response_class=HTMLResponse)
def acknowledge_alerts(request: Request, csrf: str = Form(""), app: App = Depends(get_app)) -> Response:
    check_csrf(request, csrf, token_of(request))
    store.acknowledge(app.store, [a["id"] for a in store.alerts(app.store, limit=10_000, unacknowledged=True)])
    return RedirectResponse("/alerts", 303)


@router.get("/api", response_class=HTMLResponse)
def api_page(request: Request) -> HTMLResponse:
    return page(request, "api.html")


@router.get("/static/video.js")
def video_js(request: Request) -> FileResponse:
    return FileResponse(request.app.state.template_dir / "video.js", media_type="text/javascript")


def _serve(app: App, rec: store.FileRecord) -> Response:
    """An archived file: from the archive folder, or a redirect to a short-lived presigned
    GET of its recorded S3 version (the player asks S3 for ranges; nothing is public)."""
    url = app.files.url(rec)
    if url is not None:
        return RedirectResponse(url, 307)
    return FileResponse(confined(app.config.archive_dir, rec.path))


@router.get("/media/{video_id}")
def media(video_id: str, app: App = Depends(get_app)) -> Response:
    video = find_video(app, video_id)
    rec = next((f for f in app.store.videos.files(video) if f.role == "media"), None)
    if rec is None:
        raise HTTPException(404, "not archived")
    return _serve(app, rec)


@router.get("/archive/{path:path}")
def archived_file(path: str, app: App = Depends(get_app)) -> Response:
    rec = app.store.videos.file(path)
    if rec is None:
        raise HTTPException(404, "not found")
    return _serve(app, rec)


@router.get("/exports/{name}")
def exported(name: str, app: App = Depends(get_app)) -> FileResponse:
    path = confined(app.config.data_dir / "exports", name)
    return FileResponse(path, media_type="application/zip", filename=path.name)


@router.post("/clips", response_class=HTMLResponse)
def clip_form(request: Request, csrf: str = Form(""), video_id: str = Form(...),
              start: str = Form(...), end: str = Form(...), pad: float = Form(0.0),
              app: App = Depends(get_app)) -> HTMLResponse:
    """A clip of a range given in seconds or h:mm:ss."""
    check_csrf(request, csrf, token_of(request))
    try:
        begin, finish = parse_time(start), parse_time(end)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    made = make_clip(app, ClipIn(video_id=video_id, start=begin, end=finish, pad=pad))
    if app.user:
        app.store.users.audit(app.user, "clip", f"{video_id} {start}–{end} → {made['package']}")
    return page(request, "clip_ready.html", made=made, video_id=video_id)


@router.post("/exports/search", response_class=HTMLResponse)
def export_search(request: Request, csrf: str = Form(""), q: str = Form(...), lang: str = Form(""),
                  channel: str = Form(""), since: str = Form(""), until: str = Form(""), source: str = Form(""),
                  lemma: str = Form(""), app: App = Depends(get_app)) -> HTMLResponse:
    """One evidence package of the current query and filters: a clip per hit (up to 100)."""
    from ..report import export
    check_csrf(request, csrf, token_of(request))
    try:
        opts = options(channel=channel, lang=lang, since=since, until=until, source=source, limit=100,
                       lemma=bool(lemma), date_names=("since", "until"))
        out = confined_new(app.config.data_dir / "exports", f"search-{store.utcnow().replace(':', '')}.zip")
        path, n = export(app, q, opts, out, app.config.evidence.pad)
        if app.user:
            app.store.users.audit(app.user, "export", f"{q} → {path.name}")
    except USER_ERRORS as exc:
        raise HTTPException(400, str(exc)) from exc
    back = "/search?" + urlencode({k: v for k, v in dict(q=q, lang=lang, channel=channel, since=since,
                                                          until=until, source=source).items() if v})
    return page(request, "clip_ready.html", made={"package": path.name, "sha256": monitor.sha256_file(path)},
                video_id=None, clips=n, back=back)


def _groups(results: store.Results) -> list[dict]:
    groups: dict[str, dict] = {}
    for h in results.hits:
        g = groups.setdefault(h.video_id, {"video_id": h.video_id, "title": h.title, "channel": h.channel,
                                           "published": (h.published or "")[:10], "removed": h.removed,
                                           "hits": []})
        g["hits"].append({"video_id": h.video_id, "start": h.start, "hms": hms(h.start),
                          "html": html_marked(h.text, h.spans), "source": h.source,
                          "before": h.context_before, "after": h.context_after,
                          "approximate": h.approximate, "link": link_at(h.url, h.start)})
    return list(groups.values())
