"""Text analysis: the one place that decides which form a word is indexed under.

Index and query go through the same functions, so a word form matches when both
reduce to the same stem. Each language of the registry (`registry.py`) brings its own
stemmer: Russian lemmas from pymorphy3 (`ru.py`), the Kazakh suffix stripper and lexicon
(`kk.py`). Text of unknown language is analysed as the language whose own letters it
has, else the one whose dictionary alone knows more of its words, else Russian.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .base import WORD_RE, normalise, words
from .registry import DEFAULT, LANGUAGES, REGISTRY
from .translit import convert, is_latin

__all__ = ["ANALYSER_VERSION", "BOUNDARY", "BRIDGE", "WORD_RE", "Token", "analyse",
           "guess_lang", "index_terms", "index_text", "normalise", "stem", "word_lang", "words"]

# Bump when an indexed form changes: an index built by another version is rebuilt
# (`dalel reindex`) so that old and new words meet again.
ANALYSER_VERSION = "2026-11-28.1"
# Words on each side of a segment boundary indexed together: phrases and NEAR groups
# up to this long are found across Whisper's segment boundaries.
BRIDGE = 4
# The token a bridge row holds at the boundary itself (a Runic letter: a token to FTS5,
# never a word of a transcript or query), so a phrase can be asked to cross it:
# "захват власти" straddles as "захват ᛝ власть".
BOUNDARY = "ᛝ"


@dataclass(frozen=True)
class Token:
    word: str  # as written
    stem: str  # as indexed
    lang: str


def _by_letters(w: str) -> str | None:
    """The language whose own letters the (normalised) text has, if any."""
    for code, lang in REGISTRY.items():
        if lang.own_letters and any(ch in lang.own_letters for ch in w):
            return code
    return None


def guess_lang(text: str) -> str:
    """The language of a text with none given (a title, an imported transcript): the one
    whose own letters it has, else the one with most words that only its dictionary
    explains ("Жиналыс болды" is Kazakh), else the default (Russian)."""
    low = normalise(text)
    if code := _by_letters(low):
        return code
    votes = dict.fromkeys(LANGUAGES, 0)
    for w in words(low):
        if is_latin(w) or w.isdigit():
            continue
        knowing = [code for code, lang in REGISTRY.items() if lang.known(w)]
        if len(knowing) == 1:
            votes[knowing[0]] += 1
    best = max(LANGUAGES, key=lambda code: (votes[code], code == DEFAULT))
    return best if votes[best] > votes[DEFAULT] else DEFAULT


def word_lang(word: str, lang: str) -> str:
    """The analyser for one word of a segment in `lang`: speakers switch mid-sentence.

    A word with letters only one language uses is that language's; in Kazakh speech, a
    word Russian's dictionary knows is Russian unless it is a Kazakh word too (болды,
    адам, саны are in both dictionaries' reach; they are Kazakh here).
    """
    w = normalise(word)
    if code := _by_letters(w):
        return code
    entry = REGISTRY.get(lang)
    if entry and not is_latin(w) and not entry.known(w):
        for other in entry.mixes_with:
            if REGISTRY[other].known(w):
                return other
    return lang


def _latin_scheme(w: str, lang: str):
    for entry in REGISTRY.values():
        if entry.latin_letters and any(ch in entry.latin_letters for ch in w):
            return entry.latin
    return REGISTRY[lang].latin if lang in REGISTRY else REGISTRY[DEFAULT].latin


@lru_cache(maxsize=200_000)
def stem(word: str, lang: str) -> str:
    """The indexed form of one word (already split by `words`)."""
    w = normalise(word)
    if is_latin(w):
        w = convert(w, _latin_scheme(w, lang))
    entry = REGISTRY.get(lang)
    return entry.stem(w) if entry else w


def analyse(text: str, lang: str | None = None) -> list[Token]:
    """Split `text` into words and give each its indexed form."""
    lang = lang if lang in REGISTRY else guess_lang(text)
    out = []
    for w in words(text):
        wl = word_lang(w, lang)
        out.append(Token(w, stem(w, wl), wl))
    return out


def index_terms(text: str, lang: str | None) -> list[str]:
    """The analysed words stored in the full-text index, one stem per word, in order."""
    return [t.stem for t in analyse(text, lang)]


def index_text(text: str, lang: str | None) -> str:
    return " ".join(index_terms(text, lang))
