"""What every front end (CLI, web, reports) does the same way around a search: read the
user's filters into `SearchOptions` (dates checked, empty fields as none), and cut a
hit's sentence at its match spans for highlighting."""
from __future__ import annotations

from typing import Iterable

from markupsafe import Markup, escape

import store

__all__ = ["check_dates", "html_marked", "options", "pieces"]


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


def html_marked(text: str, spans: Iterable[tuple[int, int]]) -> Markup:
    """The text, escaped, with each match in <mark>."""
    return Markup("").join(Markup("<mark>") + escape(p) + Markup("</mark>") if m else escape(p)
                           for p, m in pieces(text, spans))
