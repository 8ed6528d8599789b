"""Russian: lemmas from pymorphy3's dictionary, and Russian's usual romanisations.

Russian words are reduced to their lemma (Snowball conflates too little and too much:
призыв→"приз", перемены→"перем" but переменам→"перемен"); a word the dictionary does not
know is most often a surname, reduced to its nominative.
"""
from __future__ import annotations

from functools import lru_cache

from .base import Language
from .translit import Scheme


@lru_cache(maxsize=1)
def morph():
    import pymorphy3  # loads its dictionaries (~0.3 s): only when Russian text is analysed

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def known(w: str) -> bool:
    """Whether Russian's dictionary lists the (normalised) word."""
    return len(w) > 3 and morph().word_is_known(w)


def lemma_if_known(w: str) -> str | None:
    """The lemma of a word Russian's dictionary knows, else None."""
    return lemma(w) if known(w) else None


def lemma(w: str) -> str:
    parses = morph().parse(w)
    if not known(w):
        # An unknown word is most often a name: Токаева, Аблязову are forms of a surname.
        # Its nominative goes through the dictionary too, so that both meet wherever the
        # dictionary reads the nominative as another word (Токаев: genitive plural of токай).
        surname = [p for p in parses if "Surn" in p.tag]
        if surname and known(nominative := surname[0].normal_form):
            return morph().parse(nominative)[0].normal_form.replace("ё", "е")
        parses = surname or parses
    return parses[0].normal_form.replace("ё", "е")


def stem(w: str) -> str:
    """The indexed form: the lemma of a Cyrillic word; anything else as written."""
    return lemma(w) if any("а" <= ch <= "я" for ch in w) else w


LATIN = Scheme(
    pairs=(("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"),
           ("sh", "ш"), ("ya", "я"), ("ja", "я"), ("yu", "ю"), ("ju", "ю"), ("yo", "е"),
           ("ye", "е"), ("je", "е"), ("ia", "я"), ("iu", "ю")),
    singles={"a": "а", "b": "б", "c": "к", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х",
             "i": "и", "j": "й", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п",
             "q": "к", "r": "р", "s": "с", "t": "т", "u": "у", "v": "в", "w": "в", "x": "кс",
             "y": "ы", "z": "з"},
    final_y_is_short_i=True,
)

LANGUAGE = Language(
    code="ru", name="Russian", letters="абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    own_letters="", latin_letters="", known=known, stem=stem, latin=LATIN,
)
