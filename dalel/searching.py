"""What every front end (CLI, web, reports) does the same way around a search: read the
user's filters into `SearchOptions` (dates checked, empty fields as none), and cut a
hit's sentence at its match spans for highlighting."""
from __future__ import annotations

from typing import Iterable

from markupsafe import Markup, escape

import store

__all__ = ["check_dates", "html_marked", "options", "pieces", "unsure_words"]


def check_dates(since: str | None, until: str | None,
                names: tuple[str, str] = ("--since", "--until")) -> None:
    """A date that does not exist is an error, never a filter that matches nothing."""
    for option, value in zip(names, (since, until)):
        if value:
            store.check_date(value, option)


def options(*, limit: int, offset: int = 0, channel: str | None = None, video: str | None = None,
            lang: str | None = None, since: str | None = None, until: str | None = None,
            lemma: bool = False, source: str | None = None, sort: str = "relevance", per: str = "month",
            date_names: tuple[str, str] = ("--since", "--until")) -> store.SearchOptions:
    """Search options from a user's filters; "" counts as not given (web forms send it)."""
    check_dates(since or None, until or None, date_names)
    return store.SearchOptions(channel=channel or None, video=video or None, lang=lang or None,
                               since=since or None, until=until or None, limit=limit,
                               offset=offset, lemma=lemma, source=source or None, sort=sort or "relevance",
                               per=per or "month")


def pieces(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[str, bool]]:
    """`text` cut at the match spans: (piece, whether it is a match), in order."""
    out, last = [], 0
    for a, b in sorted(set(spans)):
        if a < last:          # overlapping marks (two mentions touching) are one
            a = last
        if a >= b:
            continue
        out += [(text[last:a], False), (text[a:b], True)]
        last = b
    out.append((text[last:], False))
    return [(p, m) for p, m in out if p]


def html_marked(text: str, spans: Iterable[tuple[int, int]], low: Iterable[tuple[int, int]] = ()) -> Markup:
    """The text, escaped, with each match in <mark> and each word speech recognition was
    unsure of (`low`) in <span class="low">."""
    low = list(low)
    if not low:
        return Markup("").join(Markup("<mark>") + escape(p) + Markup("</mark>") if m else escape(p)
                               for p, m in pieces(text, spans))
    marks = [(a, b) for a, b in spans]
    cuts = sorted({0, len(text), *(x for a, b in marks + low for x in (a, b) if 0 <= x <= len(text))})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        piece = escape(text[a:b])
        if any(x <= a and b <= y for x, y in marks):
            piece = Markup("<mark>") + piece + Markup("</mark>")
        if any(x <= a and b <= y for x, y in low):
            piece = Markup('<span class="low" title="speech recognition was unsure of this word">') + piece \
                + Markup("</span>")
        out.append(piece)
    return Markup("").join(out)


def unsure_words(text: str, words: Iterable[dict], below: float = 0.5) -> list[tuple[int, int]]:
    """Where in a segment's text the words recognised with a probability under `below` are
    (each word found after the one before it)."""
    spans, at = [], 0
    for w in words:
        word = (w.get("word") or "").strip()
        found = text.find(word, at) if word else -1
        if found < 0:
            continue
        at = found + len(word)
        if w.get("probability") is not None and w["probability"] < below:
            spans.append((found, at))
    return spans
