"""The one Jinja2 environment of the web pages and the reports: autoescaped, with the
filters both use (h:mm:ss times, marked matches, links to the second)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .formats import hms, link_at
from .searching import html_marked

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
    env.filters["hms"] = hms
    env.filters["marked"] = lambda hit: html_marked(hit["text"], [tuple(s) for s in hit["spans"]])
    env.globals["link_at"] = link_at
    return env


def render(name: str, **ctx) -> str:
    return environment().get_template(name).render(**ctx)
