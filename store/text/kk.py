"""The Kazakh stemmer: a word cut to the stem its paradigm shares, using a lexicon.

Kazakh is agglutinative: a stem takes suffixes in a fixed order, each spelled by
vowel harmony and the sound before it (билік·тің, топ·тар·ға, жина·ған). A word
can usually be cut in several places into a stem and a valid chain of endings
(`kk_suffixes.chains()`): адам·ды or ада·м·ды, бол·атын or болат·ын. The cut
kept is the one whose stem is a listed Kazakh word (or verb) with the largest
family of listed forms — the paradigm that best explains the word. Stems spelled
differently before a vowel are restored (аумағ·ы → аумақ, халқ·ы → халық), so a
search for the dictionary form finds them. Words the lexicon does not know (names,
loans) lose their longest valid chain of endings and meet the Russian word.

Derivational suffixes (-лық, -шы, -ым as in білім) are kept: they make new words,
and a search for "біл" (know) should not find "білім" (knowledge). The passive is an
ending like the others (айыпта·л·ды "was accused" is a form of айыпта "accuse"). Measured with
bench/analyser_quality.py; the lexicon is built by scripts/build_kk_lexicon.py.
"""
from __future__ import annotations

import gzip
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from . import ru
from .base import Language
from .kk_suffixes import VOWELS as _VOWELS, chains, harmony, longest, sound
from .translit import Scheme

# Latin i is и, і and й, and loans keep Russian и (митинг, митингке): all are written и in
# lookups and indexed forms, so spellings and languages meet.
_FOLD = str.maketrans({"і": "и", "й": "и"})
_RESTORE = {"ғ": "қ", "г": "к", "б": "п"}     # voiced before a vowel: аумақ → аумағы
# Function words indexed as written: postpositions, conjunctions and pronoun forms look
# like a stem plus an ending (үш·ін, кей·ін, он·ың) but are words of their own, and as
# written тіпті "even" stays apart from типті "typical".
CLOSED = frozenset(w.translate(_FOLD) for w in """
    үшін немесе кейін дейін шейін басқа қарай туралы бері сияқты арқылы бойынша бойы қатар
    бірге бірақ сонымен сондықтан тағы әрі ғана және мен пен бен менен пенен бенен соң гөрі
    бұрын қазір әлі енді өте тіпті мысалы яғни әсіресе қарамастан қарағанда
    ол оның оны оған онда одан онымен олар олардың оларды оларға оларда олардан олармен
    бұл бұның мұның бұны мұны бұған мұған бұнда мұнда бұдан мұнан бұлар бұлардың
    сол соның соны соған сонда содан солар осы осының осыны осыған осында осыдан осымен осылар
    менің мені маған менде біз біздің бізді бізге бізде бізден
    сен сенің сені саған сенде сенен сіз сіздің сізді сізге сізде сізден
    не неге неде неден немен кім кімнің кімге қай қайда қайдан қашан қалай неше қанша
    өзге бірдей бірден біраз
""".split())
# Personal and demonstrative pronouns decline irregularly (мен · маған, бұл · мұны): each
# form is indexed under the nominative, so a search for one finds them all.
PRONOUNS = {f.translate(_FOLD): lemma.translate(_FOLD) for lemma, forms in {
    "мен": "мен менің мені маған менде менен менімен",
    "сен": "сен сенің сені саған сенде сенен сенімен",
    "ол": "ол оның оны оған онда одан онымен",
    "біз": "біз біздің бізді бізге бізде бізден бізбен",
    "сіз": "сіз сіздің сізді сізге сізде сізден сізбен",
    "олар": "олар олардың оларды оларға оларда олардан олармен",
    "бұл": "бұл бұның мұның бұны мұны бұған мұған бұнда мұнда бұдан мұнан бұнымен мұнымен",
    "сол": "сол соның соны соған сонда содан сонымен",
    "осы": "осы осының осыны осыған осында осыдан осымен",
}.items() for f in forms.split()}
# Words that are their own stem though they look like a stem plus an ending: adjectives
# in -лы/-ды/-ты (маңыз·ды read as "the importance", белсен·ді as "became active"),
# names (Қара·ған·ды), and жаза "punishment" (also the converb "writing": in the
# archive of a human-rights group the punishment matters more). Their inflected forms meet them
# through the lexicon (белсенділер).
WORDS = frozenset(w.translate(_FOLD) for w in """
    маңызды қажетті тиісті қатысты байланысты басты атты тұрақты белгілі әйгілі түрлі әртүрлі
    көрнекті пайдалы белсенді қарағанды жаза
""".split())
# Endings rare in running text that a listed word only seems to end with: the
# converb -а (қал·а vs қала "city"), the negative imperative (бөл·ме vs бөлме "room"),
# "my"/"your" on a verb stem (біл·ім vs білім "knowledge"), the bare intention -мақ
# (ау·мақ vs аумақ "territory"), the bare participle -р (же·р vs жер "land"), "we did"
# -дық (жыл·дық vs жылдық "annual"). A listed word wins over them.
_WEAK = frozenset("""а е ма ме ба бе па пе ым ім м ың ің ң мақ мек бақ бек пақ пек р
                    дық дік тық тік""".split())
# The nouns that drop their last vowel before a vowel (a closed set: most keep it,
# тұтқын·ы, not тұтқ·ы): халық → халқы, орын → орны, ауыз → аузы.
_VOWEL_DROP = frozenset(w.translate(_FOLD) for w in """
    халық орын ауыз мұрын мойын ерін қалып әріп ғұрып қойын қарын ерік көрік құлық сиық ырық бөрік
    парық
""".split())
# Two-letter stems: the lexicon lists many two-letter strings (abbreviations, fragments),
# and a two-letter stem fits many longer words by accident (та·у, ке·ң, ба·сы), so only
# these real ones are cut to.
SHORT_STEMS = {
    "n": frozenset(w.translate(_FOLD) for w in """
        ат ас ел ой өз іш іс су ер ар ес ай аз ақ би ем үй ұл он үн ит ән өң аң үш әл ен ін із
        ми ұя әр ши бу оқ оң от ор ту ет ау ұн""".split()),
    "v": frozenset(w.translate(_FOLD) for w in """
        ал де ат аш ет ас же ту ил іш ер ес өн өт аз өл ау ұш өс үз ез ір ұр өр бу ем ор үс ұл
        жу ұт оз қу үр ағ ег өш ки ұқ""".split()),
}
_PASSIVE = frozenset(("л", "ыл", "іл", "ын", "ін"))
_CONVERB = frozenset(("а", "е", "й"))   # the converb of the present: жаз·а, көр·е, сөйле·й
_DATA = Path(__file__).with_name("data") / "kk_lexicon.tsv.gz"


@dataclass(frozen=True)
class Lexicon:
    nouns: frozenset[str]       # words (any part of speech but verbs), folded
    verbs: frozenset[str]       # verb stems, folded
    family: Counter[tuple[str, str]]   # (stem, kind) → how many listed words are it plus a valid ending

    @classmethod
    def load(cls, path: Path = _DATA) -> Lexicon:
        nouns: set[str] = set()
        verbs: set[str] = set()
        family: Counter[tuple[str, str]] = Counter()
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                stem, kinds, nouns_family, verbs_family = line.rstrip("\n").split("\t")
                key = stem.translate(_FOLD)
                if "n" in kinds:
                    nouns.add(key)
                if "v" in kinds:
                    verbs.add(key)
                family[key, "n"] += int(nouns_family)
                family[key, "v"] += int(verbs_family)
        return cls(frozenset(nouns), frozenset(verbs), family)

    def lemma(self, stem: str, kind: str, before_vowel: bool = True) -> str | None:
        """The listed form of a stem as spelled in the word, or None if it is not listed.

        Before an ending that starts with a vowel a stem may be spelled differently:
        қ к п voiced (аумағы), a noun's last vowel dropped (халқы)."""
        listed = self.verbs if kind == "v" else self.nouns
        key = stem.translate(_FOLD)
        if key in listed:
            return key
        if not before_vowel:
            return None
        if stem[-1] in _RESTORE and (k := key[:-1] + _RESTORE[stem[-1]]) in listed:
            return k
        if kind == "n" and len(stem) >= 3:
            for vowel in "ыі":   # a vowel dropped before an ending: халық → халқы, орын → орны
                if (k := (key[:-1] + vowel + key[-1]).translate(_FOLD)) in _VOWEL_DROP:
                    return k
        return None


class Split(NamedTuple):
    stem: str     # as spelled in the word
    ending: str   # a chain from chains(), possibly ''
    kind: str     # 'n' or 'v'
    lemma: str    # the listed form of the stem


def analyses(word: str, lex: Lexicon, any_kind: bool = False) -> list[Split]:
    """Every cut of `word` into a listed stem and a valid chain of endings, longest stem first.
    With `any_kind`, a listed word may take a verb's endings and a verb a noun's (the list
    holds many verbs only by their bare stem: тоқтат, not тоқтату)."""
    out, table, limit = [], chains(), longest()
    for i in range(len(word), 1, -1):
        stem, ending = word[:i], word[i:]
        if len(ending) > limit:
            break
        fits = table.get(ending)
        if not fits or (stem[-1] in "қкп" and stem[-2] in _VOWELS and ending[:1] in _VOWELS):
            continue   # қ к п after a vowel are voiced before one (жақ·ы → жағы): жақын is not жақ·ын
        cls, hs = sound(stem[-1]), harmony(stem)
        for kind in ("n", "v"):
            if len(stem) == 2 and stem.translate(_FOLD) not in SHORT_STEMS[kind]:
                continue
            if any(c == cls and h in hs and k == kind for c, h, k in fits):
                before_vowel = ending[:1] in _VOWELS
                lemma = lex.lemma(stem, kind, before_vowel) or (
                    any_kind and lex.lemma(stem, "n" if kind == "v" else "v", before_vowel))
                if lemma:
                    out.append(Split(stem, ending, kind, lemma))
    return out


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    return Lexicon.load()


@lru_cache(maxsize=100_000)
def _splits(word: str) -> tuple[Split, ...]:
    """analyses() of a word against the bundled lexicon, once per word: word routing asks
    whether Kazakh explains a word, and then stemming needs the same cuts."""
    return tuple(analyses(word, lexicon()))


def is_kazakh_word(word: str) -> bool:
    """Whether the lexicon explains a lowercase word: listed, or a listed stem with endings."""
    folded = word.translate(_FOLD)
    return folded in CLOSED or folded in PRONOUNS or folded in WORDS or bool(_splits(word))


def stem_kk(word: str) -> str:
    """The indexed form of a lowercase Kazakh word.

    Listed words are indexed under their listed stem with і and й written и (Kazakh
    Latin's i is all three); unlisted ones as `_unlisted` says."""
    folded = word.translate(_FOLD)
    if folded in PRONOUNS:
        return PRONOUNS[folded]
    if folded in CLOSED:
        return word
    if folded in WORDS or len(word) < 3:
        return folded
    splits = _splits(word) or analyses(word, lexicon(), any_kind=True)
    if not splits:
        return _unlisted(word)
    fam = lexicon().family
    if splits[0].ending == "" and all(s.ending in _WEAK for s in splits[1:]):
        # A converb (жаз·а, көр·е, айт·а) beats a rare listed word (көре, айта) when its verb's
        # family is four times larger; a common one (қала "city", сала "sector") stands.
        whole = fam[splits[0].lemma, splits[0].kind]
        verb = [s for s in splits[1:] if s.kind == "v" and s.ending in _CONVERB
                and fam[s.lemma, "v"] >= 4 * max(whole, 1)]
        return verb[0].lemma if verb else splits[0].lemma
    # A two-letter stem's family is inflated by words that only begin like it (же·р·де vs жер·де);
    # on a tie the verb wins (the list also holds bare verb stems as words: айыптал·ды).
    # On a full tie a stem as spelled beats a restored one (кеше·гі, not кешег·і → кешек).
    best = max(splits, key=lambda s: (fam[s.lemma, s.kind] * (0.5 if len(s.stem) == 2 else 1),
                                      s.kind == "v", s.lemma == s.stem.translate(_FOLD), len(s.stem)))
    listed = splits[0]
    if listed.ending == "" and fam[listed.lemma, listed.kind] >= 0.8 * fam[best.lemma, best.kind]:
        best = listed  # a near-tie goes to the listed word itself: желі "network", not жел·і
    if best.lemma in lexicon().verbs:
        # A passive the lexicon lists as a verb of its own (айыптал·ды) is a form of its verb.
        for s in splits:
            if s.kind == "v" and best.stem.startswith(s.stem) and best.stem[len(s.stem):] in _PASSIVE:
                return s.lemma
    return best.lemma


# Kazakh letters written as Russian writes them, for names and loans: Тоқаев · Токаев.
_RUSSIAN_LETTERS = str.maketrans("әғқңөұүһі", "агкноуухи")


def _unlisted(word: str) -> str:
    """A word the lexicon does not know — a name or a loan with Kazakh endings
    (Назарбаев·тың, журналист·і, митинг·ке) — loses its longest valid chain of endings
    and is written in Russian letters; where Russian's dictionary knows the stem, it is
    indexed under the Russian lemma, so it meets the same word in Russian speech."""
    shortest, table, limit = word, chains(), longest()
    for i in range(len(word), 2, -1):
        stem, ending = word[:i], word[i:]
        if len(ending) > limit:
            break
        # Loans do not keep vowel harmony (Назарбаев·тың): only the sound before counts.
        if any(c == sound(stem[-1]) for c, _, _ in table.get(ending, ())):
            as_russian = stem.translate(_RUSSIAN_LETTERS)
            if len(stem) >= 4 and (lemma := ru.lemma_if_known(as_russian)):
                return lemma
            if any(ch in _VOWELS for ch in stem):
                shortest = stem
    return shortest.translate(_RUSSIAN_LETTERS)


# The 2021 Latin alphabet: Y = ы, I ı = і, İ i = и/й (folded with і in indexed forms).
LATIN = Scheme(
    pairs=(("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("kh", "х"), ("ya", "я"), ("yu", "ю")),
    singles={"a": "а", "ä": "ә", "ə": "ә", "b": "б", "c": "ц", "ç": "ч", "d": "д", "e": "е",
             "f": "ф", "g": "г", "ğ": "ғ", "h": "һ", "ı": "і", "i": "і", "j": "ж", "k": "к",
             "l": "л", "m": "м", "n": "н", "ñ": "ң", "o": "о", "ö": "ө", "p": "п", "q": "қ",
             "r": "р", "s": "с", "ş": "ш", "t": "т", "u": "у", "ū": "ұ", "ü": "ү", "v": "в",
             "w": "у", "x": "х", "y": "ы", "z": "з"},
)

LANGUAGE = Language(
    code="kk", name="Kazakh", letters="аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя",
    own_letters="әғқңөұүһі", latin_letters="äğıñöşūüə",
    known=is_kazakh_word, stem=stem_kk, latin=LATIN, mixes_with=("ru",),
)
