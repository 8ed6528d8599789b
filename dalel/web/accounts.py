"""Users of the web app: who a request is (a session cookie signed with a secret kept in the
database, a user's API token, or the single `[web] token` of scripts), the login page with its
throttle, and the roles pages ask for. Once any user exists, every page and API call needs a
login or a token, on any address."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

import store

from .. import i18n
from .common import is_admin, page
from .security import authorized, check_csrf, local_target

SESSION_COOKIE = "dalel_session"
SESSION_S = 12 * 3600
MAX_FAILURES, FAILURE_WINDOW_S = 5, 60.0
router = APIRouter(include_in_schema=False)
_failures: dict[str, deque] = defaultdict(deque)


@dataclass(frozen=True)
class Who:
    user: store.User | None      # a signed-in user, or the owner of the API token sent
    token: bool                  # the single [web] token of scripts was sent
    users: bool                  # any user exists: authentication is required


def _secret(s: store.Store) -> bytes:
    value = s.meta("web_session_secret")
    if value is None:
        s.set_meta("web_session_secret", secrets.token_hex(32))
        value = s.meta("web_session_secret")
    return bytes.fromhex(value or "")


def _sign(secret: bytes, body: str) -> str:
    return hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()


def session_for(s: store.Store, user: store.User) -> str:
    """A signed session value: the user's id, its expiry, and what binds it to this user as
    they are now (`Users.session_key`); a new value at every sign-in."""
    body = f"{user.id}.{int(time.time()) + SESSION_S}.{s.users.session_key(user.id)}"
    return f"{body}.{_sign(_secret(s), body)}"


def _session_user(s: store.Store, value: str) -> store.User | None:
    parts = value.split(".")
    if len(parts) != 4 or not all(p.isalnum() for p in parts) or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_sign(_secret(s), body), parts[3]) or int(parts[1]) < time.time():
        return None
    key = s.users.session_key(int(parts[0]))
    if key is None or not hmac.compare_digest(key, parts[2]):
        return None
    return s.users.by_id(int(parts[0]))


def identify(request: Request) -> Who:
    config = request.app.state.config
    token = config.web.token
    with store.Store(config.store_target) as s:
        users = s.users.any()
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        user = s.users.by_token(bearer) if users and bearer else None
        if user is None and users and (cookie := request.cookies.get(SESSION_COOKIE)):
            user = _session_user(s, cookie)
    return Who(user, bool(token) and authorized(request, token), users)


def refused_without_login(request: Request, who: Who) -> Response | None:
    """With users, an anonymous request gets the login page (pages) or a 401 (API)."""
    if not who.users or who.user is not None or who.token:
        return None
    path = request.url.path
    if path in ("/login", "/healthz") or path.startswith(("/static/", "/lang/")):
        return None
    if path.startswith("/api/") or path in ("/metrics", "/openapi.json"):
        return JSONResponse({"error": "authentication required: sign in, or send 'Authorization: Bearer "
                             "TOKEN' (`dalel user token NAME`)"}, 401)
    target = path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), 303)


def require_admin(request: Request) -> None:
    """Admins only (channels, settings, users) once users exist; the [web] token counts as admin."""
    if not is_admin(request):
        raise HTTPException(403, "this needs an admin")


def _throttled(client: str) -> bool:
    now, tries = time.monotonic(), _failures[client]
    while tries and now - tries[0] > FAILURE_WINDOW_S:
        tries.popleft()
    return len(tries) >= MAX_FAILURES


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/", error: str = "") -> HTMLResponse:
    return page(request, "login.html", next=next, error=error or None)


@router.post("/login")
def login(request: Request, csrf: str = Form(""), name: str = Form(""), password: str = Form(""),
          next: str = Form("/")) -> Response:
    check_csrf(request, csrf, "")
    client = request.client.host if request.client else "?"
    if _throttled(client):
        return JSONResponse({"error": "too many failed sign-ins: wait a minute"}, 429)
    with store.Store(request.app.state.config.store_target) as s:
        user = s.users.check_password(name, password)
        if user is None:
            _failures[client].append(time.monotonic())
            s.users.audit(name[:64] or "?", "login failed", client)
            return RedirectResponse("/login?" + urlencode({"next": next, "error": "wrong"}), 303)
        s.users.audit(user.name, "login", client)
        session = session_for(s, user)
    resp = RedirectResponse(local_target(next), 303)
    # a new session value at every sign-in: whatever cookie was there before (fixation) is replaced
    resp.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", max_age=SESSION_S)
    return resp


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request) -> HTMLResponse:
    """Admins only: the accounts with their roles, and the audit log (who did what, when)."""
    require_admin(request)
    with store.Store(request.app.state.config.store_target) as s:
        return page(request, "users.html", users=s.users.all(), audit=s.users.audit_log(limit=300))


@router.get("/lang/{code}")
def choose_language(code: str, next: str = "/") -> Response:
    """The language switcher: remembered in a cookie for a year, then back to the page."""
    if code not in i18n.LOCALES:
        raise HTTPException(404, f"no interface in {code!r}: use one of {', '.join(i18n.LOCALES)}")
    resp = RedirectResponse(local_target(next), 303)
    resp.set_cookie(i18n.COOKIE, code, max_age=365 * 86400, samesite="lax")
    return resp


@router.post("/logout")
def logout(request: Request, csrf: str = Form("")) -> Response:
    check_csrf(request, csrf, "")
    resp = RedirectResponse("/login", 303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp
