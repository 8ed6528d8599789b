"""A Kazakh stemmer: inflectional suffixes stripped from the end, slot by slot.

Kazakh is agglutinative: a root takes suffixes in a fixed order —
root · (verb: negation · tense/participle/converb) · plural · possessive · case · person —
each in variants chosen by vowel harmony and the stem's last sound
(билік·тің, топ·тар·ға, жина·ған). No Snowball stemmer exists and kazstem has no
data here, so this strips each slot at most once, from the outside in.

Derivational suffixes (-лық, -шы, -ым as in білім) are kept: they make new words,
and a search for "біл" (know) should not find "білім" (knowledge). Single-vowel
suffixes are only stripped where the grammar leaves no doubt (the possessive ы/і
before the pronominal н, the infinitive у), since many roots end in a vowel
(қала, бала). Measured with bench/analyser_quality.py.
"""
from __future__ import annotations

_VOWELS = frozenset("аәеиоөұүыіэюяё")
_MIN_STEM = 2


def _variants(*groups: str) -> tuple[str, ...]:
    return tuple(sorted({v for g in groups for v in g.split()}, key=len, reverse=True))


PERSON = _variants("мын мін бын бін пын пін сың сің сыз сіз мыз міз быз біз пыз піз",
                   "сыңдар сіңдер сыздар сіздер")
CASE = _variants(
    "ның нің дың дің тың тің",                  # genitive
    "ға ге қа ке на не",                        # dative (на/не after a possessive)
    "ны ні ды ді ты ті",                        # accusative
    "да де та те нда нде",                      # locative
    "дағы дегі тағы тегі ндағы ндегі",          # locative + -ғы
    "дан ден тан тен нан нен",                  # ablative
    "мен бен пен менен бенен пенен",            # instrumental
    "дай дей тай тей")                          # equative
POSSESSIVE = _variants("сы сі ымыз іміз ыңыз іңіз ңыз ңіз ың ің")
PLURAL = _variants("лар лер дар дер тар тер")
# Verbal nouns and participles: they take plural, possessive and case endings.
VERBAL_NOUN = _variants(
    "ған ген қан кен ғанша генше",              # past participle
    "атын етін йтын йтін итын итін",            # present participle
    "у")                                        # infinitive (шақыр·у, қама·у)
VERB = _variants(
    "ады еді йды йді иды иді",                  # present, 3rd person
    "ды ді ты ті",                              # past
    "ып іп",                                    # converb after a consonant
    "мақ мек бақ бек пақ пек",                  # intention
    "са се",                                    # conditional
    "май мей бай бей пай пей") + VERBAL_NOUN     # negative converb (бол·май)
NEGATION = _variants("ма ме ба бе па пе")


def _ok(stem: str) -> bool:
    return len(stem) >= _MIN_STEM and any(ch in _VOWELS for ch in stem)


def _negation(w: str) -> str:
    stem, suf = _strip(w, NEGATION)
    return stem if suf and stem[-1] not in _VOWELS else w


def _strip(word: str, suffixes: tuple[str, ...]) -> tuple[str, str]:
    """(stem, suffix) for the longest suffix that leaves a valid stem; suffix '' if none."""
    for suf in suffixes:
        if word.endswith(suf) and _ok(word[: -len(suf)]) and _fits(word[: -len(suf)], suf):
            return word[: -len(suf)], suf
    return word, ""


_VOICELESS = frozenset("пткқсшфхцчщ")
_NASAL = frozenset("мнң")
_SONORANT = frozenset("ру") | {"й"}


def _sound(ch: str) -> str:
    if ch in _VOWELS:
        return "vowel"
    if ch in _VOICELESS:
        return "voiceless"
    if ch in _NASAL:
        return "nasal"
    if ch in _SONORANT:
        return "sonorant"
    return "voiced"


# What the stem must end with for a suffix variant (Kazakh assimilation rules): the
# variant is chosen by the stem's last sound, so a variant after the wrong sound means
# the letters belong to the root (e.g. "жиналыс·ы", not "жиналы·сы").
_ANY_VOICED = {"vowel", "nasal", "sonorant", "voiced"}
_AFTER: dict[str, set[str]] = {}
for _group, _sounds in (
    ("ның нің", {"vowel", "nasal"}), ("дың дің", {"sonorant", "voiced"}),
    ("тың тің ты ті та те тан тен тар тер қа ке қан кен пен", {"voiceless"}),
    ("ны ні сы сі ңыз ңіз", {"vowel"}),
    ("ды ді да де ға ге ған ген", _ANY_VOICED),
    ("дан ден", {"vowel", "sonorant", "voiced"}), ("нан нен", {"nasal", "poss"}),
    ("на не нда нде ндағы ндегі", {"poss"}),
    ("лар лер", {"vowel", "sonorant"}), ("дар дер", {"nasal", "voiced"}),
    ("бен", {"voiced"}),
    ("ың ің ымыз іміз ыңыз іңіз ып іп", {"nasal", "sonorant", "voiced", "voiceless"}),
):
    for _suf in _group.split():
        _AFTER[_suf] = _sounds


def _fits(stem: str, suf: str) -> bool:
    need = _AFTER.get(suf)
    if need is None or not stem:
        return True
    last = stem[-1]
    if "poss" in need and last in ("ы", "і"):
        return True
    return _sound(last) in need


def _possessive(w: str, after_n: bool) -> str:
    stem, suf = _strip(w, POSSESSIVE)
    if suf in ("сы", "сі") and stem[-1:] in ("ы", "і"):
        stem, suf = w, ""  # -ысы/-ісі: far more often a noun in -ыс/-іс (жиналыс·ы) than -ы·сы
    if suf:
        return stem
    # The bare 3rd-person ы/і: certain before the pronominal н, else only after a consonant.
    if w[-1:] in ("ы", "і") and _ok(w[:-1]) and (after_n or w[-2] not in _VOWELS):
        return w[:-1]
    return w


def _converb_p(w: str, min_len: int = _MIN_STEM + 1) -> str:
    """-п after a vowel (жаса·п), kept on short words where it is likely the root's."""
    if w.endswith("п") and w[-2:-1] in _VOWELS and len(w) >= min_len and _ok(w[:-1]):
        return w[:-1]
    return w


def stem_kk(word: str) -> str:
    """The indexed form of a lowercase Kazakh word."""
    w, person = _strip(word, PERSON)
    if person and w[-1:] in ("а", "е", "й") and _ok(w[:-1]):
        w = w[:-1]                               # present tense before a person ending
        return _negation(w)
    w, case = _strip(w, CASE)
    w = _possessive(w, case in ("на", "не", "нда", "нде", "ндағы", "ндегі", "нан", "нен"))
    w, plural = _strip(w, PLURAL)
    if case or plural or w != word:
        w, verbal = _strip(w, VERBAL_NOUN)
        return _negation(w) if verbal else w
    w, verb = _strip(w, VERB)
    if verb in ("ды", "ді", "ты", "ті") or not verb:
        w = _present(w)
    if verb in ("ды", "ді") and w[-1:] in ("а", "е") and w[-2:-1] not in _VOWELS and _ok(w[:-1]):
        w = w[:-1]                               # present tense: бол·а·ды, кел·е·ді
    if verb or w != word:
        return _negation(_converb_p(w))
    return _converb_p(w, min_len=5)


def _present(w: str) -> str:
    """The present/converb -й after a vowel (жаса·й·ды, бол·ма·й)."""
    if w.endswith("й") and w[-2:-1] in _VOWELS and _ok(w[:-1]) and len(w) >= 4:
        return w[:-1]
    return w
