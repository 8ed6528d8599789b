"""Latin spellings to Cyrillic, so both scripts find each other.

Kazakh is written in Cyrillic and, officially since 2021, in a Latin alphabet
(ä ğ ı ñ ö q ş ū ü); Russian names reach transcripts and queries transliterated
in several ways (Аблязов / Ablyazov / Abliazov). A Latin word is converted to
Cyrillic before analysis, by its language's conventions (a `Scheme` each language of
the registry defines), so it meets the Cyrillic spelling under one indexed form.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_LATIN = re.compile(r"^[a-zäçğıñöşūüəıİ'’]+$")
_VOWELS = set("aeiouy")


@dataclass(frozen=True)
class Scheme:
    """One language's romanisation read backwards: letter groups first, then letters."""

    pairs: tuple[tuple[str, str], ...]
    singles: dict[str, str]
    final_y_is_short_i: bool = False     # Russian: Nazarbay, Kosygiy (-ay, -iy, final y → й)


def is_latin(word: str) -> bool:
    return bool(_LATIN.match(word))


def convert(word: str, scheme: Scheme) -> str:
    """A lowercase Latin word in Cyrillic by `scheme`."""
    w = word.replace("'", "").replace("’", "")
    out, i = [], 0
    while i < len(w):
        for latin, cyr in scheme.pairs:
            # "ia"/"iu" are я/ю only after a consonant (Abliazov), not in "Mariam" → Мариам
            if w.startswith(latin, i) and not (latin[0] == "i" and (i == 0 or w[i - 1] in _VOWELS)):
                out.append(cyr)
                i += len(latin)
                break
        else:
            ch = w[i]
            if (scheme.final_y_is_short_i and ch == "y"
                    and (i == len(w) - 1 or (i > 0 and w[i - 1] in _VOWELS))):
                out.append("й")
            else:
                out.append(scheme.singles.get(ch, ch))
            i += 1
    return "".join(out)
