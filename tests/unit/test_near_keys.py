"""Near spellings looked up by near keys (`store/index.py: near_keys`) find exactly the forms the
scan over every form beginning with the word's letter found, on both engines: the lookup is
only faster (2M forms: ~100 ms a word, up to 0.8 s, for the scan), never different."""
from __future__ import annotations

import random

import pytest

import store
from store import SegmentRecord
from store.index import near_keys, similar
from store.text import analyse, fold
from store.text.fuzzy import max_edits, within
from conftest import empty_cluster_database

RU = ["выборы", "власть", "захват", "переворот", "журналист", "свобода", "собрание", "оппозиция",
      "президент", "монархия", "призыв", "перемены", "суд", "эфир", "зритель", "ведущий"]
RU_ENDINGS = ["", "а", "у", "ом", "ами", "ах", "ы", "е", "ой", "ов"]
KK = ["билік", "сайлау", "азамат", "бостандық", "тілші", "халық", "заң", "мемлекет", "сот"]
KK_ENDINGS = ["", "ті", "тің", "ке", "дер", "дің", "мен", "ге", "нің", "ды", "лар"]
LETTERS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі"


def _mutations(word: str, rng: random.Random) -> list[str]:
    """The word with a letter changed, added, dropped and doubled (at random places)."""
    i = rng.randrange(len(word))
    return [word[:i] + rng.choice(LETTERS) + word[i + 1:], word[:i] + rng.choice(LETTERS) + word[i:],
            word[:i] + word[i + 1:], word[:i] + word[i] + word[i:]]


def reference(conn, word: str, stems: frozenset[str]) -> dict[str, str]:
    """`similar` as it was written before near keys: a scan of the forms (and stems) that begin
    with the key's first letter, within the length band, each compared by edit distance."""
    key = fold(word)
    if len(key) < 3:
        return {}
    found = dict(conn.execute("SELECT word, stem FROM vocabulary WHERE fold = ?", (key,)).fetchall())
    if len(key) >= 4:
        rows = conn.execute("SELECT word, stem, fold FROM vocabulary WHERE fold > ? AND fold < ?"
                            " AND length(fold) <= ?", (key, key + "\U0010ffff", len(key) + 2)).fetchall()
        found |= {w: s for w, s, _ in rows}
    if limit := max_edits(key):
        rows = conn.execute("SELECT word, stem, fold FROM vocabulary WHERE fold >= ? AND fold < ?"
                            " AND length(fold) BETWEEN ? AND ?",
                            (key[0], key[0] + "\U0010ffff", len(key) - limit, len(key) + limit)).fetchall()
        found |= {w: s for w, s, f in rows if within(key, f, limit)}
    for stem in stems:
        if len(stem) >= 5:
            rows = conn.execute("SELECT word, stem FROM vocabulary WHERE stem >= ? AND stem < ?"
                                " AND length(stem) BETWEEN ? AND ?",
                                (stem[0], stem[0] + "\U0010ffff", len(stem) - 1, len(stem) + 1)).fetchall()
            found |= {w: s for w, s in rows if within(stem, s, 1)}
    return {w: s for w, s in found.items() if s not in stems}


def test_a_key_and_its_neighbours_one_edit_away_share_a_near_key():
    rng = random.Random(7)
    for word in RU + KK:
        key = fold(word)
        for other in map(fold, _mutations(word, rng)):
            if len(key) >= 5 and len(other) >= 4 and within(key, other, 1):
                assert near_keys(key) & near_keys(other), (key, other)
    assert near_keys("abc") == set() and near_keys("abcd") == {"abcd"}
    assert near_keys("abcde") == {"abcde", "bcde", "acde", "abde", "abce", "abcd"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def vocabulary_store(request, tmp_path):
    """An archive whose vocabulary holds ~1,250 forms: Russian and Kazakh words with their
    endings, and each form misheard four ways (a letter changed, added, dropped, doubled)."""
    if request.param == "sqlite":
        st = store.Store(tmp_path / "dalel.sqlite3")
    else:
        st = store.Store(empty_cluster_database(request.getfixturevalue("postgres")))
    rng = random.Random(11)
    lines: dict[str, list[str]] = {"ru": [], "kk": []}
    for lang, bases, endings in (("ru", RU, RU_ENDINGS), ("kk", KK, KK_ENDINGS)):
        for base in bases:
            forms = [base + e for e in endings]
            lines[lang].append(" ".join(forms + [m for f in forms for m in _mutations(f, rng)]))
    for lang, texts in lines.items():
        video, _ = st.videos.discover("example", f"v-{lang}", f"https://example.org/{lang}")
        st.transcripts.add_text(video, source="asr", model="by hand",
                                segments=[SegmentRecord(float(i), i + 0.9, t, lang) for i, t in enumerate(texts)])
    yield st
    st.close()


def test_near_spellings_by_near_keys_are_those_the_scan_found(vocabulary_store):
    conn = vocabulary_store.conn
    assert conn.execute("SELECT count(*) FROM vocabulary").fetchone()[0] > 1200
    rng = random.Random(3)
    asked = 0
    for lang, bases, endings in (("ru", RU, RU_ENDINGS), ("kk", KK, KK_ENDINGS)):
        for base in bases:
            for word in [base + rng.choice(endings), *_mutations(base + rng.choice(endings), rng)]:
                stems = frozenset(t.stem for t in analyse(word, lang))
                want = reference(conn, word, stems)
                assert similar(conn, word, stems) == want, word
                asked += bool(want)
    assert asked > 50                    # most words asked have near spellings in the archive


def test_the_near_keys_written_by_the_migration_are_those_the_index_writes(vocabulary_store):
    """SQLite's migration 19 and PostgreSQL's step 6 derive the near keys of a vocabulary written
    before them in SQL: the same rows `near_keys` gives the index as it writes."""
    conn = vocabulary_store.conn
    written = set(conn.execute("SELECT kind, del, key FROM near_keys").fetchall())
    want = {(kind, d, key) for f, s in conn.execute("SELECT fold, stem FROM vocabulary").fetchall()
            for kind, key in (("f", f), ("s", s)) for d in near_keys(key)}
    assert written == want
    with vocabulary_store.transaction() as c:
        c.execute("DELETE FROM near_keys")
    if vocabulary_store.dialect == "sqlite":
        from store.schema import MIGRATIONS
        conn.executescript(MIGRATIONS[18].split(";", 1)[1])            # the backfill, again
    else:
        from store.pg.schema import STEPS
        conn.execute(STEPS[5].split(";", 1)[1])
    assert set(conn.execute("SELECT kind, del, key FROM near_keys").fetchall()) == want
