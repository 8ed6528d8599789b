"""What every language of the registry shares: normal forms, word splitting and the
`Language` entry that describes one language to the rest of Dalel."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Callable

from .translit import Scheme

# Same split as FTS5's unicode61 tokenizer: runs of letters and digits.
WORD_RE = re.compile(r"[^\W_]+")


def normalise(text: str) -> str:
    """NFC, lowercase, ё→е: the forms Whisper and people write interchangeably."""
    return unicodedata.normalize("NFC", text).lower().replace("ё", "е")


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


@dataclass(frozen=True)
class Language:
    """One language: everything config, the CLI, Whisper and the analysers need to know.

    `own_letters` are the Cyrillic letters only this language of the registry writes (a
    word with one of them is this language's); `latin_letters` the same for its Latin
    spelling. `known` says whether the language's dictionary or lexicon lists a word,
    `stem` gives a normalised Cyrillic word its indexed form, `latin` turns a Latin
    spelling into Cyrillic by this language's conventions. In speech of this language, a
    word that only a language of `mixes_with` knows is analysed as that language's (Kazakh
    speakers switch to Russian mid-sentence).
    """

    code: str                      # ISO 639-1, as Whisper and YouTube name it
    name: str                      # in English, for help texts
    letters: str                   # the alphabet
    own_letters: str
    latin_letters: str
    known: Callable[[str], bool] = field(compare=False)
    stem: Callable[[str], str] = field(compare=False)
    latin: Scheme = field(compare=False)
    mixes_with: tuple[str, ...] = ()
