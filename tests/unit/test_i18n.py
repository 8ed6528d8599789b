"""The interface's languages: complete catalogues, the choice of language, dates in it."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import store
from dalel import i18n
from dalel.templating import render
from dalel.web.security import local_target
from store.filters import SOURCES
from store.text import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted():
    spec = importlib.util.spec_from_file_location("catalogues", ROOT / "scripts" / "catalogues.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.template()


@pytest.mark.parametrize("code", list(i18n.LOCALES))
def test_each_catalogue_translates_every_message_the_interface_shows(code):
    wanted = {m.id for m in _extracted() if m.id}
    assert len(wanted) > 150
    with (i18n.CATALOGUES / code / "LC_MESSAGES" / "dalel.po").open("rb") as f:
        catalog = read_po(f, locale=code)
    have = {m.id: m for m in catalog if m.id}
    assert wanted - have.keys() == set(), "run `make catalogues` and translate the new messages"
    for msgid in wanted:
        m = have[msgid]
        assert not m.fuzzy, msgid
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert len(strings) == catalog.num_plurals if isinstance(msgid, tuple) else 1
        for s in strings:
            assert s.strip(), f"{code}: {msgid!r} untranslated"
            assert set(PLACEHOLDER.findall(s)) == set(PLACEHOLDER.findall(ids[-1])), (code, msgid, s)
            assert s.count("%%") == ids[0].count("%%"), (code, msgid, s)
        if code == "kk":   # nothing English left in Kazakh, outside code and named formats
            for s in strings:
                bare = re.sub(r"<code>.*?</code>|<a [^>]*>.*?</a>|%\(\w+\)s", "", s)
                words = set(re.findall(r"[A-Za-z]{2,}", bare)) - {"JSON", "HTML", "CSV", "SHA", "OpenAPI",
                                                                  "YouTube", "yt", "dlp", "cookie", "X-CSRF"}
                assert not words, (msgid, s)


def test_the_labels_of_the_data_are_in_the_catalogues(tmp_path):
    vocabulary = set(i18n.VOCABULARY)
    with store.Store(tmp_path / "db.sqlite3") as s:
        assert set(s.counts()) <= vocabulary                 # the status page's counts
    assert {str(s) for s in store.VideoState} <= vocabulary
    assert set(store.ROLES) <= vocabulary
    assert {lang.name for lang in REGISTRY.values()} <= vocabulary
    assert set(SOURCES) <= vocabulary


@pytest.mark.parametrize("cookie, header, chosen", [
    (None, None, "en"), (None, "", "en"), (None, "kk-KZ,kk;q=0.9,ru;q=0.8,en;q=0.5", "kk"),
    (None, "de-DE,de;q=0.9,ru;q=0.5", "ru"), (None, "en;q=0.2, ru-RU", "ru"), (None, "ru;q=0, kk;q=0.1", "kk"),
    ("kk", "ru", "kk"), ("xx", "ru", "ru"), (None, "ru;q=abc,,;;=,kk", "kk"), (None, "*", "en"),
])
def test_the_language_is_the_switchers_else_the_browsers_else_english(cookie, header, chosen):
    assert i18n.choose(cookie, header) == chosen


def test_dates_are_written_in_the_chosen_language():
    def day(value, code):     # CLDR puts a narrow no-break space before «г.»
        return i18n.day(value, code).replace("\u202f", " ")
    assert day("2024-03-12", "ru") == "12 мар. 2024 г."
    assert day("2024-03-12T09:00:00+00:00", "kk") == "2024 ж. 12 нау."
    assert i18n.day("2024-03-12", "en") == "Mar 12, 2024"
    assert i18n.moment("2024-03-12T22:05:01Z", "ru").replace("\u202f", " ") == "12 мар. 2024 г., 22:05:01 UTC"
    assert i18n.period("2024-03", "kk") == "нау. 2024"
    assert i18n.period("2024-W10", "ru").replace("\u202f", " ") == "4 мар. 2024 г."
    assert i18n.day("not a date", "ru") == "not a date" and i18n.day(None, "kk") == ""


def test_a_page_renders_in_each_language_with_plurals_and_escaped_values():
    class Req:      # render() outside a request: only what base.html reads
        url = type("U", (), {"path": "/videos", "query": ""})()
        state = None
    out = {code: render("videos.html", code, request=Req(), videos=[], total=3, states=["archived"],
                        channel='<x">', state="", since="", until="", removed=False, csrf="c", error=None)
           for code in i18n.LOCALES}
    assert "3 videos" in out["en"] and "3 видео" in out["ru"] and "3 бейне" in out["kk"]
    assert '<html lang="kk">' in out["kk"] and "Мұрағатта" not in out["en"]
    assert all('value="&lt;x&#34;&gt;"' in page for page in out.values())
    assert render("videos.html", "ru", request=Req(), videos=[], total=22, states=[], channel="", state="",
                  since="", until="", removed=False, csrf="c", error=None).count("22 видео") == 1


@pytest.mark.parametrize("path, kept", [("/videos?x=1", True), ("//evil.org", False), ("/\\evil.org", False),
                                        ("https://evil.org", False), ("/a\r\nSet-Cookie: x", False), ("", False)])
def test_going_back_stays_on_this_site(path, kept):
    assert local_target(path) == (path if kept else "/")
