"""How times, links and transcripts are written out (text, SRT, WebVTT, JSON)."""
from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pysubs2


def hms(seconds: float) -> str:
    """123.4 → "0:02:03"."""
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def parse_time(value: str) -> float:
    """"123.5", "2:03" or "0:02:03.5" → seconds."""
    parts = value.strip().split(":")
    try:
        if len(parts) > 3 or any(p == "" for p in parts):
            raise ValueError
        seconds = 0.0
        for p in parts:
            seconds = seconds * 60 + float(p)
    except ValueError:
        raise ValueError(f"{value!r} is not a time; write seconds (123.5) or h:mm:ss (0:02:03)") from None
    if not math.isfinite(seconds) or seconds > 1e7:
        raise ValueError(f"{value!r} is not a time in a recording; write seconds (123.5) or h:mm:ss")
    if seconds < 0:
        raise ValueError(f"{value!r} is negative")
    return seconds


def _stamp(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms % 3_600_000 // 60_000:02d}:{ms % 60_000 // 1000:02d}{sep}{ms % 1000:03d}"


def shown_url(url: str | None) -> str | None:
    """A URL as shown to people: credentials in it (https://user:pass@host/…) replaced by ***."""
    if not url or "@" not in url:
        return url
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url
    host = parts.hostname or ""
    netloc = "***@" + (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def link_at(url: str, seconds: float) -> str:
    """A link that opens the original at that second (YouTube: &t=123s; others: #t=123)."""
    t = max(0, int(seconds))
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.endswith("youtube.com") or host == "youtu.be":
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "t"] + [("t", f"{t}s")]
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(fragment=f"t={t}"))


def transcript_text(t: dict[str, Any]) -> str:
    return "".join(f"[{hms(s['start'])}] {s['text']}\n" for s in t["segments"])


def transcript_srt(t: dict[str, Any]) -> str:
    return "\n".join(f"{i}\n{_stamp(s['start'], ',')} --> {_stamp(s['end'], ',')}\n{s['text']}\n"
                     for i, s in enumerate(t["segments"], start=1))


def transcript_vtt(t: dict[str, Any]) -> str:
    body = "\n".join(f"{_stamp(s['start'], '.')} --> {_stamp(s['end'], '.')}\n{s['text']}\n"
                     for s in t["segments"])
    return "WEBVTT\n\n" + body


def transcript_json(t: dict[str, Any], video_id: str) -> str:
    out = {k: t[k] for k in ("source", "model", "language", "language_probability",
                             "audio_seconds", "created_at", "settings")}
    out["video_id"] = video_id
    out["coverage"] = (t.get("settings") or {}).get("coverage")
    out["segments"] = [{k: s[k] for k in ("start", "end", "text", "lang", "lang_probability",
                                          "probability", "words")}
                       for s in t["segments"]]
    return json.dumps(out, ensure_ascii=False, indent=2)


def coverage_line(cov: dict | None) -> str:
    """"speech 4 m 21 s, 99.6% covered by words; 2 gaps re-decoded; 0 s left without words"."""
    if not cov:
        return "coverage not measured (transcribed by an earlier version)"
    m, s = divmod(int(round(cov["speech_s"])), 60)
    line = (f"speech {m} m {s} s, {cov['covered_share'] * 100:.1f}% covered by words; "
            f"{cov['redecoded']} gap(s) re-decoded; {cov['uncovered_s']:g} s left without words")
    if cov.get("undecodable_s"):
        line += f"; {cov['undecodable_s']:g} s of audio could not be decoded (damaged or missing), so not heard"
    return line


def hit_json(hit) -> dict[str, Any]:
    """A search hit as `dalel search --json` and the web API print it."""
    return {"video_id": hit.video_id, "title": hit.title, "channel": hit.channel,
            "start": hit.start, "end": hit.end, "text": hit.text, "lang": hit.lang,
            "url": link_at(hit.url, hit.start), "score": hit.score, "source": hit.source,
            "approximate": hit.approximate, "removed": hit.removed, "matches": list(hit.matches),
            "context_before": hit.context_before, "context_after": hit.context_after,
            "published": hit.published, "sources": list(hit.sources)}


def results_json(results) -> dict[str, Any]:
    """A search's results as `dalel search --json` and `/api/search` print them."""
    return {"query": results.query, "total": results.total, "total_exact": results.total_exact,
            "total_capped": results.total_capped,
            "exact_total": results.exact_total, "possible_total": results.possible_total,
            "videos": [{"video_id": k, "hits": v} for k, v in results.videos.items()],
            "forms": results.forms, "facets": results.facets, "histogram": results.histogram,
            "hits": [hit_json(h) for h in results.hits]}


FORMATTERS = {"txt": transcript_text, "srt": transcript_srt, "vtt": transcript_vtt}


_TAG = re.compile(r"<[^<>]{0,200}>")


def parse_subtitles(text: str) -> list[tuple[float, float, str]]:
    """SRT, WebVTT (or another format pysubs2 reads: ASS, MicroDVD …) cues → (start, end,
    text); text in no subtitle format → one untimed segment per line.

    Auto-captions repeat the previous line in each cue (roll-up); repeats are dropped. A cue
    that ends before it starts, or at a negative time, is refused (ValueError).
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    try:
        subs = pysubs2.SSAFile.from_string(text)
    except (pysubs2.exceptions.FormatAutodetectionError, pysubs2.exceptions.UnknownFPSError):
        return [(0.0, 0.0, line.strip()) for line in text.split("\n") if line.strip()]
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"not a subtitle file pysubs2 can read: {exc}") from exc
    cues, seen_last = [], ""
    for event in subs:
        if event.is_comment:
            continue
        if event.end < event.start or event.start < 0:
            raise ValueError(f"the cue at {pysubs2.time.ms_to_str(event.start, fractions=True)} "
                             f"({event.plaintext.strip()[:40]!r}) ends before it starts")
        body = [b for b in (_TAG.sub("", line).strip() for line in event.plaintext.split("\n"))
                if b and b != seen_last]
        if body:
            cues.append((event.start / 1000, event.end / 1000, " ".join(body)))
            seen_last = body[-1]
    return cues
