"""Who may reach the web app and how: loopback by default, a token beyond it, the Host
header checked (DNS rebinding), CSRF on every POST, and paths from requests confined."""
from __future__ import annotations

import hmac
import ipaddress
from pathlib import Path

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse

from ..errors import DalelError

CSRF_COOKIE, AUTH_COOKIE = "dalel_csrf", "dalel_auth"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "media-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name in a Host header, without the port ("[::1]:8080" → "::1")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def check_bind(host: str, token: str) -> None:
    """Refuse to listen beyond this machine without authentication."""
    if not is_loopback(host) and not token:
        raise DalelError(f"refusing to listen on {host} without authentication: add a user (`dalel user "
                         "add NAME --role admin`) or set [web] token in config.toml, or use --host 127.0.0.1")


def session_value(token: str) -> str:
    """What the session cookie holds: derived from the token, never the token itself (a
    stolen cookie does not reveal the token scripts use)."""
    return hmac.new(token.encode(), b"dalel web session v1", "sha256").hexdigest()


def authorized(request: Request, token: str) -> bool:
    bearer = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    cookie = request.cookies.get(AUTH_COOKIE, "")
    try:
        return (bool(bearer) and hmac.compare_digest(bearer.encode(), token.encode())) or \
            (bool(cookie) and hmac.compare_digest(cookie.encode(), session_value(token).encode()))
    except (UnicodeEncodeError, TypeError):
        return False


def refused(request: Request, token: str, hosts: frozenset[str]):
    """The answer to a request that may not pass (None: it may): an unknown Host, no
    token, or a first visit with ?token= (answered with the session cookie)."""
    # DNS rebinding: a page on another site that resolves its name to 127.0.0.1 reaches
    # this server with its own name in Host. Only the names configured are answered.
    if host_name(request.headers.get("host", "")) not in hosts:
        return JSONResponse({"error": "this Host is not served: add it to [web] allowed_hosts"}, 400)
    if not token or request.url.path == "/healthz" or authorized(request, token):
        return None
    given = request.query_params.get("token", "")
    if given and hmac.compare_digest(given.encode(), token.encode()):
        resp = RedirectResponse(str(request.url.remove_query_params("token")), 303)
        resp.set_cookie(AUTH_COOKIE, session_value(token), httponly=True, samesite="strict")
        resp.headers["Cache-Control"] = "no-store"
        return resp
    return JSONResponse({"error": "authentication required: send 'Authorization: Bearer "
                         "TOKEN' or open any page once with ?token=TOKEN"}, 401)


def csp(media_origin: str | None = None) -> str:
    """The Content-Security-Policy; media may also come from the S3 archive's presigned URLs."""
    return CSP.replace("media-src 'self'", f"media-src 'self' {media_origin}") if media_origin else CSP


def harden(response, token: str, policy: str = CSP) -> None:
    if token:   # nothing a token opened is kept by a browser or a proxy
        response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"


def local_target(path: str) -> str:
    """Where to go back to after a sign-in or a language change: a path on this site only
    (never `//host` or `/\\host`, which browsers read as another site)."""
    ok = path.startswith("/") and not path.startswith(("//", "/\\")) and not any(c in path for c in "\r\n\t")
    return path if ok else "/"


def check_csrf(request: Request, sent: str, token: str) -> None:
    """A POST must carry the CSRF cookie's value (double submit), or a bearer token that
    authenticated it (the [web] token, or a user's: a header no other site can make a browser send)."""
    who = getattr(request.state, "who", None)
    by_bearer = request.headers.get("Authorization", "").startswith("Bearer ")
    if by_bearer and (token or (who is not None and who.user is not None)):
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(errors="replace"),
                                                         sent.encode(errors="replace")):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


def confined_new(root: Path, name: str) -> Path:
    """A new file's path inside `root` (created), for a name this app chose."""
    root.mkdir(parents=True, exist_ok=True)
    path = (root / name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise HTTPException(400, "bad name")
    return path


def confined(root: Path, relative: str) -> Path:
    """A path from a request, resolved and kept inside `root`; anything else is a 404."""
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        raise HTTPException(404, "not found")
    return path
