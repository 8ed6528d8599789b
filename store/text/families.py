"""Word families: a Russian noun meets its verbs, and a verb its nouns.

An analyst who searches «захват власти» expects «захватили власть» and «захватывала
власть»: the same accusation said with the verb. The index holds lemmas (захват,
захватить, захватывать), so a family is applied when a query is read: each Russian lemma
of the query also asks for the lemmas derived from it by Russian's productive patterns,
and only for those that Russian's dictionary lists as a noun or an infinitive:

    noun ↔ verb     захват ↔ захватить, захватывать;  призыв ↔ призывать, призвать
    verbal noun     захватывание ↔ захватывать;  освобождение ↔ освободить
    aspect pairs    захватить ↔ захватывать (-ить ↔ -ывать/-ивать)

Participles and verb forms need no rule: the index already holds them under their
infinitive (захвативший, захвачен → захватить). Agent nouns (захватчик "invader") and
adjectives (захватнический) are not in a family: they name another thing. A participle
used as an adjective (захватывающий фильм, "a gripping film") is a form of its verb and so
is found; a phrase or the words around it (власть) keep such senses out of a claim check.
`--lemma` turns families off. Kazakh needs no table: its stemmer already reduces verbal
nouns and participles to their verb (айыптау, айыпталған → айыпта).
"""
from __future__ import annotations

from functools import lru_cache

from .ru import morph as _morph

# Consonants alternating at a stem's end before -ение (освобо[жд]ение ↔ освобо[д]ить).
_ALTERNATIONS = {"жд": ("д",), "ж": ("г", "д", "з"), "ч": ("т", "к"), "щ": ("ст", "т"),
                 "ш": ("с", "х"), "вл": ("в",), "бл": ("б",), "пл": ("п",), "мл": ("м",)}
_SECONDARY = ("ывать", "ивать")                      # захватывать, задерживать
_SIMPLE = ("овать", "евать", "нуть", "ить", "ать", "ять", "еть")
_VERBAL_NOUN = ("ание", "яние", "ение", "тие")
_VOWELS = "аеиоуыэюяьй"
_MIN_BASE = 3
# What the patterns produce but the language means otherwise, left out on purpose (a
# prize is not a call, a vocation not a calling-up, to paw not to seize, a critic is a
# person and not the criticism, решка is the tails of a coin, задержка a delay, треба a
# church service, отставать to lag behind, not to resign).
EXCLUDED = frozenset({"приз", "призвание", "захватать", "сверзить", "народить", "нарождение",
                      "задергать", "задергивать", "видеть", "ходить", "мирить", "судить",
                      "подрать", "ударение", "критик", "решка", "задержка", "заключка", "треба",
                      "отставать", "отставание"})


def _is_lemma(word: str, pos: tuple[str, ...]) -> bool:
    m = _morph()
    if word in EXCLUDED or not m.word_is_known(word):
        return False
    return any(p.normal_form.replace("ё", "е") == word and p.tag.POS in pos for p in m.parse(word))


def _ending(word: str, endings: tuple[str, ...]) -> str | None:
    return next((e for e in endings if word.endswith(e) and len(word) - len(e) >= _MIN_BASE), None)


def _unalternated(base: str) -> set[str]:
    out = {base}
    for alt, plain in _ALTERNATIONS.items():
        if base.endswith(alt):
            out.update(base[: -len(alt)] + p for p in plain)
    return out


def _alternated(base: str) -> set[str]:
    """The base and its forms before -ение (освобод → освобожд)."""
    out = {base}
    for alt, plains in _ALTERNATIONS.items():
        out.update(base[: -len(p)] + alt for p in plains if base.endswith(p))
    return out


def _related(word: str, pos: str) -> set[str]:
    """Candidates one derivation away from a noun or an infinitive (not yet checked)."""
    out: set[str] = set()
    if pos == "INFN":
        if e := _ending(word, _SECONDARY):                   # захватывать, призывать
            base = word[: -len(e)]
            out |= {base + "ить", base + "ать", base + "еть", base + "нуть", base + e[:-3] + "ание"}
            out.add(word[:-3])                                # призыв(ать) → призыв
            if base.endswith("з") or base.endswith("с"):
                out.add(base + "вать")                        # приз(ывать) → призвать
        elif e := _ending(word, _SIMPLE):                     # захватить, арестовать
            base = word[: -len(e)]
            out |= {base + "ывать", base + "ивать"} if e in ("ить", "ать", "еть", "ять") else set()
            if e in ("овать", "евать"):                       # арест, организация, критика, блокировка
                out |= {base, base + "ование", base + "ация", base + "а", base + "овка"}
            elif base[-1] not in _VOWELS and e != "нуть":
                out.add(base)                                 # захват(ить) → захват
            if base.endswith("в") and e == "ать":
                out.add(base[:-1] + "ывать")                  # призв(ать) → призывать
            if e == "ать":
                out.add(base + "ка")                          # пыт(ать) → пытка, поддерж(ать) → поддержка
            if e == "нуть":
                out.add(base + "ать")                         # сверг(нуть) → свергать
            # consonants alternate before -ение only after -ить and -нуть (освобод·ить → освобожд·ение)
            for b in _alternated(base) if e in ("ить", "нуть") else {base}:
                out |= {b + "ение", b + "ание", b + "яние"}
    else:
        if e := _ending(word, _VERBAL_NOUN):                  # освобождение, захватывание
            stem = word[: -len(e)]
            out |= {stem + v for v in ("ить", "ать", "ять", "еть", "нуть", "ывать", "ивать")}
            if e == "ение":   # a consonant alternates only between -ить/-нуть and -ение
                out |= {b + v for b in _unalternated(stem) - {stem} for v in ("ить", "нуть")}
        elif e := _ending(word, ("ация", "ика", "ка", "а")):    # организация, критика, поддержка
            base = word[: -len(e)] + ("ик" if e == "ика" else "")
            out |= {base + "овать", base + "ировать"} if e in ("ация", "ика", "а") else set()
            if e == "ка":
                out |= {base + "ать", base + "ивать", base + "ывать", base + "ать"}
                if base.endswith("ов"):
                    out.add(base[:-2] + "овать")               # блокиров·ка → блокировать
        elif word[-1] not in _VOWELS and len(word) > _MIN_BASE:   # захват, призыв, арест
            out |= {word + "ить", word + "ывать", word + "ивать", word + "овать"}
            if word.endswith(("ыв", "ив")):
                out |= {word + "ать", word[:-2] + "вать"}     # призыв → призывать, призвать
    return out


@lru_cache(maxsize=20_000)
def family(lemma: str) -> tuple[str, ...]:
    """The lemma and the lemmas of its family, sorted; just the lemma when it is not a
    Russian noun or verb (a Kazakh stem, a name, a number)."""
    if not lemma or not all("а" <= ch <= "я" for ch in lemma):
        return (lemma,)
    pos = "INFN" if _is_lemma(lemma, ("INFN",)) else "NOUN" if _is_lemma(lemma, ("NOUN",)) else None
    if pos is None:
        return (lemma,)
    found = {lemma: pos}
    frontier = dict(found)
    for _ in range(2):   # a verb reaches its noun, the noun the verb's other aspect
        nxt: dict[str, str] = {}
        for word, p in frontier.items():
            for cand in _related(word, p) - found.keys():
                if _is_lemma(cand, ("INFN",)):
                    nxt[cand] = "INFN"
                elif _is_lemma(cand, ("NOUN",)):
                    nxt[cand] = "NOUN"
        found |= nxt
        frontier = nxt
    return tuple(sorted(found))
