"""How decoded text is cut into segments and what counts as covered by words (no Whisper needed)."""
from __future__ import annotations

from transcribe.timeline import Segment, Word, covered, same_word, sentences, uncovered, unstretched


def words(*items: tuple[float, float, str]) -> tuple[Word, ...]:
    return tuple(Word(a, b, w, 0.9) for a, b, w in items)


def test_a_chunk_is_cut_into_segments_at_sentence_ends_pauses_and_length():
    run = tuple((5.2 + 0.6 * i, 5.7 + 0.6 * i, " да") for i in range(40))   # 5.2 s to 29.1 s, no pause
    chunk = Segment(0.0, 29.1, "", "ru", 0.8, 0.99, words(
        (0.0, 0.5, " Мы"), (0.6, 1.2, " призываем."),          # a sentence's end
        (1.5, 2.0, " Власть"), (2.1, 2.6, " обязана"),          # then a 1.4 s pause, no full stop
        (4.0, 4.5, " защищать"), (4.6, 5.0, " граждан"), *run))  # on past 20 s
    parts = sentences(chunk)
    assert [p.text for p in parts[:2]] == ["Мы призываем.", "Власть обязана"]
    assert parts[2].text.startswith("защищать граждан да да")
    assert len(parts) == 4 and parts[3].text.startswith("да") and parts[2].end - parts[2].start <= 20.0
    assert (parts[0].start, parts[0].end, parts[1].start) == (0.0, 1.2, 1.5)
    assert [w for p in parts for w in p.words] == list(chunk.words)       # every word once, in order
    assert all(p.lang == "ru" and p.probability == 0.8 and p.lang_probability == 0.99 for p in parts)
    single = Segment(0.0, 1.2, "Мы призываем.", "ru", 0.8, 0.99, chunk.words[:2])
    assert sentences(single) == [single]


def test_a_word_stretched_over_skipped_speech_does_not_hide_it():
    # the aligner gave «власти» 4.5 s: the decoder skipped the sentence after it
    seg = Segment(10.0, 16.0, "к захвату власти", "ru", 0.8, 1.0, words(
        (10.0, 10.3, " к"), (10.4, 11.0, " захвату"), (11.1, 15.6, " власти")))
    gaps = uncovered([(10.0, 16.0)], covered([seg], 0.0))
    assert gaps and gaps[0][0] <= 13.0 and sum(b - a for a, b in gaps) >= 2.5


def test_a_stretched_word_is_ended_where_the_speech_found_under_it_begins():
    seg = Segment(10.0, 15.6, "к захвату власти", "ru", 0.8, 1.0, words(
        (10.0, 10.3, " к"), (10.4, 11.0, " захвату"), (11.1, 15.6, " власти")))
    found = [Segment(12.4, 15.5, "мы призываем", "ru", 0.7, 0.0,
                     words((12.4, 12.9, " мы"), (13.0, 15.5, " призываем")))]
    [fixed] = unstretched([seg], found)
    assert [(w.start, w.end) for w in fixed.words] == [(10.0, 10.3), (10.4, 11.0), (11.1, 12.4)]
    assert fixed.end == 12.4 and fixed.text == seg.text
    assert unstretched([found[0]], []) == found                           # nothing found: unchanged


def test_a_word_heard_again_is_not_added_twice():
    known = Word(11.1, 11.6, " власти.", 0.9)
    assert same_word(Word(11.2, 11.7, " Власти", 0.8), known)
    assert not same_word(Word(11.2, 11.7, " власть", 0.8), known)
    assert not same_word(Word(12.0, 12.4, " власти", 0.8), known)       # said again, later
