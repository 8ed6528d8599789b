"""Latin spellings to Cyrillic, so both scripts find each other.

Kazakh is written in Cyrillic and, officially since 2021, in a Latin alphabet
(ä ğ ı ñ ö q ş ū ü); Russian names reach transcripts and queries transliterated
in several ways (Аблязов / Ablyazov / Abliazov). A Latin word is converted to
Cyrillic before analysis, by the language's conventions, so it meets the Cyrillic
spelling under one indexed form.
"""
from __future__ import annotations

import re

_LATIN = re.compile(r"^[a-zäçğıñöşūüəıİ'’]+$")

KK = {
    "a": "а", "ä": "ә", "ə": "ә", "b": "б", "c": "ц", "ç": "ч", "d": "д", "e": "е", "f": "ф",
    "g": "г", "ğ": "ғ", "h": "һ", "ı": "і", "i": "і", "j": "ж", "k": "к", "l": "л", "m": "м",
    "n": "н", "ñ": "ң", "o": "о", "ö": "ө", "p": "п", "q": "қ", "r": "р", "s": "с", "ş": "ш",
    "t": "т", "u": "у", "ū": "ұ", "ü": "ү", "v": "в", "w": "у", "x": "х", "y": "ы", "z": "з",
}  # 2021 alphabet: Y = ы, I ı = і, İ i = и/й (folded with і in indexed forms)
_KK_PAIRS = (("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("kh", "х"), ("ya", "я"), ("yu", "ю"))

_RU_PAIRS = (("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"),
             ("sh", "ш"), ("ya", "я"), ("ja", "я"), ("yu", "ю"), ("ju", "ю"), ("yo", "е"),
             ("ye", "е"), ("je", "е"), ("ia", "я"), ("iu", "ю"))
RU = {"a": "а", "b": "б", "c": "к", "d": "д", "e": "е", "f": "ф", "g": "г", "h": "х", "i": "и",
      "j": "й", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "q": "к", "r": "р",
      "s": "с", "t": "т", "u": "у", "v": "в", "w": "в", "x": "кс", "y": "ы", "z": "з"}
_VOWELS = set("aeiouy")


def is_latin(word: str) -> bool:
    return bool(_LATIN.match(word))


def to_cyrillic(word: str, lang: str) -> str:
    """A lowercase Latin word in Cyrillic, by Kazakh (2021) or Russian conventions."""
    w = word.replace("'", "").replace("’", "")
    if lang == "kk" or any(ch in "äğıñöşūüə" for ch in w):
        return _convert(w, _KK_PAIRS, KK, kazakh=True)
    return _convert(w, _RU_PAIRS, RU, kazakh=False)


def _convert(w: str, pairs, singles: dict[str, str], kazakh: bool) -> str:
    out, i = [], 0
    while i < len(w):
        for latin, cyr in pairs:
            # "ia"/"iu" are я/ю only after a consonant (Abliazov), not in "Mariam" → Мариам
            if w.startswith(latin, i) and not (latin[0] == "i" and (i == 0 or w[i - 1] in _VOWELS)):
                out.append(cyr)
                i += len(latin)
                break
        else:
            ch = w[i]
            if not kazakh and ch == "y" and (i == len(w) - 1 or (i > 0 and w[i - 1] in _VOWELS)):
                out.append("й")  # -iy, -ay, final y: й (Nazarbay, Kosygiy)
            else:
                out.append(singles.get(ch, ch))
            i += 1
    return "".join(out)
