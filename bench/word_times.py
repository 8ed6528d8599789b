"""Are the words at the player's times? Sentence starts and ends in the held-out news recording.

bench/news_speech.py records when each of its 72 sentences starts and ends (Festival's audio,
joined with known pauses). Each system transcribes the recording with word timestamps; the
script's words are aligned with the transcript's in order (a minimum-edit alignment), and for
each sentence whose first (last) word was heard right, that word's start (end) is compared with
the sentence's. Printed: how many sentences were compared, and the median, 90th percentile and
largest distance, with the mean signed error (negative: too early).
  plain:  WhisperModel.transcribe(audio, word_timestamps=True), otherwise defaults (sequential,
          timestamp tokens);
  dalel:  Dalel's speech engine (transcribe.Transcriber) with its defaults.
The ends carry a bias common to both: a sentence's recorded end includes the silence Festival
leaves after its last word.

    .venv/bin/python bench/word_times.py
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def words_of(system: str, audio: str) -> list[tuple[float, float, str]]:
    """(start, end, word) of every word the system writes."""
    if system == "plain":
        from faster_whisper import WhisperModel

        from transcribe import ensure_base_model
        model = WhisperModel(str(ensure_base_model()), device="cpu", compute_type="int8")
        segments, _ = model.transcribe(audio, word_timestamps=True)
        return [(w.start, w.end, w.word) for s in segments for w in (s.words or [])]
    from transcribe import Segment, TranscribeOptions, Transcriber
    _, events = Transcriber(TranscribeOptions(languages=("kk", "ru"))).transcribe(audio)
    return [(w.start, w.end, w.word) for e in events if isinstance(e, Segment) for w in e.words]


def errors(truth: list[dict], words: list[tuple[float, float, str]]) -> tuple[list[float], list[float]]:
    """Signed errors of the sentences' first-word starts and last-word ends (heard right only)."""
    import transcribe_speed as ts
    hyp, times = [], []
    for start, end, word in words:
        for token in ts._words(word):
            hyp.append(token)
            times.append((start, end))
    ref, first, last = [], {}, {}
    for i, sentence in enumerate(truth):
        tokens = ts._words(sentence["text"])
        first[len(ref)], last[len(ref) + len(tokens) - 1] = i, i
        ref += tokens
    pairs = {i: j for i, j, equal in ts._aligned(ref, hyp) if equal}
    starts = [times[pairs[k]][0] - truth[i]["start"] for k, i in first.items() if k in pairs]
    ends = [times[pairs[k]][1] - truth[i]["end"] for k, i in last.items() if k in pairs]
    return starts, ends


def main() -> None:
    import news_speech
    truth = json.loads(news_speech.TRUTH.read_text(encoding="utf-8"))
    print(f"{len(truth)} sentences, {news_speech.AUDIO.name}")
    print(f"{'system':7} {'edge':6} {'n':>3} {'median':>7} {'p90':>6} {'max':>6} {'mean signed':>12}  (seconds)")
    for system in ("plain", "dalel"):
        for edge, errs in zip(("start", "end"), errors(truth, words_of(system, str(news_speech.AUDIO)))):
            size = sorted(abs(e) for e in errs)
            print(f"{system:7} {edge:6} {len(size):>3} {statistics.median(size):>7.2f} "
                  f"{size[int(0.9 * (len(size) - 1))]:>6.2f} {size[-1]:>6.2f} {statistics.mean(errs):>12.2f}")


if __name__ == "__main__":
    main()
