"""The transcriber's exception tree."""


class TranscribeError(Exception):
    """Base class for everything transcribe/ raises."""


class ModelError(TranscribeError):
    """A Whisper model that cannot be found, verified or loaded."""


class AudioError(TranscribeError):
    """A media file whose audio cannot be decoded."""
