"""Claim checks on hand-built transcripts (through Store, never through Whisper): every
mention once, in its sentence, in every form, and nothing mis-read as "no occurrence"."""
import pytest

import store
from store import SegmentRecord, WordRecord


def seg(start: float, text: str, lang: str = "ru") -> SegmentRecord:
    """A segment whose words are 0.5 s apart, with word timestamps."""
    words, t = [], start
    for w in text.split():
        words.append(WordRecord(t, t + 0.4, w, 0.9))
        t += 0.5
    return SegmentRecord(start, t, text, lang, 0.9, tuple(words))


@pytest.fixture
def archive(tmp_path):
    s = store.Store(tmp_path / "x.sqlite3")
    v1, _ = s.videos.discover("example", "v1", "https://example.org/v1", channel="Ne deidi",
                       published="2024-03-01T18:00:00+00:00")
    s.transcripts.add_text(v1, source="asr", model="m", segments=[
        seg(0, "Мы никогда не призывали"),
        seg(2, "к насильственному захвату власти, мы призываем граждан."),
        seg(6, "Они хотят захватить власть. Потом власть."),
        seg(10, "Захват заложников осудили все."),
        seg(13, "Мы говорим в прямом афере о захвате в власти."),
        seg(18, "Выборы прошли спокойно, парламент молчит."),
        seg(21, "Выборы снова перенесли."),
    ])
    v2, _ = s.videos.discover("example", "v2", "https://example.org/v2", channel="Другой канал",
                       published="2024-05-01T18:00:00+00:00")
    s.transcripts.add_text(v2, source="asr", model="m", segments=[seg(0, "Власть захватила хунта.")])
    yield s
    s.close()


def find(s, query, **kw):
    approximate = kw.pop("approximate", False)
    return store.search(s, store.parse(query), store.SearchOptions(limit=100, **kw), approximate=approximate)


def spans(results):
    return sorted((h.video_id, h.start, h.matches) for h in results.hits)


# --- one mention, one hit ---------------------------------------------------------------

def test_a_phrase_across_a_boundary_is_one_hit_with_its_words_times(archive):
    r = find(archive, '"не призывали к насильственному захвату"')
    assert r.total == r.exact_total == len(r.hits) == 1
    [h] = r.hits
    assert h.matches == ("не", "призывали", "к", "насильственному", "захвату")
    assert (h.start, h.end) == (1.0, 3.4)       # "не" at 1.0 … "захвату" ends at 3.4
    assert r.videos == {"v1": 1}


def test_words_found_by_a_segment_and_its_bridge_are_counted_once(archive):
    # "призывали | к насильственному": the bridge row and the next segment's row both match.
    r = find(archive, "призывать насильственный", video="v1")
    assert r.total == 1 and r.hits[0].matches[:2] == ("призывали", "насильственному")


def test_two_mentions_in_one_segment_are_two_hits_and_touching_ones_one(archive):
    r = find(archive, "власть", video="v1", lemma=True)
    assert [h.matches for h in sorted(r.hits, key=lambda h: h.start)] == [
        ("власти",), ("власть",), ("власть",), ("власти",)]
    touching = find(archive, "захват OR заложник", video="v1")
    assert ("Захват", "заложников") in [h.matches for h in touching.hits]   # adjacent: one hit


def test_close_together_stays_in_one_sentence_and_near_may_cross(archive):
    # "…власть. Захват заложников…": the words are close, but in two sentences.
    plain = find(archive, "захват власть", video="v1")
    assert ("власть", "Захват") not in [h.matches for h in plain.hits]
    near = find(archive, "NEAR(захват власть, 3)", video="v1", lemma=True)
    assert ("власть", "Захват") in [h.matches for h in near.hits]


def test_a_phrase_does_not_cross_a_sentence_end(archive):
    assert find(archive, '"власть потом"').total == 0          # «власть. Потом»
    assert find(archive, '"власть"~1 потом').total == 1


# --- context --------------------------------------------------------------------------------

def test_each_hit_carries_its_sentence_and_the_sentences_around_it(archive):
    [h] = find(archive, '"захват власти"', video="v1", lemma=True).hits
    assert h.text == "Мы никогда не призывали к насильственному захвату власти, мы призываем граждан."
    assert h.context_before == ""
    assert h.context_after == "Они хотят захватить власть."
    assert [h.text[a:b] for a, b in h.spans] == ["захвату", "власти"]
    # the marks point into each segment's own text, for the video page
    seg_text = "к насильственному захвату власти, мы призываем граждан."
    assert [seg_text[a:b] for _, a, b in h.marks] == ["захвату", "власти"]


def test_search_json_has_the_context(archive, tmp_path):
    from dalel.formats import results_json
    data = results_json(find(archive, "заложник"))
    [hit] = data["hits"]
    assert hit["context_before"] == "Потом власть." and hit["text"] == "Захват заложников осудили все."
    assert hit["context_after"].startswith("Мы говорим в прямом афере")
    assert data["total_exact"] is True and data["exact_total"] == 1


# --- word families ---------------------------------------------------------------------------

def test_a_noun_finds_its_verbs_and_lemma_narrows_it(archive):
    family = find(archive, '"захват власти"')
    assert [h.matches for h in sorted(family.hits, key=lambda h: (h.video_id, h.start))] == [
        ("захвату", "власти"), ("захватить", "власть")]
    lemma = find(archive, '"захват власти"', lemma=True)
    assert [h.matches for h in lemma.hits] == [("захвату", "власти")]
    assert {"захват", "захватить", "захватывать"} <= set(family.forms["захват"])
    assert lemma.forms["захват"] == ["захват"]
    # words close together, any order: «Власть захватила хунта»
    assert ("v2", ("Власть", "захватила")) in [(h.video_id, h.matches) for h in find(archive, "захват власти").hits]


def test_families_are_chosen_words_not_every_lookalike():
    assert set(store.family("захват")) == {"захват", "захватить", "захватывать", "захватывание"}
    assert "захватчик" not in store.family("захват")          # the invader is not the seizure
    assert "приз" not in store.family("призыв")                # a prize is not a call
    assert {"призвать", "призывать"} <= set(store.family("призыв"))
    assert store.family("власть") == ("власть",)
    assert store.family("билик") == ("билик",)                 # Kazakh stems: the stemmer's job


# --- the query language ------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ("выборы парламент", 1),
    ("выборы AND парламент", 1),
    ("выборы && парламент", 1),
    ("+выборы +парламент", 1),
    ("выборы OR заложник", 3),
    ("выборы || заложник", 3),
    ("выборы -парламент", 1),
    ("выборы NOT парламент", 1),
    ("выборы !парламент", 1),
    ("(выборы OR заложник) -парламент", 2),
    ("(спокойно OR снова) выборы", 2),
    ('"выборы прошли"', 1),
    ('"прошли выборы"', 0),
    ('"парламент выборы"~3', 1),
    ("NEAR(парламент выборы, 3)", 1),
    ("NEAR(парламент выборы, 1)", 0),
    ("выбор*", 2),
])
def test_each_operator(archive, query, expected):
    assert find(archive, query, video="v1").exact_total == expected, query


@pytest.mark.parametrize("query, message", [
    ("захват AND", "AND needs a word"),
    ("AND захват", "AND needs a word"),
    ("NOT выборы", "only excludes"),
    ("foo:bar", "unknown field foo:"),
    ("выборы^2", "boost"),
    ("[a TO b]", "ranges"),
    ("(выборы OR суд", "unbalanced parenthesis"),
    ("выборы)", "unbalanced parenthesis"),
    ("()", "empty parentheses"),
    ("выборы || ", "OR needs a word"),
    ("выборы OR -суд", "cannot combine OR"),
    ("&", "not a word or an operator"),
    ("эф~ир", "write ~ at the end"),
    ("NEAR(a b, 1000)", "too far"),
    ("NEAR(a" + " " * 60_000 + "b)", "too long"),
    (" ".join(["слово"] * 40), "too many words"),
    ("after:2024-99-01 выборы", "not a date"),
    ('lang:de выборы', "not a known language"),
])
def test_what_is_not_understood_is_refused(query, message):
    with pytest.raises(store.QueryError) as err:
        store.parse(query)
    assert message in str(err.value)


@pytest.mark.parametrize("kw, error, message", [
    ({"video": "nope"}, store.NotFound, "unknown video id 'nope'"),
    ({"channel": "Nobody"}, store.NotFound, "no channel 'Nobody'"),
    ({"since": "2024-99-01"}, store.QueryError, "not a date"),
    ({"since": "2024-02-30"}, store.QueryError, "not a date"),
    ({"since": "2024-05-01", "until": "2024-04-01"}, store.QueryError, "is empty"),
    ({"since": "2099-01-01"}, store.NotFound, "no video in the archive is in this scope (after 2099-01-01)"),
    ({"channel": "Ne deidi", "until": "2000-01-01"}, store.NotFound, "no video in the archive is in this scope"),
])
def test_a_scope_that_matches_nothing_is_an_error_not_an_absence(archive, kw, error, message):
    with pytest.raises(error) as err:
        find(archive, "референдум", **kw)
    assert message in str(err.value)


def test_month_and_year_dates_cover_the_whole_period(archive):
    assert find(archive, "хунта", until="2024-05").total == 1
    assert find(archive, "хунта", since="2024", until="2024").total == 1
    assert find(archive, "хунта", until="2024-04").total == 0


# --- possible mentions ----------------------------------------------------------------------

def test_misheard_spellings_are_possible_mentions_kept_apart(archive):
    r = find(archive, '"прямом эфире"', approximate=True)
    assert r.exact_total == 0 and r.possible_total == 1
    assert r.hits[0].approximate and r.hits[0].matches == ("прямом", "афере")
    word = find(archive, "эфир~")     # ~ asks for near spellings of one word
    assert [(h.matches, h.approximate) for h in word.hits] == [(("афере",), True)]


def test_a_short_word_inserted_inside_a_phrase_is_a_possible_mention(archive):
    r = find(archive, '"захват власти"', video="v1", lemma=True, approximate=True)
    assert [(h.matches, h.approximate) for h in sorted(r.hits, key=lambda h: h.start)] == [
        (("захвату", "власти"), False), (("захвате", "власти"), True)]
    assert r.exact_total == 1 and r.possible_total == 1


def test_near_spellings_keep_or_and_not(archive):
    # OR stays OR: either alternative, each in near spellings
    r = find(archive, "эфир~ OR референдум", video="v1")
    assert [h.matches for h in r.hits] == [("афере",)]
    # NOT stays NOT: the excluded word removes the possible mention too
    assert find(archive, "эфир~ -говорим", video="v1").total == 0


def test_the_same_speech_in_two_transcripts_is_one_mention(archive):
    v2 = archive.videos.find("v2")
    archive.transcripts.add_text(v2, source="import", model="corrected.srt",
                                segments=[SegmentRecord(0.0, 1.5, "Власть захватила хунта.", "ru")])
    r = find(archive, "хунта")
    assert r.total == 1 and r.hits[0].source == "import" and r.hits[0].sources == ("import", "asr")


# --- Kazakh paradigms ----------------------------------------------------------------------------

@pytest.mark.parametrize("form, lemma", [
    ("жазды", "жазыпты"), ("көрді", "көре"), ("сөйледі", "сөйлей"), ("көрді", "көріпті"),
    ("барды", "барғысы"), ("көрді", "көргісі"), ("кеше", "кешегі"), ("ертең", "ертеңгі"),
    ("мен", "маған"), ("мен", "менің"), ("ол", "оның"), ("ол", "оған"), ("бұл", "мұны"),
    ("бару", "бара"), ("айтты", "айта"),
])
def test_kazakh_forms_meet_their_lemma(form, lemma):
    assert store.analyse(form, "kk")[0].stem == store.analyse(lemma, "kk")[0].stem


def test_kazakh_words_that_only_look_like_forms_stay_apart():
    stem = lambda w: store.analyse(w, "kk")[0].stem  # noqa: E731
    assert stem("қала") != stem("қалды")      # city, not "stayed"
    assert stem("жаза") != stem("жазды")      # punishment, not "writing"
    assert stem("білім") != stem("білді")     # knowledge is derived: not "knew"


def test_a_word_split_in_two_or_two_words_joined_are_possible_mentions(tmp_path):
    s = store.Store(tmp_path / "x.sqlite3")
    v, _ = s.videos.discover("example", "v9", "https://example.org/v9")
    s.transcripts.add_text(v, source="asr", model="m", segments=[
        seg(0, "Они говорили о за хват власти вчера."),
        seg(5, "Потом снова захватвласти обсуждали."),
        seg(10, "Захват власти осудили все.")])
    r = find(s, '"захват власти"', approximate=True)
    got = sorted((h.start, h.matches, h.approximate) for h in r.hits)
    assert got == [(1.5, ("за", "хват", "власти"), True), (6.0, ("захватвласти",), True),
                   (10.0, ("Захват", "власти"), False)]
    assert r.exact_total == 1 and r.possible_total == 2
    s.close()
