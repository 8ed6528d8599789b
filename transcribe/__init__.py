"""transcribe: Kazakh and Russian speech to timestamped segments and words.

Does not import monitor/ or store/.
"""
from .audio import duration as media_duration
from .engine import (Checkpoint, Coverage, Dropped, Segment, TranscribeOptions, Transcriber,
                     TranscriptInfo, Word, looping)
from .errors import AudioError, ModelError, TranscribeError
from .model import ensure_base_model

__all__ = [
    "AudioError", "Checkpoint", "Coverage", "Dropped", "ensure_base_model", "looping",
    "media_duration", "ModelError", "Segment", "TranscribeError", "TranscribeOptions",
    "Transcriber", "TranscriptInfo", "Word",
]
