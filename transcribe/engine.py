"""Speech to timestamped text with faster-whisper.

Segments stream out as they are decoded, so a caller can store them as they come.
"""
from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from typing import Iterator

import numpy as np

from . import model as models
from .errors import AudioError, ModelError

log = logging.getLogger("dalel.transcribe")
SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class TranscribeOptions:
    model: str = models.BASE_NAME
    device: str = "auto"            # auto | cpu | cuda
    compute_type: str = "auto"      # auto: float16 on CUDA, int8 on CPU
    languages: tuple[str, ...] = ("kk", "ru")
    batch_size: int = 8
    beam_size: int = 5
    cpu_threads: int = 0            # 0: all cores
    vad: bool = True


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
    probability: float
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class TranscriptInfo:
    language: str
    language_probability: float
    duration: float                 # seconds of audio
    model: str
    settings: dict = field(default_factory=dict)


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
    """One loaded model; transcribe many files with it."""

    def __init__(self, opts: TranscribeOptions = TranscribeOptions()):
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.opts = opts
        path, self.label = models.resolve(opts.model)
        self.device, self.compute_type = _device(opts)
        try:
            self.model = WhisperModel(path, device=self.device, compute_type=self.compute_type,
                                      cpu_threads=opts.cpu_threads, local_files_only=path != opts.model)
        except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError/OSError variously
            raise ModelError(f"cannot load Whisper model {opts.model!r}: {exc}") from exc
        self.pipeline = BatchedInferencePipeline(self.model)

    def settings(self) -> dict:
        return asdict(self.opts) | {"device": self.device, "compute_type": self.compute_type,
                                    "pipeline": "batched", "word_timestamps": True,
                                    "without_timestamps": False}

    def transcribe(self, media_path: str) -> tuple[TranscriptInfo, Iterator[Segment]]:
        audio = decode(media_path)
        lang, prob = self.detect_language(audio)
        segments, info = self.pipeline.transcribe(
            audio, language=lang, batch_size=self.opts.batch_size, beam_size=self.opts.beam_size,
            vad_filter=self.opts.vad, word_timestamps=True, without_timestamps=False,
            condition_on_previous_text=False, log_progress=False)
        tinfo = TranscriptInfo(lang, prob, round(len(audio) / SAMPLE_RATE, 3), self.label,
                               self.settings())
        return tinfo, (_segment(s, lang) for s in segments)

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """The most likely of the configured languages (Whisper itself may pick any of 99)."""
        allowed = self.opts.languages
        if len(allowed) == 1:
            return allowed[0], 1.0
        _, _, probs = self.model.detect_language(audio, vad_filter=self.opts.vad,
                                                 language_detection_segments=3)
        scores = {code: p for code, p in probs if code in allowed}
        if not scores:
            return allowed[0], 0.0
        best = max(scores, key=scores.get)
        total = sum(scores.values()) or 1.0
        return best, round(scores[best] / total, 4)


def decode(media_path: str) -> np.ndarray:
    from faster_whisper import decode_audio

    try:
        return decode_audio(media_path, sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # PyAV raises many types for broken files
        raise AudioError(f"cannot decode the audio of {media_path}: {exc}") from exc


def _segment(s, lang: str) -> Segment:
    words = tuple(Word(float(w.start), float(w.end), w.word, float(w.probability))
                  for w in (s.words or []))
    return Segment(float(s.start), float(s.end), s.text.strip(), lang,
                   round(math.exp(float(s.avg_logprob)), 4), words)
