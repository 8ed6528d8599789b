"""How decoded text is cut into segments and what counts as covered by words (no Whisper needed)."""
from __future__ import annotations

from transcribe.timeline import Joined, Segment, Word, covered, same_word, sentences, uncovered, unstretched


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


# Speech at 2.0-5.0 s and 9.0-12.0 s of the recording, joined without the 4 s pause: 0-3 s and 3-6 s.
SPEECH = [(2.0, 5.0), (9.0, 12.0)]


def test_joined_times_go_back_to_the_recordings_times():
    joined = Joined(SPEECH)
    assert joined.words([(0.5, 0.9, " a"), (2.0, 2.6, " b"), (3.0, 3.4, " c"), (5.2, 6.0, " d")]) == \
        [(2.5, 2.9), (4.0, 4.6), (9.0, 9.4), (11.2, 12.0)]
    assert (joined.time(1.0), joined.time(3.0), joined.time(3.0, end=True), joined.time(4.5)) == (3.0, 9.0, 5.0, 10.5)


def test_a_word_laid_across_the_pause_stays_within_the_speech_of_its_middle():
    # the aligner stretched «военные» over the pause padding at the junction (2.6-3.9 joined)
    assert Joined(SPEECH).words([(1.8, 2.6, " заложников"), (2.6, 3.9, " военные.")])[1] == (9.0, 9.9)
    # (not 8.6: VAD found no speech before 9.0); its middle before the junction: cut at 5.0
    assert Joined(SPEECH).words([(1.4, 2.0, " заложников"), (2.0, 3.2, " военные")])[1] == (4.0, 5.0)


def test_the_first_word_after_what_vad_took_for_speech_goes_with_the_words_after_it():
    # music at 2-5 s passed VAD; «Мы» is laid over its end and the start of the speech at 9 s
    joined = Joined(SPEECH)
    assert joined.words([(2.2, 3.3, " Мы"), (3.3, 3.8, " никогда")]) == [(9.0, 9.3), (9.3, 9.8)]
    # a sentence ends on it, or a word before it is in the same span: the span of its middle
    assert joined.words([(2.2, 3.3, " Да."), (3.3, 3.8, " Мы")])[0] == (4.2, 5.0)
    assert joined.words([(1.5, 2.1, " и"), (2.2, 3.3, " мы"), (3.3, 3.8, " никогда")])[1] == (4.2, 5.0)


def test_joined_times_agree_with_the_librarys_within_the_speech():
    from faster_whisper.transcribe import Segment as FwSegment
    from faster_whisper.transcribe import Word as FwWord
    from faster_whisper.transcribe import restore_speech_timestamps

    times = [(0.02 * i, 0.02 * i + 0.3) for i in range(0, 280, 7)]
    inside = [(s, e) for s, e in times if (s < 3.0) == (e <= 3.0)]     # not across the junction
    words = [FwWord(s, e, "x", 0.9) for s, e in inside]
    seg = FwSegment(id=0, seek=0, start=0.0, end=6.0, text="x", tokens=[], avg_logprob=0.0,
                    compression_ratio=1.0, no_speech_prob=0.0, words=words, temperature=None)
    [restored] = restore_speech_timestamps([seg], [{"start": int(a * 16000), "end": int(b * 16000)}
                                                   for a, b in SPEECH], 16000)
    assert Joined(SPEECH).words([(s, e, " x") for s, e in inside]) == [(w.start, w.end) for w in restored.words]
