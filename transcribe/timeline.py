"""Where speech and words lie in time, with no model: the speech Silero VAD finds, a decoded
text cut into segments by its words, and how much of the speech the words cover (the coverage
check that finds speech the decoder skipped)."""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace

import numpy as np

WORD_PAD_S = 0.4     # a word covers this much around it (pauses between words are speech to VAD)
PAUSE_S = 1.0        # a pause this long between two words ends a segment
MAX_SEGMENT_S = 20.0
SENTENCE_END = (".", "!", "?", "…")


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    lang: str
    probability: float              # exp(mean log-probability of the tokens)
    lang_probability: float = 1.0   # of `lang` among the configured languages
    words: tuple[Word, ...] = ()


def speech_spans(samples: np.ndarray, max_s: float = 30.0) -> list[tuple[int, int]]:
    """Silero VAD's speech (sample ranges), with the batched pipeline's settings."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return [(ts["start"], ts["end"]) for ts in get_speech_timestamps(
        samples, VadOptions(max_speech_duration_s=max_s, min_silence_duration_ms=160))]


class Joined:
    """Speech joined without its pauses (how the batched pipeline decodes it), mapped back to
    the recording's time. `spans` are the speech's (start, end) in seconds, in order."""

    def __init__(self, spans: list[tuple[float, float]]):
        self.spans = spans
        self.ends: list[float] = []     # each span's end, in the joined audio
        self.shift: list[float] = []    # recording time - joined time, within each span
        at = 0.0
        for a, b in spans:
            self.shift.append(a - at)
            at += b - a
            self.ends.append(at)

    def index(self, t: float, end: bool = False) -> int:
        """The span a joined time falls in (a time at a junction: the later span, or the earlier
        one for an `end`)."""
        find = bisect.bisect_left if end else bisect.bisect_right
        return min(find(self.ends, t), len(self.ends) - 1)

    def time(self, t: float, end: bool = False) -> float:
        return round(float(t) + self.shift[self.index(t, end)], 2)

    def words(self, words: list[tuple[float, float, str]]) -> list[tuple[float, float]]:
        """Recording times of one decoded text's words, given as (start, end, word) in joined time.
        Each goes to the span of its middle, as the library places them, but cut at that span's
        edges: the aligner stretches a word at a junction over the pause padding VAD leaves there,
        and the library let it begin or end in the pause, where VAD found no speech. One more
        rule: a word laid across a junction with no word before it in its first span, the next
        word in its last and no sentence ending on it goes to its last span — it is the first word
        after something VAD took for speech but was not (music before a broadcast's first words:
        the aligner makes the first word start where the audio starts). On the bench's recordings
        this rule moves no word; on one opening with 5 s of music it put «Мы» back before
        «никогда», not 10 s earlier at the music's end."""
        mids = [self.index((s + e) / 2) for s, e, _ in words]
        out: list[tuple[float, float]] = []
        placed: list[int] = []
        for n, (s, e, word) in enumerate(words):
            k, first, last = mids[n], self.index(s), self.index(e, end=True)
            if first < last and k != last and n + 1 < len(words) and mids[n + 1] == last \
                    and (not placed or placed[-1] < first) and not word.rstrip().endswith(SENTENCE_END):
                k = last
            lo, hi = self.spans[k]
            start = min(max(float(s) + self.shift[k], lo), hi)
            out.append((round(start, 2), round(max(start, min(float(e) + self.shift[k], hi)), 2)))
            placed.append(k)
        return out


def unstretched(segments: list[Segment], found: list[Segment]) -> list[Segment]:
    """The segments with every word that runs over a word found later (decoded again where speech
    had no words) ended where that word starts: the aligner had stretched it over the skipped speech."""
    starts = sorted(w.start for f in found for w in f.words)
    out = []
    for seg in segments:
        words = tuple(replace(w, end=max(w.start, min(x for x in starts if w.start < x < w.end)))
                      if any(w.start < x < w.end for x in starts) else w for w in seg.words)
        out.append(replace(seg, end=words[-1].end, words=words) if words != seg.words else seg)
    return out


def word_seconds(word: str) -> float:
    """The most speech a word is evidence of: 0.4 s and 0.1 s a letter (0.5 s a digit, said as
    a number word). The aligner stretches the words next to speech the decoder skipped over it;
    of 1,450 words decoded from the bench's recordings, 12 ran past this, by at most 0.5 s."""
    letters = sum(1 for c in word if c.isalpha())
    digits = sum(1 for c in word if c.isdigit())
    return 0.4 + 0.1 * letters + 0.5 * digits


def covered(segments: list[Segment], offset: float) -> list[tuple[float, float]]:
    """The window's seconds within words (each padded: VAD counts short pauses as speech; each
    counted for no more than word_seconds)."""
    spans = []
    for s in segments:
        if s.words:
            spans += [(w.start - offset - WORD_PAD_S, min(w.end, w.start + word_seconds(w.word)) - offset + WORD_PAD_S)
                      for w in s.words]
        else:
            spans.append((s.start - offset, s.end - offset))
    return sorted(spans)


def uncovered(speech: list[tuple[float, float]], covered: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of the speech intervals that no covered interval reaches."""
    out = []
    for a, b in speech:
        cur = a
        for c, d in covered:
            if d <= cur or c >= b:
                continue
            if c > cur:
                out.append((cur, c))
            cur = max(cur, d)
            if cur >= b:
                break
        if cur < b:
            out.append((cur, b))
    return [(a, b) for a, b in out if b - a > 0.01]


def same_word(w: Word, k: Word) -> bool:
    """The same spelling (letters and digits, any case) at overlapping times."""
    return min(w.end, k.end) > max(w.start, k.start) and \
        re.sub(r"\W+", "", w.word.lower()) == re.sub(r"\W+", "", k.word.lower())


def sentences(seg: Segment) -> list[Segment]:
    """A decoded stretch cut into segments by its words: after a sentence's end (. ! ? …),
    at a pause of PAUSE_S or more, and before a segment would pass MAX_SEGMENT_S. (A chunk
    decoded without timestamp tokens comes as one text of up to 30 s.)"""
    if len(seg.words) < 2:
        return [seg]
    parts: list[list[Word]] = [[seg.words[0]]]
    for w in seg.words[1:]:
        last = parts[-1][-1]
        if last.word.rstrip().endswith(SENTENCE_END) or w.start - last.end >= PAUSE_S \
                or w.end - parts[-1][0].start > MAX_SEGMENT_S:
            parts.append([w])
        else:
            parts[-1].append(w)
    if len(parts) == 1:
        return [seg]
    return [Segment(p[0].start, p[-1].end, "".join(w.word for w in p).strip(), seg.lang, seg.probability,
                    seg.lang_probability, tuple(p)) for p in parts]
