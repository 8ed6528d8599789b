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
