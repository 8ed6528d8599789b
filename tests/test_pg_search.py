"""The query language on PostgreSQL: `tsquery` over `tsvector`s built from Dalel's own
analysed words finds, through the same matcher, exactly the hits FTS5 finds — the whole
search-quality set (bench/search_quality.txt), word families and --lemma, exact and with
near spellings, filters, counts per video — on a real PostgreSQL server. Each test builds the
same archive through `Store` twice, in a SQLite file and in a cluster's PostgreSQL database,
and asks both the same."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import psycopg
import pytest

import store
from conftest import empty_cluster_database
from store import filters, tsquery
from store.dialect import lexeme
from store.text import BOUNDARY

ROOT = Path(__file__).resolve().parents[1]


def _quality():
    spec = importlib.util.spec_from_file_location("search_quality", ROOT / "bench" / "search_quality.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


def pair(postgres: str, path: Path, build) -> tuple[store.Store, store.Store]:
    """The same archive, built by `build(store)`, in SQLite at `path` and in a new PostgreSQL database."""
    stores = (store.Store(path), store.Store(empty_cluster_database(postgres)))
    for st in stores:
        build(st)
    return stores


def hits(r: store.Results) -> list[tuple]:
    """The mentions (ranked by each engine's own relevance, bm25 or ts_rank: compared as sets)."""
    return sorted((h.video_id, h.start, h.matches, h.approximate) for h in r.hits)


@pytest.fixture(scope="module")
def both(postgres, tmp_path_factory):
    quality = _quality()
    segments, cases = quality.load()

    def build(s):
        for sid, lang, text in segments:
            video, _ = s.videos.discover("quality", sid, f"https://example.org/{sid}", channel="quality")
            s.transcripts.add_text(video, source="asr", model="quality",
                                   segments=[store.SegmentRecord(0.0, 5.0, text, lang)])
    lite, pg = pair(postgres, tmp_path_factory.mktemp("pgq") / "q.sqlite3", build)
    yield lite, pg, cases
    lite.close()
    pg.close()


@pytest.mark.parametrize("lemma", [False, True], ids=["families", "lemma"])
@pytest.mark.parametrize("approximate", [False, None], ids=["exact", "default"])
def test_every_quality_query_finds_the_same_hits_on_both_backends(both, lemma, approximate):
    s, pg, cases = both
    differ = []
    for case in cases:
        opts = store.SearchOptions(limit=1000, lemma=lemma)
        fts = store.search(s, store.parse(case.query), opts, approximate=approximate)
        tsq = store.search(pg, store.parse(case.query), opts, approximate=approximate)
        if hits(fts) != hits(tsq) or fts.total != tsq.total:
            differ.append(case.query)
    assert len(cases) > 100 and differ == []


def test_the_tsvector_holds_dalel_s_forms_with_their_positions(postgres):
    with psycopg.connect(postgres, autocommit=True) as pg:
        vector = tsquery.tsvector_literal(["захват", "мирный", "власть", "захват"])
        assert vector == ("'захват':1,4 'мирный':2 'власть':3"
                          " 'захват мирный':1 'мирный власть':2 'власть захват':3")
        (phrase, near, loose, pairs, apart) = pg.execute(
            "SELECT v @@ CAST(%s AS tsquery), v @@ CAST(%s AS tsquery), v @@ CAST(%s AS tsquery),"
            " v @@ CAST(%s AS tsquery), v @@ CAST(%s AS tsquery) FROM CAST(%s AS tsvector) v",
            ("'захват' <-> 'власть'", "'захват' <2> 'власть'", "'мирн':* & !'суд'",
             "'захват мирный' <-> 'мирный власть'", "'захват мирный' <-> 'власть захват'", vector)).fetchone()
        assert (phrase, near, loose, pairs, apart) == (False, True, True, True, False)


def test_an_exact_phrase_is_asked_as_its_pairs_and_finds_what_its_words_find(postgres, tmp_path):
    """A quoted phrase compiles to its neighbouring pairs (each the OR of its words' forms
    paired), and across a segment boundary as the pairs the bridge row holds; near spellings
    keep the words; the hits are FTS5's."""
    def build(s):
        video, _ = s.videos.discover("pairs", "p1", "https://example.org/p1", channel="pairs")
        s.transcripts.add_text(video, source="asr", model="by hand", segments=[
            store.SegmentRecord(0.0, 3.0, "Они говорили о захвате власти в стране.", "ru"),
            store.SegmentRecord(3.0, 6.0, "Власть и захват: слова стояли врозь.", "ru"),
            store.SegmentRecord(6.0, 9.0, "Мирный захват власти был невозможен.", "ru"),
            store.SegmentRecord(9.0, 10.0, "А они готовили захват", "ru"),      # across a boundary
            store.SegmentRecord(10.0, 12.0, "власти в стране.", "ru")])
    lite, pg = pair(postgres, tmp_path / "pairs.sqlite3", build)
    def compiled(q: str, families: bool = True) -> str:
        return tsquery.compile_segments(store.match.resolve(pg.conn, store.parse(q), None, families=families), False)
    assert compiled('"захват власти"', families=False) == "('захват власть')"
    assert compiled('"мирный захват власти"', families=False) == "('мирный захват' <-> 'захват власть')"
    assert "'захватить власть'" in compiled('"захват власти"')      # the verb's forms paired too
    crossing = store.match.resolve(pg.conn, store.parse('"захват власти"'), None, families=False)
    assert tsquery.compile_crossing(crossing, False) == f"(('захват {BOUNDARY}' <-> '{BOUNDARY} власть'))"
    near = store.match.resolve(pg.conn, store.parse('"захват власти"'), None, families=False, approximate=True)
    assert "'захват власть'" not in tsquery.compile_segments(near, True)   # near spellings: the words
    for q in ('"захват власти"', '"мирный захват власти"', '"власть и захват"', '"захват власти" -мирный'):
        fts = store.search(lite, store.parse(q), approximate=False)
        tsq = store.search(pg, store.parse(q), approximate=False)
        assert hits(fts) == hits(tsq) and fts.total == tsq.total, q
    assert store.search(pg, store.parse('"захват власти"'), approximate=False).total == 3
    lite.close()
    pg.close()


def test_an_index_written_before_the_pairs_is_given_the_same_pairs(postgres):
    """`dalel migrate` from schema step 3 adds to every tsvector already written exactly the pairs
    `tsvector_literal` writes now, quotes and backslashes included, and keeps the GIN indexes."""
    from store.pg import PgDatabase
    from store.pg.schema import STEPS
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS paired")
        admin.execute("CREATE DATABASE paired")
    url = postgres.rsplit("/", 1)[0] + "/paired"
    terms = [["захват", "власть", "захват", "o'brien", "back\\slash", "мир"], ["один"], []]
    with psycopg.connect(url, autocommit=True) as old:
        for step in STEPS[:3]:
            old.execute(step)
        old.execute("CREATE TABLE schema_version (version integer NOT NULL); INSERT INTO schema_version VALUES (3)")
        old.execute("INSERT INTO videos (platform, video_id, url, discovered_at) VALUES ('web', 'v1', 'u', 'now')")
        old.execute("INSERT INTO transcripts (video, created_at) VALUES (1, 'now')")
        for i, t in enumerate(terms, start=1):
            unpaired = " ".join(f"{lexeme(w)}:{n}" for n, w in enumerate(t, start=1))
            old.execute("INSERT INTO segments (transcript, video, seq, start, \"end\", text)"
                        " VALUES (1, 1, %s, 0, 1, '')", (i,))
            old.execute("INSERT INTO segments_tsv (id, video, transcript, source, tsv)"
                        " VALUES (%s, 1, 1, 'asr', CAST(%s AS tsvector))", (i, unpaired))
        old.execute("INSERT INTO bridges (id, terms, split, tsv) VALUES (1, '', 1, CAST(%s AS tsvector))",
                    (" ".join(f"{lexeme(w)}:{n}" for n, w in enumerate(terms[0], start=1)),))
    with PgDatabase(url) as d:
        assert d.migrate() == len(STEPS) - 3
        got = [r[0] for r in d.conn.execute("SELECT tsv::text FROM segments_tsv ORDER BY id")]
        want = [d.conn.execute("SELECT CAST(%s AS tsvector)::text", (tsquery.tsvector_literal(t),)).fetchone()[0]
                for t in terms]
        assert got == want and "'захват власть':1" in got[0] and "'o''brien back\\\\slash':4" in got[0]
        bridge = d.conn.execute("SELECT tsv::text FROM bridges").fetchone()[0]
        assert bridge == want[0]
        indexes = {r[0] for r in d.conn.execute("SELECT indexname FROM pg_indexes WHERE tablename IN"
                                                " ('segments_tsv', 'bridges')")}
        assert {"segments_tsv_idx", "segments_tsv_lang", "bridges_tsv_idx"} <= indexes


def test_a_common_word_is_ranked_and_counted_per_video_by_postgresql(postgres, tmp_path):
    """Above the rows read in full, PostgreSQL proposes the best-ranked rows and counts the rows
    per video itself (each row knows its video); totals and counts agree with FTS5."""
    def build(s):
        for n in range(3):
            video, _ = s.videos.discover("common", f"c{n}", f"https://example.org/c{n}", channel="common")
            lines = [f"Выборы прошли спокойно, строка {i}." for i in range(300)]
            s.transcripts.add_text(video, source="asr", model="by hand", segments=[
                store.SegmentRecord(float(i), i + 0.9, line, "ru") for i, line in enumerate(lines)])
    lite, pg = pair(postgres, tmp_path / "common.sqlite3", build)
    fts = store.search(lite, store.parse("выборы"), store.SearchOptions(limit=20), approximate=False)
    tsq = store.search(pg, store.parse("выборы"), store.SearchOptions(limit=20), approximate=False)
    assert not fts.total_exact and fts.total == tsq.total == 900
    assert fts.videos == tsq.videos == {"c0": 300, "c1": 300, "c2": 300}
    assert len(tsq.hits) == 20 and {h.matches for h in tsq.hits} == {("Выборы",)}
    # a report reads every row: 900 segments, more than one SQLite statement takes, one array
    # to PostgreSQL — every mention once on both
    full = [store.search(s, store.parse("выборы"), store.SearchOptions(limit=1000), approximate=False,
                         exhaustive=True) for s in (lite, pg)]
    assert [(r.total, r.total_exact, len(r.hits)) for r in full] == [(900, True, 900)] * 2
    assert hits(full[0]) == hits(full[1]) and len(set(hits(full[1]))) == 900
    lite.close()
    pg.close()


FILTERED = ['выборы channel:"Ne deidi"', "выборы after:2024-03-05", "выборы before:2024-03-02", "выборы lang:ru",
            "выборы source:metadata", "выборы source:asr", "выборы video:Demo01", '"захвату власти" source:asr',
            "власть after:2024-03-02 source:asr", "выборы lang:kk", "новости OR выборы channel:Other"]


@pytest.mark.parametrize("narrow", [True, False], ids=["videos-rows", "index"])
def test_filtered_queries_find_the_same_hits_on_both_backends(postgres, tmp_path, monkeypatch, narrow):
    """Channel, dates, video, language and transcript source filter the PostgreSQL candidates as
    they filter FTS5's: the same mentions, totals and counts per video — whether the filter's
    few videos' own rows are read or the index's rows of the words are filtered."""
    if not narrow:
        monkeypatch.setattr(filters, "NARROW_ROWS", 0)
    from tests.unit.test_search_units import BROADCAST, NEWS, segments
    def build(s):
        src = s.sources.add("https://example.org/feed.xml", "feed", "https://example.org/feed.xml", "Ne deidi", None)
        for vid, title, published, lines in (("Demo01", "Эфир: о выборах", "2024-03-01", BROADCAST),
                                             ("Demo02", "Новости недели: выборы", "2024-03-08", NEWS)):
            video, _ = s.videos.discover("example", vid, f"https://example.org/{vid}", source_id=src.id, title=title,
                                         channel="Ne deidi", published=f"{published}T18:00:00+00:00")
            s.transcripts.add_text(video, source="metadata", model="title", bridges=False,
                                   segments=[store.SegmentRecord(0, 0, title, None)])
            s.transcripts.add_text(video, source="asr", model="by hand", segments=segments(lines))
        other, _ = s.videos.discover("example", "Other01", "https://example.org/o", channel="Other",
                                     published="2024-04-01T10:00:00+00:00")
        s.transcripts.add_text(other, source="asr", model="by hand", segments=segments(["Новости о выборах."]))
    lite, pg = pair(postgres, tmp_path / "filtered.sqlite3", build)
    totals = []
    for q in FILTERED:
        fts = store.search(lite, store.parse(q), store.SearchOptions(limit=100))
        tsq = store.search(pg, store.parse(q), store.SearchOptions(limit=100))
        assert hits(fts) == hits(tsq), q
        assert (fts.total, fts.videos) == (tsq.total, tsq.videos), q
        totals.append(fts.total)
    assert all(totals[:7]) and totals[9] == 0 and totals[0] != totals[3]   # the filters did narrow
    lite.close()
    pg.close()


def test_a_narrow_filter_reads_its_videos_rows_once_and_only_theirs(postgres, tmp_path):
    """A video transcribed again after others holds ids on both sides of theirs: the rows read
    for `video:` are its own only, each once (the ranges merged), and the counts exact — in
    FTS5 and PostgreSQL alike."""
    def build(s):
        videos = {}
        for vid in ("A", "B", "C"):
            videos[vid], _ = s.videos.discover("example", vid, f"https://example.org/{vid}", channel="Ne deidi")
        for n, vid in enumerate(("A", "B", "A", "C")):      # A's second transcript after B's
            s.transcripts.add_text(videos[vid], source="asr", model=f"by hand {n}", segments=[
                store.SegmentRecord(100.0 * n + i, 100.0 * n + i + 0.9, f"Выборы в эфире {vid}, строка {i}.", "ru")
                for i in range(30)])
    lite, pg = pair(postgres, tmp_path / "narrow.sqlite3", build)
    spans = pg.conn.raw.execute("SELECT video, min(id), max(id), count(*) FROM segments GROUP BY video"
                                " ORDER BY video").fetchall()
    assert spans[0][2] - spans[0][1] + 1 > spans[0][3]       # A's ids enclose B's
    a_pk = spans[0][0]
    assert filters.narrow_ranges(pg.conn, [a_pk]) == [(spans[0][1], spans[0][2])]
    assert filters.narrow_ranges(pg.conn, [a_pk, spans[1][0]]) == [(spans[0][1], spans[0][2])]   # B's inside A's
    assert filters.narrow_ranges(lite.conn, [1, 2]) == [(1, 90)]          # SQLite's ids: A 1–30 and 61–90, B 31–60
    for q in ("выборы video:A", '"в эфире" video:A', "выборы video:B", "строка video:C"):
        fts = store.search(lite, store.parse(q), store.SearchOptions(limit=100), approximate=False)
        tsq = store.search(pg, store.parse(q), store.SearchOptions(limit=100), approximate=False)
        assert hits(fts) == hits(tsq), q
        assert (fts.total, fts.videos) == (tsq.total, tsq.videos), q
    a = store.search(pg, store.parse("выборы video:A"), store.SearchOptions(limit=100), approximate=False)
    assert a.videos == {"A": 60} and len(a.hits) == 60 and {h.video_id for h in a.hits} == {"A"}
    lite.close()
    pg.close()
