"""What the pages and the API share: the app per request (naming the user acting), a page
rendered with its CSRF cookie, a video by id, the search."""
from __future__ import annotations

import secrets
from typing import Iterator

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

import monitor
import store

from .. import i18n
from ..app import App
from ..errors import USER_ERRORS
from ..searching import options
from .security import CSRF_COOKIE

PAGE = 20


class ClipIn(BaseModel):
    video_id: str
    start: float
    end: float
    pad: float = 0.0


def get_app(request: Request) -> Iterator[App]:
    """One `App` (its own database connection) per request."""
    with App(request.app.state.config) as app:
        who = getattr(request.state, "who", None)
        if who is not None and who.user is not None:   # custody entries and the audit name the user
            app.user = who.user.name
            app.store.actor = f"{who.user.name}@web"
        yield app


def token_of(request: Request) -> str:
    return request.app.state.config.web.token


def find_video(app: App, video_id: str) -> store.Video:
    try:
        return app.store.videos.find(video_id)
    except store.NotFound as exc:
        raise HTTPException(404, str(exc)) from exc


def run_search(app: App, q: str, lang: str, channel: str, since: str, until: str, limit: int,
               offset: int, video: str | None = None, lemma: bool = False, source: str = "",
               sort: str = "relevance", per: str = "month") -> store.Results:
    opts = options(channel=channel, lang=lang, since=since, until=until, video=video, limit=limit,
                   offset=offset, lemma=lemma, source=source, sort=sort, per=per,
                   date_names=("since", "until"))
    if app.user and video is None:
        app.store.users.audit(app.user, "search", q + "".join(f" {k}:{v}" for k, v in (
            ("channel", channel), ("lang", lang), ("since", since), ("until", until), ("source", source)) if v))
    return store.search(app.store, store.parse(q), opts)


def make_clip(app: App, body: ClipIn) -> dict:
    from ..evidence import ClipRequest, make_clip as write_clip
    try:
        path = write_clip(app, ClipRequest(body.video_id, body.start, body.end, max(0.0, body.pad)))
    except USER_ERRORS as exc:
        raise HTTPException(400, str(exc)) from exc
    return {"package": path.name, "sha256": monitor.sha256_file(path), "url": f"/exports/{path.name}"}


def is_admin(request: Request) -> bool:
    """Admins: channels, settings, users. Everyone is while no user exists; the [web] token is."""
    who = getattr(request.state, "who", None)
    return who is None or not who.users or who.token or (who.user is not None and who.user.role == "admin")


def page(request: Request, name: str, **ctx) -> HTMLResponse:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    templates = request.app.state.templates[getattr(request.state, "locale", i18n.DEFAULT)]
    resp = templates.TemplateResponse(request, name, {"csrf": csrf, "admin": is_admin(request), **ctx})
    resp.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict")
    resp.headers["Vary"] = "Accept-Language, Cookie"   # the page is in the reader's language
    return resp


def add_channel(app: App, url: str, name: str, since: str, last: int | None) -> store.Source:
    """A channel added from the browser or the API (admins), with its history chosen."""
    if since:
        store.check_date(since, "since")
    if last is not None and not 1 <= last <= 100_000:
        raise store.QueryError("last: give a number of videos from 1 to 100000")
    src = app.add_channel(url, name or None, None, since=since or None, last_n=last)
    if app.user:
        app.store.users.audit(app.user, "channel add", src.url)
    return src
