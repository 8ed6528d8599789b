"""The analyst's quality set (bench/search_quality.txt): every query run through the real
index and query language; what it finds is compared with what an analyst expects."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import search_quality  # noqa: E402


@pytest.fixture(scope="module", params=[False, True], ids=["families", "lemma"])
def cases(request, tmp_path_factory):
    segments, cases = search_quality.load()
    return search_quality.run(tmp_path_factory.mktemp("quality") / "q.db", segments, cases,
                              lemma=request.param)


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_quality_set_recall_and_precision_at_least_95_percent(cases, lang):
    recall, precision, n = search_quality.scores(cases, lang)
    wrong = {c.query: (sorted(c.expected - c.found), sorted(c.found - c.expected))
             for c in cases if c.lang == lang and c.found != c.expected}
    assert n >= 40
    assert recall >= 0.95 and precision >= 0.95, wrong


def test_a_claimed_phrase_never_said_finds_nothing(cases):
    for case in cases:
        if not case.expected:
            assert case.found == frozenset(), case.query
