"""`dalel serve`: the analyst's web app — search, watch with the transcript in sync, cite.

Server-rendered pages (Jinja2, autoescaped: transcripts and titles are untrusted text)
and a JSON API that mirrors the CLI. Listens on 127.0.0.1 unless a token is configured.
"""
from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import asdict
from pathlib import Path
from typing import Iterator
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from pydantic import BaseModel

import monitor
import store

from . import __version__
from .app import App
from .config import Config
from .errors import USER_ERRORS, DalelError
from .formats import coverage_line, hms, link_at, results_json

TEMPLATES = Path(__file__).parent / "templates"
CSRF_COOKIE, AUTH_COOKIE = "dalel_csrf", "dalel_auth"
PAGE = 20
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "media-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")


class ClipIn(BaseModel):
    video_id: str
    start: float
    end: float
    pad: float = 0.0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _host_name(header: str) -> str:
    """The name in a Host header, without the port ("[::1]:8080" → "::1")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def check_bind(host: str, token: str) -> None:
    """Refuse to listen beyond this machine without authentication."""
    if not is_loopback(host) and not token:
        raise DalelError(f"refusing to listen on {host} without authentication: set [web] token "
                         "in config.toml (e.g. token = \"$(openssl rand -hex 16)\"), or use --host 127.0.0.1")


def highlight(text: str, spans) -> Markup:
    out, last = [], 0
    for a, b in spans:
        out += [escape(text[last:a]), Markup("<mark>"), escape(text[a:b]), Markup("</mark>")]
        last = b
    out.append(escape(text[last:]))
    return Markup("").join(out)


def create_app(config: Config) -> FastAPI:
    token = config.web.token
    web = FastAPI(title="Dalel", version=__version__, docs_url=None, redoc_url=None,
                  description="Search, transcripts and evidence clips of the Dalel archive.")
    templates = Jinja2Templates(directory=str(TEMPLATES))

    def get_app() -> Iterator[App]:
        with App(config) as app:
            yield app

    hosts = LOOPBACK_NAMES | {h.lower() for h in config.web.allowed_hosts} | {config.web.host.lower()}

    @web.middleware("http")
    async def guard(request: Request, call_next):
        # DNS rebinding: a page on another site that resolves its name to 127.0.0.1 reaches
        # this server with its own name in Host. Only the names configured are answered.
        if _host_name(request.headers.get("host", "")) not in hosts:
            return JSONResponse({"error": "this Host is not served: add it to [web] allowed_hosts"}, 400)
        if token and request.url.path != "/healthz" and not _authorized(request, token):
            given = request.query_params.get("token", "")
            if given and hmac.compare_digest(given.encode(), token.encode()):
                resp = RedirectResponse(str(request.url.remove_query_params("token")), 303)
                resp.set_cookie(AUTH_COOKIE, session_value(token), httponly=True, samesite="strict")
                resp.headers["Cache-Control"] = "no-store"
                return resp
            return JSONResponse({"error": "authentication required: send 'Authorization: Bearer "
                                 "TOKEN' or open any page once with ?token=TOKEN"}, 401)
        response = await call_next(request)
        if token:   # nothing a token opened is kept by a browser or a proxy
            response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def page(request: Request, name: str, **ctx) -> HTMLResponse:
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        resp = templates.TemplateResponse(request, name, {"csrf": csrf, **ctx})
        resp.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict")
        return resp

    @web.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        return page(request, "search.html", q="", lang="", channel="", since="", until="",
                    results=None, groups=[], error=None)

    @web.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: str = "", lang: str = "", channel: str = "",
                    since: str = "", until: str = "", offset: int = 0, lemma: str = "",
                    app: App = Depends(get_app)) -> HTMLResponse:
        ctx = dict(q=q, lang=lang, channel=channel, since=since, until=until, results=None,
                   groups=[], error=None, prev_url=None, next_url=None, lemma=bool(lemma))
        if q.strip():
            try:
                results = _search(app, q, lang, channel, since, until, PAGE, max(0, offset),
                                  lemma=bool(lemma))
            except (store.QueryError, store.NotFound) as exc:
                return page(request, "search.html", **(ctx | {"error": str(exc)}))
            ctx.update(results=results, groups=_groups(results))
            base = dict(q=q, lang=lang, channel=channel, since=since, until=until,
                        **({"lemma": "1"} if lemma else {}))
            if offset > 0:
                ctx["prev_url"] = "/search?" + urlencode(base | {"offset": max(0, offset - PAGE)})
            if results.total > offset + PAGE:
                ctx["next_url"] = "/search?" + urlencode(base | {"offset": offset + PAGE})
        return page(request, "search.html", **ctx)

    @web.get("/videos/{video_id}", response_class=HTMLResponse, include_in_schema=False)
    def video_page(request: Request, video_id: str, q: str = "", t: float = 0.0,
                   app: App = Depends(get_app)) -> HTMLResponse:
        video = _video(app, video_id)
        try:
            transcript = app.store.transcript(video)
        except store.NotFound:
            transcript = None
        hits: dict[int, list[tuple[int, int]]] = {}
        if q.strip() and transcript:
            try:
                for h in _search(app, q, "", "", "", "", 1000, 0, video=video.video_id).hits:
                    for seg, a, b in h.marks:
                        hits.setdefault(seg, []).append((a, b))
            except (store.QueryError, store.NotFound):
                pass
        segments = [{"start": s["start"], "end": s["end"], "hms": hms(s["start"]),
                     "hit": s["id"] in hits, "html": highlight(s["text"], sorted(set(hits.get(s["id"], ()))))}
                    for s in (transcript or {}).get("segments", [])]
        coverage = coverage_line((transcript.get("settings") or {}).get("coverage")) \
            if transcript and transcript.get("source") == "asr" else None
        return page(request, "video.html", video=video, transcript=transcript, segments=segments,
                    files=app.store.files(video), start=t, coverage=coverage)

    @web.get("/channels", response_class=HTMLResponse, include_in_schema=False)
    def channels_page(request: Request, app: App = Depends(get_app)) -> HTMLResponse:
        return page(request, "channels.html", status=app.status())

    @web.get("/api", response_class=HTMLResponse, include_in_schema=False)
    def api_page(request: Request) -> HTMLResponse:
        return page(request, "api.html")

    @web.get("/static/video.js", include_in_schema=False)
    def video_js() -> FileResponse:
        return FileResponse(TEMPLATES / "video.js", media_type="text/javascript")

    @web.get("/media/{video_id}", include_in_schema=False)
    def media(video_id: str, app: App = Depends(get_app)) -> FileResponse:
        video = _video(app, video_id)
        rec = next((f for f in app.store.files(video) if f.role == "media"), None)
        if rec is None:
            raise HTTPException(404, "not archived")
        return FileResponse(_confined(app.config.archive_dir, rec.path))

    @web.get("/archive/{path:path}", include_in_schema=False)
    def archived_file(path: str, app: App = Depends(get_app)) -> FileResponse:
        return FileResponse(_confined(app.config.archive_dir, path))

    @web.get("/exports/{name}", include_in_schema=False)
    def exported(name: str, app: App = Depends(get_app)) -> FileResponse:
        path = _confined(app.config.data_dir / "exports", name)
        return FileResponse(path, media_type="application/zip", filename=path.name)

    @web.post("/clips", response_class=HTMLResponse, include_in_schema=False)
    def clip_form(request: Request, csrf: str = Form(""), video_id: str = Form(...),
                  start: float = Form(...), end: float = Form(...), pad: float = Form(0.0),
                  app: App = Depends(get_app)) -> HTMLResponse:
        _check_csrf(request, csrf, token)
        made = _clip(app, ClipIn(video_id=video_id, start=start, end=end, pad=pad))
        link = f"/exports/{escape(made['package'])}"
        return HTMLResponse(
            f"<!doctype html><meta charset=utf-8><title>Package ready</title><main style='font-family:"
            f"system-ui;padding:1rem'><h1>Evidence package written</h1><p><a id=download href='{link}'>"
            f"{escape(made['package'])}</a></p><p>SHA-256 <code>{escape(made['sha256'])}</code></p>"
            f"<p><a href='/videos/{escape(video_id)}'>back to the video</a></p></main>",
            headers={"Content-Security-Policy": CSP})

    # --- operations --------------------------------------------------------------

    @web.get("/healthz", summary="200 with the database reachable and the daemon's heartbeat fresh; else 503")
    def healthz() -> JSONResponse:
        try:
            with App(config) as app:
                daemon = app.daemon_state()
        except Exception as exc:   # the database unreachable: that is what a health check asks
            return JSONResponse({"ok": False, "database": str(exc)[:200]}, 503)
        return JSONResponse({"ok": daemon["alive"], "database": "ok", "daemon": daemon},
                            200 if daemon["alive"] else 503)

    @web.get("/metrics", summary="Prometheus metrics (text format)")
    def metrics(app: App = Depends(get_app)) -> Response:
        from .metrics import exposition
        body, content_type = exposition(app)
        return Response(body, media_type=content_type)

    # --- JSON API (mirrors the CLI) ---------------------------------------------

    @web.get("/api/search", summary="Search transcripts (same object as `dalel search --json`)")
    def api_search(q: str, channel: str = "", lang: str = "", since: str = "", until: str = "",
                   limit: int = PAGE, offset: int = 0, lemma: bool = False,
                   app: App = Depends(get_app)) -> dict:
        try:
            results = _search(app, q, lang, channel, since, until, min(max(1, limit), 1000),
                              min(max(0, offset), 10**9), lemma=lemma)
        except store.QueryError as exc:
            raise HTTPException(400, str(exc)) from exc
        except store.NotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        return results_json(results)

    @web.get("/api/videos/{video_id}", summary="A video: metadata, files with SHA-256, events")
    def api_video(video_id: str, app: App = Depends(get_app)) -> dict:
        video = _video(app, video_id)
        return {**asdict(video), "files": [asdict(f) for f in app.store.files(video)],
                "events": app.store.events(video)}

    @web.get("/api/videos/{video_id}/transcript", summary="A video's transcript with words")
    def api_transcript(video_id: str, app: App = Depends(get_app)) -> Response:
        from .formats import transcript_json
        video = _video(app, video_id)
        try:
            t = app.store.transcript(video)
        except store.NotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        return Response(transcript_json(t, video.video_id), media_type="application/json")

    @web.post("/api/clips", summary="Write an evidence package of a range")
    def api_clip(body: ClipIn, request: Request, app: App = Depends(get_app)) -> dict:
        _check_csrf(request, request.headers.get("X-CSRF-Token", ""), token)
        return _clip(app, body)

    return web


def session_value(token: str) -> str:
    """What the session cookie holds: derived from the token, never the token itself (a
    stolen cookie does not reveal the token scripts use)."""
    return hmac.new(token.encode(), b"dalel web session v1", "sha256").hexdigest()


def _authorized(request: Request, token: str) -> bool:
    bearer = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    cookie = request.cookies.get(AUTH_COOKIE, "")
    try:
        return (bool(bearer) and hmac.compare_digest(bearer.encode(), token.encode())) or \
            (bool(cookie) and hmac.compare_digest(cookie.encode(), session_value(token).encode()))
    except (UnicodeEncodeError, TypeError):
        return False


def _check_csrf(request: Request, sent: str, token: str) -> None:
    """A POST must carry the CSRF cookie's value (double submit), or a bearer token."""
    if token and request.headers.get("Authorization", "").startswith("Bearer "):
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(errors="replace"),
                                                         sent.encode(errors="replace")):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


def _confined(root: Path, relative: str) -> Path:
    """A path from a request, resolved and kept inside `root`; anything else is a 404."""
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        raise HTTPException(404, "not found")
    return path


def _video(app: App, video_id: str) -> store.Video:
    try:
        return app.store.find_video(video_id)
    except store.NotFound as exc:
        raise HTTPException(404, str(exc)) from exc


def _search(app: App, q: str, lang: str, channel: str, since: str, until: str, limit: int,
            offset: int, video: str | None = None, lemma: bool = False) -> store.Results:
    opts = store.SearchOptions(channel=channel or None, lang=lang or None, since=since or None,
                               until=until or None, video=video, limit=limit, offset=offset,
                               lemma=lemma)
    return store.search(app.store, store.parse(q), opts)


def _groups(results: store.Results) -> list[dict]:
    groups: dict[str, dict] = {}
    for h in results.hits:
        g = groups.setdefault(h.video_id, {"video_id": h.video_id, "title": h.title,
                                           "channel": h.channel, "removed": h.removed, "hits": []})
        g["hits"].append({"video_id": h.video_id, "start": h.start, "hms": hms(h.start),
                          "html": highlight(h.text, h.spans), "source": h.source,
                          "before": h.context_before, "after": h.context_after,
                          "approximate": h.approximate, "link": link_at(h.url, h.start)})
    return list(groups.values())


def _clip(app: App, body: ClipIn) -> dict:
    from .evidence import ClipRequest, make_clip
    try:
        path = make_clip(app, ClipRequest(body.video_id, body.start, body.end, max(0.0, body.pad)))
    except USER_ERRORS as exc:
        raise HTTPException(400, str(exc)) from exc
    return {"package": path.name, "sha256": monitor.sha256_file(path), "url": f"/exports/{path.name}"}


def serve(config: Config, host: str, port: int) -> None:
    import socket

    import uvicorn
    check_bind(host, config.web.token)
    try:   # an operator's mistake is one line, not a server log that ends in exit 3
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise DalelError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another "
                         "--port or stop what uses it") from exc
    uvicorn.run(create_app(config), host=host, port=port, log_level="info", access_log=False)
