"""The Jinja2 environments of the web pages and the reports, one per language: autoescaped,
with gettext (`_`, `ngettext`, `{% trans %}`) from `i18n`'s catalogues and the filters both use
(h:mm:ss times, dates in the language, marked matches, links to the second)."""
from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from store.text import LANGUAGES, language

from . import i18n
from .formats import hms, link_at
from .searching import html_marked

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=None)
def environment(code: str = i18n.DEFAULT) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(i18n.translations(code), newstyle=True)  # type: ignore[attr-defined]
    env.filters["hms"] = hms
    env.filters["day"] = partial(i18n.day, code=code)
    env.filters["moment"] = partial(i18n.moment, code=code)
    env.filters["marked"] = lambda hit: html_marked(hit["text"], [tuple(s) for s in hit["spans"]])
    env.globals["link_at"] = link_at
    env.globals["locale"] = code
    env.globals["locales"] = i18n.LOCALES
    env.globals["language_names"] = {code: language(code).name for code in LANGUAGES}
    return env


def render(name: str, code: str = i18n.DEFAULT, **ctx) -> str:
    return environment(code).get_template(name).render(**ctx)
