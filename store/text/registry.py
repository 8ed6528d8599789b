"""The languages Dalel analyses: one entry each, in one place.

Config validation (`languages`, `subtitle_langs`, per-language models), the CLI's
`--lang` choices, the languages Whisper may pick from and the analysers all read this
table. Adding a language is one module beside `ru.py` and `kk.py` that defines its
`LANGUAGE`, plus its line here (and `ANALYSER_VERSION` bumped, so indexes are rebuilt).
"""
from __future__ import annotations

from . import kk, ru
from .base import Language

REGISTRY: dict[str, Language] = {lang.code: lang for lang in (kk.LANGUAGE, ru.LANGUAGE)}
LANGUAGES: tuple[str, ...] = tuple(REGISTRY)
# Text whose language nothing decides (no letters of its own, no dictionary votes).
DEFAULT = "ru"


def language(code: str) -> Language:
    """The entry for `code`; KeyError names the languages there are."""
    try:
        return REGISTRY[code]
    except KeyError:
        raise KeyError(f"unknown language {code!r}: one of {', '.join(LANGUAGES)}") from None
