"""Every yt-dlp call of the project: downloading one video, listing a channel, resolving a handle."""
from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import Cancelled, Deferred, DownloadError, MonitorError
from .failures import permanent_message
from .feeds import web_url
from .fetch import retry_after

# yt-dlp is imported when first used (it costs ~0.2 s): searching and transcribing never need it.

log = logging.getLogger("dalel.monitor")

@dataclass(frozen=True)
class YtdlpOptions:
    format: str | None = None          # None: best single file, or best merged when ffmpeg exists
    subtitle_langs: tuple[str, ...] = ("kk", "ru")
    cookies_file: str | None = None
    proxy: str | None = None
    ffmpeg_location: str | None = None
    live: bool = False                 # record a stream that is live now (else: Deferred until it ends)
    socket_timeout: float = 30.0
    sleep_s: float = 0.0               # random sleep of sleep_s..2*sleep_s before each download
    # YouTube needs a JavaScript runtime for full format support (yt-dlp ≥ 2025.11.12);
    # the `deno` wheel ships one. "" turns it off; "node", "bun", "quickjs" use the system's.
    js_runtime: str = "deno"
    extra: dict[str, Any] = field(default_factory=dict)


def _yt():
    import yt_dlp
    return yt_dlp


def version() -> str:
    return _yt().version.__version__


def _params(opts: YtdlpOptions) -> dict[str, Any]:
    ffmpeg = opts.ffmpeg_location or shutil.which("ffmpeg")
    params: dict[str, Any] = {
        "quiet": True, "no_warnings": True, "noprogress": True, "noplaylist": True,
        "socket_timeout": opts.socket_timeout, "retries": 3, "fragment_retries": 3,
        "format": opts.format or ("bv*+ba/b" if ffmpeg else "b"),
        "logger": _Logger(),
    }
    if ffmpeg:
        params["ffmpeg_location"] = ffmpeg
    if opts.cookies_file:
        params["cookiefile"] = opts.cookies_file
    if opts.proxy:
        params["proxy"] = opts.proxy
    runtime = js_runtimes(opts.js_runtime)
    if runtime is not None:
        params["js_runtimes"] = runtime
    if opts.sleep_s > 0:
        params["sleep_interval"] = opts.sleep_s
        params["max_sleep_interval"] = opts.sleep_s * 2
    params.update(opts.extra)
    return params


def js_runtimes(name: str) -> dict[str, dict] | None:
    """yt-dlp's js_runtimes option: the bundled Deno binary, or a runtime from PATH."""
    if not name:
        return {}
    if name == "deno":
        try:
            from deno import find_deno_bin
            return {"deno": {"path": find_deno_bin()}}
        except (ImportError, FileNotFoundError, RuntimeError):
            found = shutil.which("deno")
            return {"deno": {"path": found}} if found else None
    return {name: {}}


class _Logger:
    """yt-dlp's messages go to our log instead of the terminal."""

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    info = debug

    def warning(self, msg: str) -> None:
        log.debug("yt-dlp warning: %s", msg)

    def error(self, msg: str) -> None:
        log.debug("yt-dlp error: %s", msg)


def _clean(exc: Exception) -> str:
    msg = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).removeprefix("ERROR: ").strip()
    return msg.splitlines()[0] if msg else type(exc).__name__


def download(url: str, workdir: Path, opts: YtdlpOptions, *, force_id: str | None = None,
             wanted: Callable[[dict[str, Any]], bool] | None = None,
             should_stop: Callable[[], bool] = lambda: False) -> dict[str, Any] | None:
    """Download one video with its metadata files into `workdir`; returns yt-dlp's info.

    `wanted` sees the extracted info before the download; when it says no (e.g. the
    video is archived already) nothing is downloaded and None is returned.
    """
    _check(url)
    youtube = bool(re.match(r"https?://(www\.|m\.)?(youtube\.com|youtu\.be)/", url))
    if force_id and not youtube:
        url = _yt().utils.smuggle_url(url, {"force_videoid": force_id})
    params = _params(opts) | {
        "paths": {"home": str(workdir), "temp": str(workdir)},
        "outtmpl": {"default": "%(id)s.%(ext)s"},
        "writeinfojson": True, "writethumbnail": True, "writedescription": True,
        "writesubtitles": True, "writeautomaticsub": True,
        # live_chat: the chat replay of a stream that has ended, when the platform keeps one
        "subtitleslangs": [*opts.subtitle_langs, "live_chat"], "allow_playlist_files": False,
        "ignore_no_formats_error": False, "overwrites": False, "continuedl": True,
        "progress_hooks": [_stopper(should_stop)],
        # a live stream: from its start where the platform keeps it (YouTube), else from now
        "live_from_start": opts.live and youtube,
    }
    try:
        with _yt().YoutubeDL(params) as ydl:
            info = ydl.extract_info(url, download=False)
            if info.get("_type") in ("playlist", "multi_video"):
                raise DownloadError(f"{url} is a list of videos, not one video; "
                                    "add it with `dalel channel add` instead", permanent=True)
            status = info.get("live_status")
            if status in ("is_upcoming", "post_live") or (status == "is_live" and not opts.live):
                raise Deferred(f"{info.get('id')} is {status.replace('_', ' ')}; "
                               + ("it is recorded once it starts" if status == "is_upcoming"
                                  else "it will be archived once it has ended"), live=status == "is_live")
            if wanted is not None and not wanted(info):
                return None
            return ydl.process_ie_result(info, download=True)
    except _Stop as exc:
        raise Cancelled("download stopped for shutdown; it resumes on the next start") from exc
    except _yt().utils.DownloadError as exc:
        if isinstance(exc.exc_info[1] if exc.exc_info else None, _Stop):
            raise Cancelled("download stopped for shutdown; it resumes on the next start") from exc
        msg = _clean(exc)
        raise DownloadError(msg, permanent=permanent_message(msg), retry_after=_asked_wait(exc)) from exc
    except MonitorError:
        raise
    except Exception as exc:
        raise _unexpected(exc, url) from exc


def _check(url: str) -> None:
    """Only http(s) URLs are ever handed to yt-dlp (a feed may list file:// or javascript:)."""
    if not isinstance(url, str) or not web_url(url):
        raise DownloadError(f"{str(url)[:200]!r} is not an http(s) URL; not fetched", permanent=True)


def _unexpected(exc: Exception, url: str) -> DownloadError:
    """An error yt-dlp raised outside its own DownloadError (a malformed URL, a redirect it
    cannot follow, a page it cannot parse): network trouble is transient, the rest permanent."""
    transient = isinstance(exc, (OSError, TimeoutError))
    return DownloadError(f"yt-dlp could not read {url[:200]}: {type(exc).__name__}: {_clean(exc)}",
                         permanent=not transient)


def _asked_wait(exc: Exception) -> float | None:
    """The Retry-After of the HTTP response behind a yt-dlp error (429, 503), if any."""
    info = getattr(exc, "exc_info", None)
    cause = info[1] if info else None
    response = getattr(cause, "response", None)
    headers = getattr(response, "headers", None)
    return retry_after(headers.get("Retry-After")) if headers is not None else None


class _Stop(Exception):
    pass


def _stopper(should_stop: Callable[[], bool]) -> Callable[[dict], None]:
    def hook(progress: dict) -> None:
        if should_stop():
            raise _Stop()
    return hook


def check_available(url: str, opts: YtdlpOptions) -> str | None:
    """None when the video is still available at the source; else the platform's message.

    Transient trouble (network, 429, 5xx) raises DownloadError: it says nothing about removal.
    """
    _check(url)
    try:
        with _yt().YoutubeDL(_params(opts)) as ydl:
            ydl.extract_info(url, download=False, process=False)
        return None
    except _yt().utils.DownloadError as exc:
        msg = _clean(exc)
        if permanent_message(msg):
            return msg
        raise DownloadError(msg) from exc
    except Exception as exc:
        raise _unexpected(exc, url) from exc


def iter_entries(url: str, opts: YtdlpOptions) -> Iterator[dict[str, Any]]:
    """The entries of a channel or playlist, newest first, fetched page by page as consumed."""
    _check(url)
    params = _params(opts) | {"extract_flat": "in_playlist", "noplaylist": False,
                              "lazy_playlist": True}
    try:
        with _yt().YoutubeDL(params) as ydl:
            info = ydl.extract_info(url, download=False)
            if info.get("_type") not in ("playlist", "multi_video"):
                yield info
                return
            for entry in info.get("entries") or []:
                if entry:
                    yield entry
    except _yt().utils.DownloadError as exc:
        msg = _clean(exc)
        raise DownloadError(msg, permanent=permanent_message(msg)) from exc
    except MonitorError:
        raise
    except Exception as exc:
        raise _unexpected(exc, url) from exc


def list_entries(url: str, opts: YtdlpOptions, limit: int | None = None) -> list[dict[str, Any]]:
    """The videos of a channel or playlist, newest first, without downloading."""
    params = _params(opts) | {"extract_flat": "in_playlist", "noplaylist": False}
    if limit:
        params["playlistend"] = limit
    _check(url)
    try:
        with _yt().YoutubeDL(params) as ydl:
            info = ydl.extract_info(url, download=False)
    except _yt().utils.DownloadError as exc:
        msg = _clean(exc)
        raise DownloadError(msg, permanent=permanent_message(msg)) from exc
    except Exception as exc:
        raise _unexpected(exc, url) from exc
    if info.get("_type") not in ("playlist", "multi_video"):
        return [info]
    return [e for e in (info.get("entries") or []) if e]


def resolve_channel_id(url: str, opts: YtdlpOptions) -> tuple[str, str | None]:
    """A YouTube handle or custom URL → (channel id UC…, channel name)."""
    params = _params(opts) | {"extract_flat": True, "playlistend": 1, "noplaylist": False}
    try:
        with _yt().YoutubeDL(params) as ydl:
            info = ydl.extract_info(url, download=False)
    except _yt().utils.DownloadError as exc:
        raise DownloadError(f"cannot resolve channel {url}: {_clean(exc)}") from exc
    except Exception as exc:
        raise _unexpected(exc, url) from exc
    channel_id = info.get("channel_id") or info.get("uploader_id") or info.get("id")
    if not channel_id or not str(channel_id).startswith("UC"):
        raise DownloadError(f"cannot find a channel id for {url}; use the /channel/UC… URL")
    return channel_id, info.get("channel") or info.get("uploader")
