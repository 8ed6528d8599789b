"""Text analysis: the one place that decides which form a word is indexed under.

Index and query go through the same functions, so a word form matches when both
reduce to the same stem. Russian words are reduced to their lemma with pymorphy3
(Snowball conflates too little and too much: призыв→"приз", перемены→"перем" but
переменам→"перемен"); Kazakh uses the suffix stripper in
`kazakh.py`; text of unknown language is analysed as Russian unless it contains
letters only Kazakh uses.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .kazakh import is_kazakh_word, stem_kk
from .translit import is_latin, to_cyrillic

# Same split as FTS5's unicode61 tokenizer: runs of letters and digits.
WORD_RE = re.compile(r"[^\W_]+")
_KAZAKH_ONLY = set("әғқңөұүһі")
LANGUAGES = ("kk", "ru")
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


def normalise(text: str) -> str:
    """NFC, lowercase, ё→е: the forms Whisper and people write interchangeably."""
    return unicodedata.normalize("NFC", text).lower().replace("ё", "е")


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


def guess_lang(text: str) -> str:
    """The language of a text with none given (a title, an imported transcript): Kazakh if it
    has letters only Kazakh uses, or more words that only the Kazakh lexicon explains than
    words that only Russian's dictionary knows ("Жиналыс болды"); else Russian."""
    low = normalise(text)
    if any(ch in _KAZAKH_ONLY for ch in low):
        return "kk"
    votes = 0
    for w in words(low):
        if is_latin(w) or w.isdigit():
            continue
        kazakh, russian = is_kazakh_word(w), _russian_known(w)
        votes += (kazakh and not russian) - (russian and not kazakh)
    return "kk" if votes > 0 else "ru"


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3  # loads its dictionaries (~0.3 s): only when Russian text is analysed

    return pymorphy3.MorphAnalyzer()


def word_lang(word: str, lang: str) -> str:
    """The analyser for one word of a segment in `lang`: speakers switch mid-sentence.

    A word with letters only Kazakh uses is Kazakh; in Kazakh speech, a word Russian's
    dictionary knows is Russian unless it is a Kazakh word too (болды, адам, саны are in
    both dictionaries' reach; they are Kazakh here).
    """
    w = normalise(word)
    if any(ch in _KAZAKH_ONLY for ch in w):
        return "kk"
    if lang == "kk" and not is_latin(w) and _russian_known(w) and not is_kazakh_word(w):
        return "ru"
    return lang


@lru_cache(maxsize=200_000)
def _russian_known(w: str) -> bool:
    return len(w) > 3 and _morph().word_is_known(w)


def russian_lemma(w: str) -> str | None:
    """The lemma of a word Russian's dictionary knows, else None."""
    return _lemma_ru(w) if _russian_known(w) else None


def _lemma_ru(w: str) -> str:
    parses = _morph().parse(w)
    if not _russian_known(w):
        # An unknown word is most often a name: Токаева, Аблязову are forms of a surname.
        # Its nominative goes through the dictionary too, so that both meet wherever the
        # dictionary reads the nominative as another word (Токаев: genitive plural of токай).
        surname = [p for p in parses if "Surn" in p.tag]
        if surname and _russian_known(nominative := surname[0].normal_form):
            return _morph().parse(nominative)[0].normal_form.replace("ё", "е")
        parses = surname or parses
    return parses[0].normal_form.replace("ё", "е")


@lru_cache(maxsize=200_000)
def stem(word: str, lang: str) -> str:
    """The indexed form of one word (already split by `words`)."""
    w = normalise(word)
    if is_latin(w):
        w = to_cyrillic(w, lang)
    if lang == "kk":
        return stem_kk(w)
    if lang == "ru" and any("а" <= ch <= "я" for ch in w):
        return _lemma_ru(w)
    return w


def analyse(text: str, lang: str | None = None) -> list[Token]:
    """Split `text` into words and give each its indexed form."""
    lang = lang if lang in LANGUAGES else guess_lang(text)
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
