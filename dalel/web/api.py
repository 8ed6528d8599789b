"""The JSON API (it mirrors the CLI), the health check and the metrics."""
from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from pydantic import BaseModel

import store

from ..app import App
from ..errors import USER_ERRORS
from ..formats import results_json, transcript_json
from .common import PAGE, ClipIn, add_channel, find_video, get_app, make_clip, run_search, token_of
from .accounts import require_admin
from .security import check_csrf

router = APIRouter()


@router.get("/healthz", summary="200 with the database reachable and the daemon's heartbeat fresh; else 503")
def healthz(request: Request) -> JSONResponse:
    try:
        with App(request.app.state.config) as app:
            daemon = app.daemon_state()
    except Exception as exc:   # the database unreachable: that is what a health check asks
        return JSONResponse({"ok": False, "database": str(exc)[:200]}, 503)
    return JSONResponse({"ok": daemon["alive"], "database": "ok", "daemon": daemon},
                        200 if daemon["alive"] else 503)


@router.get("/metrics", summary="Prometheus metrics (text format)")
def metrics(app: App = Depends(get_app)) -> Response:
    from ..metrics import exposition
    body, content_type = exposition(app)
    return Response(body, media_type=content_type)


@router.get("/api/search", summary="Search transcripts (same object as `dalel search --json`)")
def api_search(q: str, channel: str = "", lang: str = "", since: str = "", until: str = "",
               limit: int = PAGE, offset: int = 0, lemma: bool = False, source: str = "",
               sort: str = "relevance", per: str = "month", app: App = Depends(get_app)) -> dict:
    try:
        results = run_search(app, q, lang, channel, since, until, min(max(1, limit), 1000),
                             min(max(0, offset), 10**9), lemma=lemma, source=source, sort=sort, per=per)
    except store.QueryError as exc:
        raise HTTPException(400, str(exc)) from exc
    except store.NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return results_json(results)


@router.get("/api/videos/{video_id}", summary="A video: metadata, files with SHA-256, events")
def api_video(video_id: str, app: App = Depends(get_app)) -> dict:
    video = find_video(app, video_id)
    return {**asdict(video), "files": [asdict(f) for f in app.store.videos.files(video)],
            "events": app.store.videos.events(video)}


@router.get("/api/videos/{video_id}/transcript", summary="A video's transcript with words")
def api_transcript(video_id: str, app: App = Depends(get_app)) -> Response:
    video = find_video(app, video_id)
    try:
        t = app.store.transcripts.get(video)
    except store.NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return Response(transcript_json(t, video.video_id), media_type="application/json")


class ChannelIn(BaseModel):
    url: str
    name: str = ""
    since: str = ""
    last: int | None = None


@router.post("/api/channels", status_code=201, summary="Watch a channel (admins): its history since a date, "
             "the last N videos, or all")
def api_add_channel(body: ChannelIn, request: Request, app: App = Depends(get_app)) -> dict:
    check_csrf(request, request.headers.get("X-CSRF-Token", ""), token_of(request))
    require_admin(request)
    try:
        src = add_channel(app, body.url.strip(), body.name.strip(), body.since, body.last)
    except store.QueryError as exc:
        raise HTTPException(400, str(exc)) from exc
    except USER_ERRORS as exc:
        raise HTTPException(400, str(exc)) from exc
    return asdict(src) | {"warning": app.last_warning}


@router.post("/api/clips", summary="Write an evidence package of a range")
def api_clip(body: ClipIn, request: Request, app: App = Depends(get_app)) -> dict:
    check_csrf(request, request.headers.get("X-CSRF-Token", ""), token_of(request))
    return make_clip(app, body)
