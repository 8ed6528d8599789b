"""`dalel serve`: the analyst's web app — search, watch with the transcript in sync, cite.

Server-rendered pages (`pages.py`; Jinja2, autoescaped: transcripts and titles are
untrusted text) and a JSON API that mirrors the CLI (`api.py`). Listens on 127.0.0.1
unless a token is configured (`security.py`).
"""
from __future__ import annotations

import gc
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.templating import Jinja2Templates

from .. import __version__
from ..config import Config
from ..errors import DalelError
from .. import i18n
from ..templating import TEMPLATES, environment
from . import accounts, api, pages, security
from .security import check_bind, is_loopback, session_value

__all__ = ["check_bind", "create_app", "freeze_startup_objects", "is_loopback", "serve", "session_value"]


def create_app(config: Config) -> FastAPI:
    web = FastAPI(title="Dalel", version=__version__, docs_url=None, redoc_url=None,
                  description="Search, transcripts and evidence clips of the Dalel archive.")
    web.state.config = config
    web.state.templates = {code: Jinja2Templates(env=environment(code)) for code in i18n.LOCALES}
    web.state.template_dir = TEMPLATES
    token = config.web.token
    cluster = config.cluster
    media_origin = None
    if cluster.archive_url:   # the player follows a redirect to a presigned S3 URL
        parts = urlsplit(cluster.s3_endpoint_url) if cluster.s3_endpoint_url else None
        media_origin = f"{parts.scheme}://{parts.netloc}" if parts else "https://*.amazonaws.com"
    policy = security.csp(media_origin)
    hosts = security.LOOPBACK_NAMES | {h.lower() for h in config.web.allowed_hosts} | {config.web.host.lower()}

    @web.middleware("http")
    async def guard(request: Request, call_next):
        if security.host_name(request.headers.get("host", "")) not in hosts:
            return security.refused(request, token, frozenset(hosts))
        request.state.locale = i18n.choose(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
        who = accounts.identify(request)
        request.state.who = who
        if who.users:
            answer = accounts.refused_without_login(request, who)
        else:
            answer = security.refused(request, token, frozenset(hosts))
        if answer is not None:
            return answer
        response = await call_next(request)
        security.harden(response, token, policy)
        return response

    web.include_router(accounts.router)
    web.include_router(pages.router)
    web.include_router(api.router)
    return web


def serve(config: Config, host: str, port: int) -> None:
    import socket

    import uvicorn
    import store
    with store.Store(config.store_target) as s:      # users guard every address as a token does
        guarded = config.web.token or ("users" if s.users.any() else "")
    check_bind(host, guarded)
    try:   # an operator's mistake is one line, not a server log that ends in exit 3
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise DalelError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another "
                         "--port or stop what uses it") from exc
    app = create_app(config)
    freeze_startup_objects()
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


def freeze_startup_objects() -> None:
    """Put every object made so far (modules, templates, the app) beyond the garbage collector:
    a search keeps thousands of words alive while it reads them, which sets off full collections
    that would otherwise scan the whole program each time — at 10M segments this alone took a
    rare word's p95 from 54 to 41 ms, a rare phrase's from 68 to 44 (bench/cluster.py sets its
    searching process up the same way)."""
    gc.collect()
    gc.freeze()
