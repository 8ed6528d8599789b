"""A Kazakh suffix stripper.

Kazakh is agglutinative: a root takes plural, possessive, case and verb suffixes
in a fixed order, each in several variants chosen by vowel harmony and the last
sound of the stem (билік·тің, топ·тар·ға). No Snowball stemmer exists, so this
strips the known suffixes from the end, longest first, while the stem keeps at
least one vowel and a minimum length.
"""
from __future__ import annotations

_VOWELS = set("аәеиоөұүыіэюяё")
_MIN_STEM = 3

# Outermost first: case, possessive, plural, then verb endings. Each tuple is
# one suffix slot; variants are tried longest first.
_SLOTS: tuple[tuple[str, ...], ...] = (
    # personal endings / predicative
    ("мыз", "міз", "быз", "біз", "пыз", "піз", "сыңдар", "сіңдер", "сыздар", "сіздер",
     "сың", "сің", "сыз", "сіз", "мын", "мін", "бын", "бін", "пын", "пін"),
    # case
    ("ның", "нің", "дың", "дің", "тың", "тің",
     "ға", "ге", "қа", "ке", "на", "не", "а", "е",
     "ны", "ні", "ды", "ді", "ты", "ті", "н",
     "нда", "нде", "да", "де", "та", "те",
     "нан", "нен", "дан", "ден", "тан", "тен",
     "мен", "бен", "пен", "менен", "бенен", "пенен",
     "ша", "ше", "дай", "дей", "тай", "тей"),
    # possessive
    ("ымыз", "іміз", "мыз", "міз", "ыңыз", "іңіз", "ңыз", "ңіз",
     "ың", "ің", "ң", "ым", "ім", "м", "сы", "сі", "ы", "і"),
    # plural
    ("лар", "лер", "дар", "дер", "тар", "тер"),
    # verb: tense/participle/converb/infinitive/mood (before personal endings)
    ("ған", "ген", "қан", "кен", "атын", "етін", "йтын", "йтін",
     "амыз", "еміз", "аймыз", "ейміз", "айды", "ейді", "ады", "еді", "ды", "ді", "ты", "ті",
     "ып", "іп", "п", "у", "уға", "уге",
     "са", "се", "ғы", "гі", "қы", "кі", "ар", "ер", "р", "мақ", "мек", "бақ", "бек", "пақ", "пек"),
)
# Flattened, longest first, so "ларға" is tried as a whole sequence of slots.
_ALL = sorted({s for slot in _SLOTS for s in slot}, key=len, reverse=True)


def _has_vowel(s: str) -> bool:
    return any(ch in _VOWELS for ch in s)


def stem_kk(word: str) -> str:
    """Strip suffixes from a lowercase Kazakh word until none applies."""
    w = word
    changed = True
    while changed:
        changed = False
        for suf in _ALL:
            if w.endswith(suf) and len(w) - len(suf) >= _MIN_STEM and _has_vowel(w[: -len(suf)]):
                w = w[: -len(suf)]
                changed = True
                break
    return w
