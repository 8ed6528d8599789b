"""Kazakh inflectional endings, generated: every chain of suffixes a stem can take.

A Kazakh suffix has several spellings, chosen by the sound it follows (билік·ті,
қала·ны, адам·ды; қала·ға, топ·қа) and by the vowels of the word (жыл·дар, жер·лер).
Rather than listing spellings by hand, each suffix is written as a rule from the
preceding letter and the word's harmony (back or front) to its spelling, and the
chains are generated in their fixed order:

    noun:  plural · possessive · case · predicative person   (топ·тар·ымыз·ға)
    verb:  negation · tense, mood or converb · person          (бар·ма·ды·қ)
           or a participle / verbal noun, then a noun's chain  (бол·ған·дық·тан)

`chains()` maps each chain's spelling to the (stem-final sound class, harmony, kind)
it may follow, so a stemmer can check a split of a word in one dictionary lookup.
Derivational suffixes (-лық, -шы, -сыз, voice) are not here: they make new words.
"""
from __future__ import annotations

from functools import lru_cache

VOWELS = frozenset("аәеиоөұүыіэюяё")
BACK = frozenset("аоұыя")
FRONT = frozenset("әеөүіэ")


def sound(ch: str) -> str:
    """The class of a stem's last letter that selects a suffix's spelling.

    V vowel · R р й у · L л · N м н ң · Z ж з · T voiceless (and б в г д ғ, as in loans)
    """
    if ch in VOWELS:
        return "V"
    if ch in "рйу":
        return "R"
    if ch == "л":
        return "L"
    if ch in "мнң":
        return "N"
    if ch in "жз":
        return "Z"
    return "T"


def harmony(word: str) -> str:
    """'b' (back), 'f' (front) or 'bf' (cannot tell: no vowel, or и/у/ю last)."""
    for ch in reversed(word):
        if ch in BACK:
            return "b"
        if ch in FRONT:
            return "f"
        if ch in VOWELS:
            return "bf"
    return "bf"


def _a(h: str) -> str:
    return "а" if h == "b" else "е"


def _y(h: str) -> str:
    return "ы" if h == "b" else "і"


def _g(prev: str, h: str) -> str:
    """ғ/г after voiced sounds, қ/к after voiceless ones."""
    if sound(prev) == "T":
        return "қ" if h == "b" else "к"
    return "ғ" if h == "b" else "г"


def _d(prev: str) -> str:
    return "т" if sound(prev) == "T" else "д"


def plural(p: str, h: str) -> str:
    c = sound(p)
    return ("л" if c in "VR" else "д" if c in "LNZ" else "т") + _a(h) + "р"


def possessives(p: str, h: str) -> list[str]:
    """1sg, 2sg, 2sg polite, 1pl, 3rd, 2pl."""
    y, a = _y(h), _a(h)
    link = "" if sound(p) == "V" else y
    third = "с" + y if sound(p) == "V" else y
    return [link + "м", link + "ң", link + "ң" + y + "з", link + "м" + y + "з", third, link + "ңд" + a + "р"]


def cases(p: str, h: str, after_third: bool = False, after_12: bool = False) -> list[str]:
    """Genitive, accusative, dative, locative, ablative, instrumental, equative, locative -ғы."""
    a, y, c = _a(h), _y(h), sound(p)
    gen = ("н" if c in "VN" else "д" if c in "RLZ" else "т") + y + "ң"
    if after_third:   # the pronominal н: қала·сы·н·да
        out = [gen, "н", "н" + a, "нд" + a, "н" + a + "н", "нд" + a + ("ғы" if h == "b" else "гі")]
    else:
        acc = ("н" if c == "V" else "т" if c == "T" else "д") + y
        dat = a if after_12 else _g(p, h) + a
        loc = _d(p) + a
        abl = ("н" if c == "N" else _d(p)) + a + "н"
        equative = _d(p) + ("ай" if h == "b" else "ей")
        out = [gen, acc, dat, loc, abl, loc + ("ғы" if h == "b" else "гі"), equative]
    m = "м" if c in "VRLN" or after_third else "б" if c == "Z" else "п"
    return out + [m + "ен", m + "енен"]


def predicative(p: str, h: str, second: bool = True) -> list[str]:
    """Person endings of the present tense and nominals: -мын, -мыз and, with `second`,
    -сың, -сыз, -сыңдар, -сыздар. On nominals the 2nd person is left out: "you are X"
    is rare, while -сыз "without" (заң·сыз "unlawful") makes a new word."""
    y, a, c = _y(h), _a(h), sound(p)
    m = "м" if c in "VRL" else "б" if c in "NZ" else "п"
    out = [m + y + "н", m + y + "з"]
    return out + ["с" + y + "ң", "с" + y + "з", "с" + y + "ңд" + a + "р", "с" + y + "зд" + a + "р"] if second else out


def nominal_chains(p: str, h: str) -> set[str]:
    """Every ending a noun (or participle) whose last letter is `p` can take, '' included."""
    out = {""}
    out.add(_g(p, h) + _y(h))           # -ғы/-гі "of": кеше·гі, ертең·гі, соң·ғы (bare: with a
    # case ending after it, тұт·қы·ны would cut тұтқын·ы)
    for pl in ("", plural(p, h)):
        end = pl[-1] if pl else p
        if pl:
            out.add(pl)
        out.update(pl + c for c in cases(end, h))
        out.update(pl + x for x in predicative(end, h, second=False))
        for ps in possessives(end, h):
            base = pl + ps
            out.add(base)
            third = ps in ("ы", "і", "сы", "сі")
            first_second = ps[-1] in "мң" and len(ps) <= 2
            out.update(base + c for c in cases(base[-1], h, third, first_second))
    return out


def verb_chains(p: str, h: str, voice: bool = True) -> set[str]:
    """Every ending a verb stem whose last letter is `p` can take (not '': the bare stem is a noun's).

    With `voice`, also after the passive (айт·ыл·ған, жаса·л·ды, бөл·ін·ді): "was said"
    is a form of "say" to someone searching for what was said."""
    a, y = _a(h), _y(h)
    out: set[str] = set()
    if voice:
        passive = "л" if sound(p) == "V" else y + "н" if p == "л" else y + "л"
        out.update(passive + x for x in verb_chains(passive[-1], h, voice=False))
    neg_m = "м" if sound(p) in "VRL" else "б" if sound(p) in "NZ" else "п"
    for neg in ("", neg_m + a):
        e = neg[-1] if neg else p
        vowel = sound(e) == "V"
        g, d = _g(e, h), _d(e)
        persons = ["", "м", "ң", "ң" + y + "з", "қ" if h == "b" else "к", "ңд" + a + "р"]
        forms = [d + y + x for x in persons]                    # past: бар·ды·қ
        forms += ["с" + a + x for x in persons]                 # conditional: бол·са·ң
        pres = "й" if vowel else a                              # present/future: кел·е·мін
        forms += [pres, pres + "д" + y] + [pres + x for x in predicative(pres, h)]
        conv = "п" if vowel else y + "п"
        forms += [conv]                                         # converb: бар·ып, жаса·п
        forms += [conv + "т" + y] + [conv + x for x in predicative("п", h)]   # evidential: жаз·ыпты, кел·іппін
        forms += [g + a + "л" + y, g + a + "нш" + a]            # -ғалы, -ғанша
        forms += ["ш" + y, "с" + y + "н", ("" if vowel else y) + "ң" + y + "з",   # imperatives
                  ("й" if vowel else a + "й") + ("ық" if h == "b" else "ік"),
                  ("й" if vowel else a + "й") + y + "н", ("й" if vowel else a) + "м" + y + "з"]
        mq = ("м" if sound(e) in "VRL" else "б" if sound(e) in "NZ" else "п") + a + ("қ" if h == "b" else "к")
        forms += [mq, mq + "ш" + y] + [mq + "ш" + y + x for x in predicative("ы", h)]  # intention
        forms += [g + y + x for x in possessives(y, h)]         # wish: бар·ғы·м, көр·гі·сі
        # participles and verbal nouns take a noun's whole chain: бол·ған·дар·дың, біл·у·і
        participles = [g + a + "н", ("йт" if vowel else a + "т") + y + "н", "р" if vowel else a + "р", "у",
                       g + a + "нд" + y + ("қ" if h == "b" else "к")]
        for part in participles:
            forms += [part + x for x in nominal_chains(part[-1], h)]
        nominalised = g + a + "нд" + y + ("ғ" if h == "b" else "г")   # -ғандығы: кел·ген·дік·і
        for ps in possessives("г", h):
            forms.append(nominalised + ps)
            if ps in ("ы", "і"):
                forms += [nominalised + ps + c for c in cases(ps, h, after_third=True)]
        out.update(neg + f for f in forms)
        if neg:   # бар·ма, бар·май, бар·ма·й·ды, бар·ма·с
            out.update((neg, neg + "й", neg + "йд" + y, neg + "с"))
    out.discard("")
    return out


@lru_cache(maxsize=1)
def chains() -> dict[str, frozenset[tuple[str, str, str]]]:
    """Each chain's spelling → the (stem-final sound class, harmony, kind) it may follow.
    Built on first use (~0.05 s), so commands that analyse no Kazakh do not pay for it."""
    table: dict[str, set[tuple[str, str, str]]] = {}
    for cls, letter in {"V": "а", "R": "р", "L": "л", "N": "н", "Z": "з", "T": "т"}.items():
        for h in "bf":
            for chain in nominal_chains(letter, h):
                table.setdefault(chain, set()).add((cls, h, "n"))
            for chain in verb_chains(letter, h):
                table.setdefault(chain, set()).add((cls, h, "v"))
    return {k: frozenset(v) for k, v in table.items()}


@lru_cache(maxsize=1)
def longest() -> int:
    return max(map(len, chains()))
