"""Text analysis: languages, word forms, spellings — linguistics, no database.

`registry.py` lists the languages (one `Language` entry each: `ru.py`, `kk.py`);
`analysis.py` gives every word its indexed form; `families.py` widens a Russian lemma to
its word family; `fuzzy.py` folds the spellings recognition confuses; `translit.py` reads
Latin spellings as Cyrillic. Nothing here imports the rest of `store`.
"""
from __future__ import annotations

from .analysis import (ANALYSER_VERSION, BOUNDARY, BRIDGE, WORD_RE, Token, analyse, guess_lang,
                       index_terms, index_text, stem, word_lang)
from .base import Language, normalise, words
from .families import family
from .fuzzy import fold
from .registry import DEFAULT, LANGUAGES, REGISTRY, language

__all__ = ["ANALYSER_VERSION", "BOUNDARY", "BRIDGE", "DEFAULT", "LANGUAGES", "REGISTRY", "WORD_RE",
           "Language", "Token", "analyse", "family", "fold", "guess_lang", "index_terms",
           "index_text", "language", "normalise", "stem", "word_lang", "words"]
