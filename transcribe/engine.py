"""Speech to timestamped text with faster-whisper, for long, code-switching broadcasts.

The audio is decoded in windows (memory stays flat over a three-hour stream); each
window goes through Silero VAD and the batched pipeline, which decodes every ~30 s
speech chunk in the likeliest of the configured languages. Events stream out as they
are produced: segments, dropped segments (with why), and a checkpoint after each
window, so a caller can store the work and resume after a crash.
"""
from __future__ import annotations

import itertools
import logging
import math
import re
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Union

import numpy as np

from . import audio as audiomod
from . import model as models
from . import timeline
from .errors import ModelError
from .timeline import Segment, Word

if TYPE_CHECKING:     # faster-whisper is imported with the first model: `dalel search` never needs it
    from .pipeline import RestrictedLanguagePipeline

log = logging.getLogger("dalel.transcribe")
SAMPLE_RATE = audiomod.SAMPLE_RATE


@dataclass(frozen=True)
class TranscribeOptions:
    model: str = models.BASE_NAME
    device: str = "auto"            # auto | cpu | cuda
    compute_type: str = "auto"      # auto: float16 on CUDA, int8 on CPU
    languages: tuple[str, ...] = ("kk", "ru")
    batch_size: int = 8
    beam_size: int = 5
    cpu_threads: int = 0            # 0: all cores
    window_s: float = 600.0         # audio decoded and checkpointed per window
    # Per-language models, e.g. (("kk", "/srv/models/kazakh-ct2"), ("ru", "large-v3")): the
    # default model then identifies each chunk's language and the language's model decodes it.
    models: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Dropped:
    """A segment not kept: a repetition loop that a retry could not fix, or no speech."""
    start: float
    end: float
    text: str
    reason: str


@dataclass(frozen=True)
class Coverage:
    """How much of a window's detected speech the transcript's words cover: the speech
    seconds (Silero VAD), the seconds within words, the stretches of speech without words
    that were decoded again on their own, those still without words after that, and the
    stretches of audio that could not be decoded (damaged, or missing from a file cut short)."""
    start: float
    end: float
    speech_s: float
    covered_s: float
    redecoded: tuple[tuple[float, float], ...] = ()
    empty: tuple[tuple[float, float], ...] = ()
    undecodable: tuple[tuple[float, float], ...] = ()   # audio that could not be decoded: never heard


@dataclass(frozen=True)
class Checkpoint:
    """Everything before `seconds` has been produced."""
    seconds: float


Event = Union[Segment, Dropped, Coverage, Checkpoint]
GAP_S = 1.0          # speech without words longer than this is decoded again
VAD_PAD_S = 0.4      # Silero VAD's speech_pad_ms: silence it adds on each side of speech


@dataclass(frozen=True)
class TranscriptInfo:
    duration: float                 # seconds of audio
    model: str
    settings: dict = field(default_factory=dict)


_CHAR_RUN = re.compile(r"(\w)\1{7,}")                          # "үүүүүүүү"
_WORD_LOOP = re.compile(r"\b(\w+(?:\W+\w+){0,3}?)(?:\W+\1\b){3,}", re.I)  # "да да да да"


def looping(text: str) -> bool:
    """A repetition loop: a letter run, a word group repeated 4+ times, or text that
    compresses too well (Whisper's own criterion, ratio > 2.4)."""
    if _CHAR_RUN.search(text) or _WORD_LOOP.search(text):
        return True
    data = text.encode("utf-8")
    return len(data) > 60 and len(data) / len(zlib.compress(data)) > 2.4


def _device(opts: TranscribeOptions) -> tuple[str, str]:
    device = opts.device
    if device == "auto":
        import ctranslate2
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    compute = opts.compute_type
    if compute == "auto":
        compute = "float16" if device == "cuda" else "int8"
    return device, compute


class Transcriber:
    """One loaded model; transcribe many files with it.

    The models load in a thread while the caller goes on, and `transcribe` decodes the first
    window's audio and finds its speech while they finish loading (on a 62 s recording the
    whole `dalel transcribe` took 2.59 s instead of 2.69 s); a model that cannot load still
    fails `transcribe` itself, before anything is produced."""

    def __init__(self, opts: TranscribeOptions = TranscribeOptions()):
        self.opts = opts
        self.label = models.resolve(opts.model)[1]                    # a bad folder: ModelError now
        self.labels = {lang: models.resolve(name)[1] for lang, name in opts.models}
        self.device, self.compute_type = _device(opts)
        self.workers = models.cpu_workers(self.device, opts.cpu_threads, opts.batch_size)[0]
        pool = ThreadPoolExecutor(1, thread_name_prefix="whisper-load")
        self._loading = pool.submit(self._load_all, opts)
        pool.shutdown(wait=False)

    def _load_all(self, opts: TranscribeOptions) -> tuple[Any, RestrictedLanguagePipeline,
                                                          dict[str, RestrictedLanguagePipeline]]:
        from .pipeline import RestrictedLanguagePipeline

        model = self._load(opts, opts.model, "Whisper model")
        return model, RestrictedLanguagePipeline(model, opts.languages), {
            lang: RestrictedLanguagePipeline(self._load(opts, name, f"the {lang} model"), (lang,))
            for lang, name in opts.models}

    def _load(self, opts: TranscribeOptions, name: str, what: str) -> Any:
        try:
            return models.load(name, self.device, self.compute_type, opts.cpu_threads, opts.batch_size)
        except ModelError:
            raise
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError/OSError variously
            raise ModelError(f"cannot load {what} {name!r}: {exc}") from exc

    @property
    def model(self) -> Any:
        """The default model (waits for it to load; ModelError if it cannot)."""
        return self._loading.result()[0]

    @property
    def pipeline(self) -> RestrictedLanguagePipeline:
        return self._loading.result()[1]

    @property
    def by_language(self) -> dict[str, RestrictedLanguagePipeline]:
        return self._loading.result()[2]

    @property
    def model_label(self) -> str:
        return self.label + "".join(f"; {lang}: {label}" for lang, label in self.labels.items())

    def settings(self) -> dict:
        return asdict(self.opts) | {
            "device": self.device, "compute_type": self.compute_type,
            "workers": self.workers,   # a batch's chunks split among them
            "pipeline": "batched, language per chunk", "vad": "silero",
            "chunks": "speech joined up to 30 s (faster-whisper's)",
            "word_timestamps": True, "without_timestamps": True,
            "segments": f"split at sentence ends and pauses of {timeline.PAUSE_S:g} s or more",
            "condition_on_previous_text": False, "loop_guard": "retry with temperature fallback, else drop",
            "no_speech_drop": "no_speech_prob > 0.6 and avg_logprob < -1"}

    def transcribe(self, media_path: str, start_at: float = 0.0) -> tuple[TranscriptInfo, Iterator[Event]]:
        """Transcribe from `start_at` seconds (a checkpoint) to the end."""
        info = TranscriptInfo(round(audiomod.duration(media_path), 3), self.model_label, self.settings())
        pool = ThreadPoolExecutor(1, thread_name_prefix="first-window")
        damaged: list[tuple[float, float]] = []
        first = pool.submit(_first_window, audiomod.windows(media_path, self.opts.window_s, start_at, damaged))
        pool.shutdown(wait=False)
        self._loading.result()          # a model that cannot load fails here
        return info, self._events(first, damaged)

    def _events(self, first: Future, damaged: list[tuple[float, float]]) -> Iterator[Event]:
        head, rest = first.result()
        end = None
        for offset, samples, speech in itertools.chain(head, ((o, s, timeline.speech_spans(s)) for o, s in rest)):
            end = offset + len(samples) / SAMPLE_RATE
            lost = tuple((round(max(a, offset), 2), round(min(b, end), 2))
                         for a, b in damaged if a < end and b > offset)
            yield from self._complete(list(self._window(samples, offset, speech)), samples, offset, speech, lost)
            yield Checkpoint(round(end, 3))
        tail = [(a, b) for a, b in damaged if end is None or b > end]     # a file cut short: its end is missing
        if tail:
            start = tail[0][0] if end is None else max(end, tail[0][0])
            yield Coverage(round(start, 3), round(tail[-1][1], 3), 0.0, 0.0,
                           undecodable=tuple((round(max(a, start), 2), round(b, 2)) for a, b in tail))
            yield Checkpoint(round(tail[-1][1], 3))

    def _complete(self, events: list[Event], samples: np.ndarray, offset: float,
                  spans: list[tuple[int, int]], undecodable: tuple[tuple[float, float], ...] = ()) -> Iterator[Event]:
        """The window's events, with every stretch of detected speech that has no words decoded
        again on its own (sequentially, timestamps on), so no speech is silently lost — the
        batched pipeline is known to drop whole segments (faster-whisper #1179, #1351) — and
        the window's coverage."""
        segments = [e for e in events if isinstance(e, Segment)]
        speech = [(a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in spans]
        gaps: list[tuple[float, float]] = []
        for a, b in timeline.uncovered(speech, timeline.covered(segments, offset)):   # near ones decoded together
            if gaps and a - gaps[-1][1] < 0.5:
                gaps[-1] = (gaps[-1][0], b)
            else:
                gaps.append((a, b))
        redecoded: list[tuple[float, float]] = []
        empty: list[tuple[float, float]] = []
        for a, b in gaps:
            if b - a < GAP_S:
                continue
            lang = _language_near(segments, offset + a, offset + b) or \
                self._identify(samples, [(int(a * SAMPLE_RATE), int(b * SAMPLE_RATE))])[0][0]
            near = [w for s in segments for w in s.words if offset + a - 5 < w.end and w.start < offset + b + 5]
            found = self._redecode(samples, offset, a, b, lang, near)
            segments = timeline.unstretched(segments, found) + found
            (redecoded if found else empty).append((round(offset + a, 2), round(offset + b, 2)))
            if found:
                log.info("re-decoded %.1f s of speech without words at %.1fs: %d segment(s)",
                         b - a, offset + a, len(found))
        merged: list[Segment | Dropped] = [*segments, *(e for e in events if isinstance(e, Dropped))]
        yield from sorted(merged, key=lambda e: e.start)
        # The figures count each stretch's core: VAD pads speech with 0.4 s of what is around it.
        core = [(a + VAD_PAD_S, b - VAD_PAD_S) for a, b in speech if b - a > 2 * VAD_PAD_S]
        still = timeline.uncovered(core, timeline.covered(segments, offset))
        speech_s = sum(b - a for a, b in core)
        yield Coverage(round(offset, 3), round(offset + len(samples) / SAMPLE_RATE, 3), round(speech_s, 2),
                       round(speech_s - sum(b - a for a, b in still), 2), tuple(redecoded),
                       tuple((round(offset + a, 2), round(offset + b, 2)) for a, b in still if b - a >= GAP_S),
                       undecodable)

    def _redecode(self, samples: np.ndarray, offset: float, a: float, b: float, lang: str,
                  known: list[Word]) -> list[Segment]:
        """Decode the stretch a..b (window seconds) alone; keep the words inside it that are not
        already in the transcript (a word heard again where a known one of the same spelling is)."""
        lo, hi = max(0, int((a - 0.3) * SAMPLE_RATE)), min(len(samples), int((b + 0.3) * SAMPLE_RATE))
        shift = offset + lo / SAMPLE_RATE
        found, _ = self.model.transcribe(
            samples[lo:hi], language=lang, beam_size=self.opts.beam_size, word_timestamps=True,
            vad_filter=False, condition_on_previous_text=False, without_timestamps=False)
        out = []
        for s in found:
            text = s.text.strip()
            if not text or looping(text) or (s.no_speech_prob > 0.6 and s.avg_logprob < -1.0):
                continue
            seg = _segment(s, lang, 0.0, shift)
            inside = tuple(w for w in seg.words if offset + a - 0.2 <= (w.start + w.end) / 2 <= offset + b + 0.2
                           and not any(timeline.same_word(w, k) for k in known))
            if inside:
                out.append(Segment(inside[0].start, inside[-1].end, "".join(w.word for w in inside).strip(),
                                   lang, seg.probability, 0.0, inside))
        return out

    def _window(self, samples: np.ndarray, offset: float, speech: list[tuple[int, int]]) -> Iterator[Event]:
        if len(samples) < SAMPLE_RATE // 10 or not speech:
            return      # no speech detected (the coverage says so: 0 s of speech)
        # faster-whisper's own batched way: the speech joined, without the pauses, into chunks of
        # up to 30 s, decoded without timestamp tokens; the words' times come from alignment and
        # the coverage check catches what the decoder skips. On the held-out news recording this
        # kept the plain call's word error rate (0.367) where clips cut at pauses with timestamp
        # tokens gave 0.389, and it is a fifth faster (bench/transcribe_speed.py). The chunks are
        # made here, from the VAD pass that serves the coverage, exactly as the library makes them.
        from faster_whisper.vad import collect_chunks

        from .pipeline import RestrictedLanguagePipeline

        spans = [{"start": a, "end": b} for a, b in speech]
        audio, chunks = collect_chunks(samples, spans, max_duration=30.0)
        joined = np.concatenate(audio)
        clips = [{"start": c["offset"], "end": c["offset"] + c["duration"]} for c in chunks]
        options = dict(batch_size=self.opts.batch_size, beam_size=self.opts.beam_size, vad_filter=False,
                       word_timestamps=True, without_timestamps=True, condition_on_previous_text=False,
                       log_progress=False)
        decoded = []    # (segment in the joined audio's time, language, its probability)
        if self.by_language:
            # each chunk's language identified with the default model, then the chunks of each
            # language decoded by its own model (the default one where none is set)
            langs = self._identify(joined, [(int(c["start"] * SAMPLE_RATE), int(c["end"] * SAMPLE_RATE))
                                            for c in clips])
            for lang in dict.fromkeys(lang for lang, _ in langs):
                pipeline = self.by_language[lang][0] if lang in self.by_language \
                    else RestrictedLanguagePipeline(self.model, (lang,))
                mine = [(c, p) for c, (lg, p) in zip(clips, langs) if lg == lang]
                segments, _ = pipeline.transcribe(joined, language=lang, clip_timestamps=[c for c, _ in mine],
                                                  **options)
                for seg in segments:
                    p = next((p for c, p in reversed(mine) if c["start"] <= seg.start + 0.01), 1.0)
                    decoded.append((seg, lang, p))
            decoded.sort(key=lambda x: x[0].start)
        else:
            self.pipeline.segment_languages.clear()
            segments, _ = self.pipeline.transcribe(joined, language=self.opts.languages[0], multilingual=True,
                                                   clip_timestamps=clips, **options)
            for seg in segments:
                lang, lang_p = self.pipeline.segment_languages.popleft() \
                    if self.pipeline.segment_languages else (self.opts.languages[0], 0.0)
                decoded.append((seg, lang, lang_p))
        joined_map = timeline.Joined([(a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in speech])
        for seg, lang, lang_p in decoded:
            if seg.words:
                for w, (a, b) in zip(seg.words, joined_map.words([(w.start, w.end, w.word) for w in seg.words])):
                    w.start, w.end = a, b
                seg.start, seg.end = seg.words[0].start, seg.words[-1].end
            else:
                seg.start, seg.end = joined_map.time(seg.start), joined_map.time(seg.end, end=True)
            yield from self._checked(seg, lang, lang_p, samples, offset)

    def _identify(self, samples: np.ndarray, clips: list[tuple[int, int]]) -> list[tuple[str, float]]:
        from faster_whisper.audio import pad_or_trim

        out: list[tuple[str, float]] = []
        for i in range(0, len(clips), self.opts.batch_size):
            feats = np.stack([pad_or_trim(self.model.feature_extractor(samples[a:b])[..., :-1])
                              for a, b in clips[i:i + self.opts.batch_size]])
            encoded = self.model.encode(feats)
            out += [self.pipeline._choose(r) for r in self.model.model.detect_language(encoded)]
        return out

    def _checked(self, s, lang: str, lang_p: float, samples: np.ndarray,
                 offset: float) -> Iterator[Event]:
        text = s.text.strip()
        if s.no_speech_prob > 0.6 and s.avg_logprob < -1.0:
            yield Dropped(offset + s.start, offset + s.end, text, "no speech")
        elif looping(text):
            yield from self._retry(s, lang, lang_p, samples, offset)
        elif text:
            yield from timeline.sentences(_segment(s, lang, lang_p, offset))

    def _retry(self, s, lang: str, lang_p: float, samples: np.ndarray,
               offset: float) -> Iterator[Event]:
        """Decode a looping stretch again, sequentially, with temperature fallback."""
        a, b = max(0, int((s.start - 0.2) * SAMPLE_RATE)), int((s.end + 0.2) * SAMPLE_RATE)
        retry, _ = self.model.transcribe(
            samples[a:b], language=lang, beam_size=self.opts.beam_size,
            temperature=(0.2, 0.4, 0.6, 0.8), condition_on_previous_text=False,
            no_repeat_ngram_size=3, compression_ratio_threshold=2.0, word_timestamps=True,
            vad_filter=False)
        kept = [r for r in retry if r.text.strip() and not looping(r.text)
                and not (r.no_speech_prob > 0.6 and r.avg_logprob < -1.0)]
        if not kept:
            log.info("dropped a repetition loop at %.1fs: %.60s", offset + s.start, s.text.strip())
            yield Dropped(offset + s.start, offset + s.end, s.text.strip(), "repetition loop")
            return
        for r in kept:
            yield from timeline.sentences(_segment(r, lang, lang_p, offset + a / SAMPLE_RATE))


def _first_window(windows: Iterator[tuple[float, np.ndarray]]) -> tuple[list, Iterator[tuple[float, np.ndarray]]]:
    """The first window with its speech spans (none if the audio is empty), and the rest."""
    for offset, samples in windows:
        return [(offset, samples, timeline.speech_spans(samples))], windows
    return [], windows


def _language_near(segments: list[Segment], a: float, b: float) -> str | None:
    """The language of the speech nearest to the stretch a..b (None: no speech decoded near)."""
    near = [(max(s.start - b, a - s.end, 0.0), s.lang) for s in segments if abs(s.start - a) < 60]
    return min(near)[1] if near else None


def _segment(s, lang: str, lang_p: float, offset: float) -> Segment:
    words = tuple(Word(round(offset + float(w.start), 3), round(offset + float(w.end), 3), w.word,
                       round(float(w.probability), 4)) for w in (s.words or []))
    return Segment(round(offset + float(s.start), 3), round(offset + float(s.end), 3), s.text.strip(),
                   lang, round(math.exp(float(s.avg_logprob)), 4), lang_p, words)
