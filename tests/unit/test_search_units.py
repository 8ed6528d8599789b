"""The search language on transcripts built by hand through `Store` (the demo's scripts as
spoken, with times set here): forms, phrases, filters, metadata, refusals and counts — the
behaviours tests/test_search.py checks end to end, without depending on what Whisper writes."""
from __future__ import annotations

import pytest

import store
from dalel.formats import results_json
from store import SegmentRecord, WordRecord
from conftest import empty_cluster_database

BROADCAST = ["Добрый вечер, уважаемые зрители.", "Сегодня мы говорим о выборах в нашей стране.",
             "Мы никогда не призывали", "к насильственному захвату власти.",
             "Мы призываем граждан к мирным переменам и честным выборам.",
             "Журналисты должны свободно работать, а суды должны быть независимыми."]
NEWS = ["Здравствуйте. В эфире новости недели.", "Власти объявили о новых выборах в парламент.",
        "Оппозиция требует свободы собраний и освобождения политических заключённых."]


def segments(lines: list[str], lang: str = "ru") -> list[SegmentRecord]:
    out, t = [], 0.0
    for line in lines:
        words, start = [], t
        for w in line.split():
            words.append(WordRecord(t, t + 0.3, w, 0.9))
            t += 0.4
        out.append(SegmentRecord(start, t, line, lang, 0.9, tuple(words), 0.99))
        t += 0.5
    return out


MAY_1 = "2024-05-01T10:00:00+00:00"


def add_video(st, vid: str, lines: list[str], channel: str = "Ne deidi", published: str | None = None) -> None:
    """A video with one transcript of `lines` (spoken one after another)."""
    video, _ = st.videos.discover("example", vid, f"https://example.org/{vid}", channel=channel, published=published)
    st.transcripts.add_text(video, source="asr", model="by hand", segments=segments(lines))


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def s(request, tmp_path_factory):
    """The hand-built archive in SQLite, and in a cluster's PostgreSQL: every test runs on both."""
    if request.param == "sqlite":
        st = store.Store(tmp_path_factory.mktemp("hand") / "dalel.sqlite3")
    else:
        st = store.Store(empty_cluster_database(request.getfixturevalue("postgres")))
    src = st.sources.add("https://example.org/feed.xml", "feed", "https://example.org/feed.xml", "Ne deidi", None)
    for vid, title, desc, published, lines in (
            ("Demo01", "Эфир: о выборах и мирных переменах", "Еженедельный эфир канала.", "2024-03-01", BROADCAST),
            ("Demo02", "Новости недели", "Обзор новостей.", "2024-03-08", NEWS)):
        video, _ = st.videos.discover("example", vid, f"https://example.org/{vid}", source_id=src.id,
                                      title=title, channel="Ne deidi", published=f"{published}T18:00:00+00:00")
        st.videos.mark_archived(video, f"example/{vid}", [], {"title": title, "description": desc})
        st.transcripts.add_text(video, source="metadata", model="title", bridges=False,
                                segments=[SegmentRecord(0, 0, title, None), SegmentRecord(0, 0, desc, None)])
        st.transcripts.add_text(video, source="asr", model="by hand", segments=segments(lines))
    yield st
    st.close()


def total(s, query: str, **options) -> int:
    return store.search(s, store.parse(query), store.SearchOptions(limit=100, **options), approximate=False).total


def test_another_form_is_found_at_the_second_it_was_said(s):
    r = store.search(s, store.parse("захват власти"), store.SearchOptions())
    [hit] = r.hits
    assert hit.video_id == "Demo01" and hit.matches == ("захвату", "власти")
    said = [w for seg in segments(BROADCAST) for w in seg.words if w.word == "захвату"][0]
    assert hit.start == pytest.approx(said.start)


def test_plural_and_case_forms(s):
    assert total(s, "выборы source:asr") == 3
    assert total(s, "журналист") == 1


def test_all_words_must_appear(s):
    assert total(s, "захват парламент") == 0
    assert total(s, "мирные перемены source:asr") == 1


def test_phrase_or_exclusion_prefix_near(s):
    assert total(s, '"захвату власти"') == 1
    assert total(s, '"власти захвату"') == 0
    assert total(s, "парламент OR журналисты") == 2
    assert total(s, "выборы -парламент source:asr") == 2
    assert total(s, "насильствен*") == 1
    assert total(s, "NEAR(власть захват, 2)") == 1
    assert total(s, "NEAR(граждане захват, 1)") == 0
    assert total(s, "NEAR(граждане захват, 5)") == 1


def test_filters(s):
    assert total(s, "выборы source:asr", since="2024-03-05") == 1
    assert total(s, "выборы source:asr", until="2024-03-05") == 2
    assert total(s, "выборы", lang="kk") == 0
    assert total(s, "выборы source:asr", channel="Ne deidi") == 3
    assert total(s, "выборы source:asr video:Demo02") == 1


def test_a_scope_that_matches_nothing_is_an_error_not_an_absence(s):
    with pytest.raises(store.NotFound, match="no channel 'nobody'"):
        total(s, "выборы", channel="nobody")
    with pytest.raises(store.NotFound, match="unknown video id"):
        total(s, "выборы video:nosuch")
    with pytest.raises(store.QueryError, match="not a date"):
        total(s, "выборы", since="2024-02-30")


def test_titles_and_descriptions_are_searched_and_tagged(s):
    r = store.search(s, store.parse("еженедельный эфир"), store.SearchOptions())
    assert [(h.video_id, h.source) for h in r.hits] == [("Demo01", "metadata")]
    r = store.search(s, store.parse("выборы"), store.SearchOptions(limit=50))
    assert {h.source for h in r.hits} == {"asr", "metadata"}


def test_no_hit_says_so_in_the_json(s):
    r = results_json(store.search(s, store.parse("референдум"), store.SearchOptions()))
    assert (r["query"], r["total"], r["hits"]) == ("референдум", 0, [])


def test_single_words_are_counted_once(s):
    r = store.search(s, store.parse("журналист"), store.SearchOptions())
    assert r.total == len(r.hits) == 1 and r.videos == {"Demo01": 1}


def test_a_phrase_across_a_segment_boundary_is_found_once(s):
    r = store.search(s, store.parse('"не призывали к насильственному захвату"'), store.SearchOptions())
    assert r.total == 1
    assert r.hits[0].matches == ("не", "призывали", "к", "насильственному", "захвату")
    near = store.search(s, store.parse("призывать насильственный"), store.SearchOptions())
    assert near.total == 1 and near.hits[0].matches[:2] == ("призывали", "насильственному")


def test_a_misheard_word_is_found_approximately_and_marked(s):
    r = store.search(s, store.parse("насильствиному захвату"), store.SearchOptions())
    assert r.total == 1 and r.hits[0].approximate and "насильственному" in r.hits[0].matches
    assert store.search(s, store.parse("захвату"), store.SearchOptions()).hits[0].approximate is False
    assert store.search(s, store.parse("референдум"), store.SearchOptions()).total == 0


def test_facets_and_the_histogram_count_every_mention_once(s):
    r = store.search(s, store.parse("выборы source:asr"), store.SearchOptions(limit=1))
    assert r.total == 3 and r.total_exact and len(r.hits) == 1          # one page, all counted
    for facet in ("channel", "lang", "source", "year", "month"):
        assert sum(v["count"] for v in r.facets[facet]) == r.total
    assert r.facets["channel"] == [{"value": "Ne deidi", "count": 3}]
    assert r.facets["year"] == [{"value": "2024", "count": 3}]
    assert r.facets["month"] == [{"value": "2024-03", "count": 3}]
    assert r.histogram == [{"period": "2024-03", "count": 3, "channels": {"Ne deidi": 3}}]
    weeks = store.search(s, store.parse("выборы source:asr"), store.SearchOptions(per="week")).histogram
    assert [(w["period"], w["count"]) for w in weeks] == [("2024-W09", 2), ("2024-W10", 1)]
    assert sum(w["count"] for w in weeks) == 3
    as_json = results_json(r)
    assert as_json["facets"] == r.facets and as_json["histogram"] == r.histogram


def test_hits_sort_by_broadcast_date(s):
    def order(sort):
        return [h.video_id for h in store.search(s, store.parse("выборы source:asr"),
                                                 store.SearchOptions(sort=sort)).hits]
    assert order("newest") == ["Demo02", "Demo01", "Demo01"]
    assert order("oldest") == ["Demo01", "Demo01", "Demo02"]
    with pytest.raises(store.QueryError, match="sort 'sideways'"):
        order("sideways")


def test_unsure_words_are_marked_beside_the_matches():
    from dalel.searching import html_marked, unsure_words
    text = "Мы никогда не призывали к захвату"
    words = [{"word": " Мы", "probability": 0.9}, {"word": " никогда", "probability": 0.3},
             {"word": " не", "probability": 0.95}, {"word": " призывали", "probability": 0.4},
             {"word": " к", "probability": 0.9}, {"word": " захвату", "probability": 0.99}]
    low = unsure_words(text, words)
    assert [text[a:b] for a, b in low] == ["никогда", "призывали"]
    html = str(html_marked(text, [(text.index("призывали"), len(text))], low))
    assert html.count('<span class="low"') == 2 and "<mark>" in html
    assert '<mark><span' not in html and "призывали</span></mark>" not in html   # nested the same way
    assert str(html_marked("a <b>", [], [(0, 1)])) == \
        '<span class="low" title="speech recognition was unsure of this word">a</span> &lt;b&gt;'


def test_a_filtered_common_word_counts_every_matching_segment_per_video(backend):
    """Above the rows read in full, a filtered search still counts what its filters let through:
    the total and the count per video are those of the matching segments, not of all of them."""
    st = store.Store(backend)
    for n, channel, k in (("A1", "Alpha", 400), ("A2", "Alpha", 300), ("B1", "Beta", 500)):
        add_video(st, n, [f"Выборы прошли спокойно, строка {i}." for i in range(k)], channel, MAY_1)
    everything = store.search(st, store.parse("выборы"), store.SearchOptions(limit=20), approximate=False)
    alpha = store.search(st, store.parse("выборы"), store.SearchOptions(limit=20, channel="Alpha"),
                         approximate=False)
    assert not everything.total_exact and everything.total == 1200
    assert not alpha.total_exact and alpha.total == 700 and alpha.videos == {"A1": 400, "A2": 300}
    assert len(alpha.hits) == 20 and {h.video_id for h in alpha.hits} <= {"A1", "A2"}
    st.close()


def test_possible_mentions_past_the_rows_read_are_counted_from_their_rows_not_from_those_read(backend):
    """A word heard right in 3 segments and misheard («выбарах») in 1,200, more than a search
    reads in full: the total and the possible mentions are estimated from every segment holding
    a near form, not from the ~120 read (which said 60 here, and "240" in PostgreSQL and "176" in
    SQLite at 10M segments for 5,285), and each video's count is its own segments', on both
    engines alike."""
    st = store.Store(backend)
    for n, k in (("N1", 700), ("N2", 500)):
        add_video(st, n, [f"Говорим о выбарах спокойно, строка {i}." for i in range(k)], published=MAY_1)
    add_video(st, "E1", [f"Говорим о выборах, строка {i}." for i in range(3)])
    both = store.search(st, store.parse("выборах"), store.SearchOptions(limit=20), approximate=True)
    assert both.exact_total == 3 and not both.total_exact and not both.total_capped
    assert both.total == 1203 and both.possible_total == 1200
    assert both.videos == {"N1": 700, "N2": 500, "E1": 3}
    near = store.search(st, store.parse("выбурах"), store.SearchOptions(limit=20))   # nothing exact
    assert near.approximate and near.exact_total == 0 and not near.total_exact
    assert near.total == 1203 and near.possible_total == 1203 and near.videos == {"N1": 700, "N2": 500, "E1": 3}
    assert len(near.hits) == 20 and all(h.approximate for h in near.hits)
    st.close()


def test_near_spellings_past_the_cap_leave_the_exact_count_as_it_is(backend):
    """600 segments with the word heard right (more than are read in full) and 10,100 with it
    misheard: the total is capped at "10,000+" by the near spellings, the exact count stays 600."""
    st = store.Store(backend)
    add_video(st, "E1", [f"Говорим о выборах, строка {i}." for i in range(600)])
    add_video(st, "N1", [f"Говорим о выбарах, строка {i}." for i in range(10_100)])
    r = store.search(st, store.parse("выборах"), store.SearchOptions(limit=20), approximate=True)
    assert r.total_capped and r.total == 10_000 and not r.total_exact
    assert r.exact_total == 600
    st.close()


def test_a_word_in_more_than_ten_thousand_segments_is_counted_as_10000_plus(backend, monkeypatch):
    """Past COUNT_CAP matching segments a search reads the newest 10,000 only: its total says
    "10,000+" (never a pass over millions of rows), its hits name their videos' exact counts; a
    report, a sort by date, still reads every one and counts exactly."""
    st = store.Store(backend)
    for n, k in (("Old", 6000), ("Mid", 3000), ("New", 3000)):
        add_video(st, n, [f"Выборы прошли спокойно, строка {i}." for i in range(k)], published=MAY_1)
    add_video(st, "Rare", ["Выборы отменили, а потом выборы", "прошли спокойно."])
    for options in (store.SearchOptions(limit=20), store.SearchOptions(limit=20, channel="Ne deidi")):
        r = store.search(st, store.parse("выборы"), options, approximate=False)
        assert r.total_capped and not r.total_exact and r.total == 10_000 and r.exact_total == 10_000
        assert len(r.hits) == 20
        full = {"Old": 6000, "Mid": 3000, "New": 3000, "Rare": 1}
        assert r.videos and all(r.videos[v] == full[v] for v in r.videos)     # exact for the videos shown
        # among them one wholly inside the newest 10,000 rows and one reaching below them
        assert {"Rare", "Old"} <= set(r.videos)
        assert results_json(r)["total_capped"] is True
    r = store.search(st, store.parse("выборы отменили"), store.SearchOptions(limit=20), approximate=False)
    assert r.total == 1 and r.total_exact and not r.total_capped
    every = store.search(st, store.parse("выборы"), store.SearchOptions(limit=20), approximate=False, exhaustive=True)
    assert every.total == 12_002 and every.total_exact and not every.total_capped
    by_date = store.search(st, store.parse("выборы"), store.SearchOptions(limit=20, sort="newest"), approximate=False)
    assert by_date.total == 12_002 and by_date.total_exact
    # a phrase: sampled from the segments alone; a report still finds the one across a boundary
    phrase = store.search(st, store.parse('"выборы прошли"'), store.SearchOptions(limit=20), approximate=False)
    assert phrase.total_capped and phrase.total == 10_000 and len(phrase.hits) == 20
    report = store.search(st, store.parse('"выборы прошли"'), store.SearchOptions(limit=20), approximate=False,
                          exhaustive=True)
    assert report.total == 12_001 and report.videos["Rare"] == 1
    monkeypatch.setattr(store.fts5, "FULL_COUNT_LIMIT", 11_000)      # more than a date sort reads
    with pytest.raises(store.QueryError, match="too many to sort by date"):
        store.search(st, store.parse("выборы"), store.SearchOptions(limit=20, sort="newest"), approximate=False)
    st.close()
