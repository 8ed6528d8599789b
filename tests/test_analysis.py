import pytest

from store import analyse, index_text, normalise
from store.text.kk import stem_kk


@pytest.mark.parametrize("forms", [
    ["билік", "билікті", "биліктің", "билікке"],
    ["жиналыс", "жиналысқа", "жиналыстар", "жиналыстарға", "жиналысында"],
    ["шақыру", "шақырамыз", "шақырды", "шақыруға"],
    ["қамау", "қамауға", "қамауда"],
    ["бала", "балалар", "балаларға", "баланың"],
    ["қала", "қаланың", "қалада", "қаласында"],
    ["билік", "билігі", "билігін", "биліктегі"],          # к voiced before a vowel
    ["аумақ", "аумағы", "аумағында", "аумақтың"],
    ["халық", "халқы", "халқымыздың", "халықтың"],       # the last vowel dropped
    ["бол", "болды", "болған", "болып", "болады", "болатын", "болмайды"],
    ["тұтқын", "тұтқындар", "тұтқынға", "тұтқыны"],
    ["наразылық", "наразылыққа", "наразылығы", "наразылықтың"],
    ["жер", "жерде", "жерлер", "жерге"],
    ["айыптау", "айыптады", "айыптаған", "айыпталды"],      # the passive: "was accused"
    ["ұстау", "ұстады", "ұсталды", "ұсталған"],
])
def test_kazakh_forms_share_a_stem(forms):
    assert len({stem_kk(normalise(f)) for f in forms}) == 1, {f: stem_kk(f) for f in forms}


@pytest.mark.parametrize("a, b", [("білім", "біл"), ("қала", "қал"), ("бөлме", "бөл"), ("заңсыз", "заң"),
                                  ("жинақ", "жиналыс"), ("үшін", "үш"), ("тау", "та"), ("жер", "же"),
                                  ("тіпті", "типті"), ("маңызды", "маңыз")])
def test_kazakh_different_words_stay_apart(a, b):
    assert stem_kk(a) != stem_kk(b)


@pytest.mark.parametrize("forms", [
    ["захват", "захвату", "захвата", "захватом"],
    ["власть", "власти", "властью"],
    ["призыв", "призывы", "призывов"],
    ["насильственный", "насильственному", "насильственного"],
    ["перемены", "переменам", "перемена"],
])
def test_russian_forms_share_a_lemma(forms):
    assert len({t.stem for f in forms for t in analyse(f, "ru")}) == 1


def test_normalisation_folds_case_and_yo():
    assert normalise("ЁЛКА") == "елка"
    assert index_text("Её ЗАКЛЮЧЁННЫЕ", "ru") == index_text("ее заключенные", "ru")


def test_language_is_guessed_from_kazakh_letters():
    assert analyse("Біз билікті")[0].lang == "kk"
    assert analyse("Мы власть")[0].lang == "ru"


def test_language_is_guessed_from_words_without_kazakh_letters():
    assert [t.lang for t in analyse("Жиналыс болды")] == ["kk", "kk"]
    assert [t.stem for t in analyse("Жиналыс болды")] == [t.stem for t in analyse("Жиналыс болды", "kk")]
    assert {t.lang for t in analyse("Мы требуем свободы для заключенных")} == {"ru"}


@pytest.mark.parametrize("a, b, lang", [
    ("Аблязов", "Ablyazov", "ru"), ("Аблязова", "Abliazov", "ru"), ("Назарбаев", "Nazarbayev", "ru"),
    ("билікті", "bilikti", "kk"), ("шақырамыз", "şaqyramyz", "kk"), ("Республикасы", "Respublikasy", "kk"),
    ("жиналысқа", "jinalysqa", "kk"),
])
def test_latin_and_cyrillic_spellings_meet(a, b, lang):
    assert [t.stem for t in analyse(a, lang)] == [t.stem for t in analyse(b, lang)]


@pytest.mark.parametrize("kazakh, russian", [
    ("Назарбаевтың", "Назарбаеве"), ("Тоқаевқа", "Токаева"), ("Аблязовты", "Аблязову"),
    ("журналисті", "журналисты"), ("митингке", "митинги"),
])
def test_names_and_loans_in_kazakh_meet_the_russian_word(kazakh, russian):
    assert analyse(kazakh, "kk")[0].stem == analyse(russian, "ru")[0].stem


def test_russian_words_in_kazakh_speech_are_analysed_as_russian():
    tokens = analyse("Біз власти билікке", "kk")
    assert [(t.lang, t.stem) for t in tokens][1] == ("ru", "власть")
    assert analyse("власть", "ru")[0].stem == "власть"
