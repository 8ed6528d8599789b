"""How speech is cut into the clips the batched pipeline decodes (no Whisper needed)."""
from __future__ import annotations

from transcribe.engine import SAMPLE_RATE, pause_clips


def spans(*pairs: tuple[float, float]) -> list[tuple[int, int]]:
    return [(int(a * SAMPLE_RATE), int(b * SAMPLE_RATE)) for a, b in pairs]


def test_clips_are_cut_at_the_longest_pause_never_over_30_s_and_lose_no_speech():
    # sentences of ~4 s with short pauses (0.2 s) inside, a long pause (1.5 s) after 12 s
    speech = spans((0, 4), (4.2, 8), (8.2, 12), (13.7, 18), (18.2, 22), (22.2, 26), (26.2, 29), (29.2, 33),
                   (33.2, 37))
    clips = pause_clips(speech)
    assert clips[0] == (0, int(12 * SAMPLE_RATE))          # at the 1.5 s pause, not at 29.0–29.2
    assert all(b - a <= 30 * SAMPLE_RATE for a, b in clips)
    inside = [s for s in speech for a, b in clips if a <= s[0] and s[1] <= b]
    assert inside == speech                                  # every stretch in exactly one clip, in order
    assert pause_clips([]) == []


def test_a_pause_in_the_first_seconds_does_not_make_a_tiny_clip():
    speech = spans((0, 2), (5, 14), (14.3, 24), (24.3, 32))   # the longest pause is at 2 s
    first = pause_clips(speech)[0]
    assert (first[1] - first[0]) / SAMPLE_RATE >= 10
