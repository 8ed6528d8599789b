"""The query language: the parser's tree and refusals, and the FTS5 compiler's output."""
from __future__ import annotations

import pytest

import store
from store import fts5
from store.match import resolve
from store.query import Near, Or, Term


def test_words_side_by_side_are_one_sentence_group():
    q = store.parse("захват власти")
    assert isinstance(q.root, Near) and q.root.sentence
    assert q.root.items == (Term(("захват",)), Term(("власти",)))


def test_phrase_or_and_exclusion_build_the_expected_tree():
    q = store.parse('"захват власти" OR свержение -футбол')
    assert q.root == Or((Term(("захват", "власти")), Term(("свержение",))))
    assert q.excluded == (Term(("футбол",)),)


def test_near_distance_prefix_fuzzy_and_filters():
    q = store.parse('NEAR(захват власть, 5) власт* эфир~ lang:ru after:2024-01-31')
    near, prefix, fuzzy = q.root.items
    assert near == Near((Term(("захват",)), Term(("власть",))), 5)
    assert prefix == Term(("власт",), prefix=True)
    assert fuzzy == Term(("эфир",), fuzzy=True)
    assert q.filters == {"lang": "ru", "after": "2024-01-31"}


@pytest.mark.parametrize("bad, says", [
    ('"захват власти', "unbalanced quote"),
    ("захват^2", "boost"),
    ("nosuch:field", "unknown"),
    ("(захват", "parenthes"),
    ('"захват власти"~500', "too far"),
    ("lang:xx захват", "not a known language"),
    ("after:2024-02-30 захват", "not a date"),
    ("", "empty query"),
    (" ".join(["слово"] * 40), "too many words"),
])
def test_what_cannot_be_read_is_refused_with_what_to_fix(bad, says):
    with pytest.raises(store.QueryError, match=says):
        store.parse(bad)


def test_the_compiler_ors_a_words_forms_and_keeps_exclusions(tmp_path):
    with store.Store(tmp_path / "db.sqlite3") as s:
        plan = resolve(s.conn, store.parse("призыв -футбол"), "ru")
        expr = fts5.compile_segments(plan, approximate=False)
    # the family of призыв: its verbs are asked for too; the exclusion is FTS5's NOT
    assert expr == '("призвать" OR "призыв" OR "призывание" OR "призывать") NOT ("футбол")'


def test_the_compiler_asks_bridges_only_where_a_phrase_crosses_the_boundary(tmp_path):
    with store.Store(tmp_path / "db.sqlite3") as s:
        plan = resolve(s.conn, store.parse('"захват власти"'), "ru", families=False)
        crossing = fts5.compile_crossing(plan, approximate=False)
    assert crossing == f'("захват {store.text.BOUNDARY} власть")'


def test_a_prefix_is_asked_of_the_word_as_spoken_and_of_its_indexed_form(tmp_path):
    """адамд* must find «адамды», «адамдар» although their indexed form is «адам»: the compilers
    ask for the prefix and for the indexed forms of the spoken words it begins; the matcher
    keeps only words that begin with it as spoken or indexed (not «адам», «адамға»)."""
    from store import tsquery
    from tests.unit.test_search_units import segments
    with store.Store(tmp_path / "db.sqlite3") as s:
        video, _ = s.videos.discover("example", "kk1", "https://example.org/kk1", published="2024-05-01")
        s.transcripts.add_text(video, source="asr", model="by hand", segments=segments(
            ["Біз адамдарға көмектестік.", "Ол адамды көрді.", "Бір адам келді.", "Адамға айт."], "kk"))
        plan = resolve(s.conn, store.parse("адамд*"), None)
        assert fts5.compile_segments(plan, approximate=False) == '("адамд" * OR "адам")'
        assert tsquery.compile_segments(plan, approximate=False) == "(('адамд':* | 'адам'))"
        r = store.search(s, store.parse("адамд*"), store.SearchOptions())
        assert sorted(m for h in r.hits for m in h.matches) == ["адамдарға", "адамды"] and r.total == 2
        with s.transaction() as conn:   # spoken forms whose indexed forms differ (lemmas): too many
            conn.executemany("INSERT INTO vocabulary (word, stem, fold) VALUES (?, ?, ?)",
                             [(f"бар{i}", f"лемма{i}", f"бар{i}") for i in range(250)])
        with pytest.raises(store.QueryError, match="give more letters"):
            store.search(s, store.parse("бар*"), store.SearchOptions())
