"""The app's errors, and the list of every stage's error a user may see as one line."""
from monitor import MonitorError
from store import StoreError
from transcribe import TranscribeError


class DalelError(Exception):
    """Base class for errors raised by the app package itself."""


class ConfigError(DalelError):
    """A config file or value that cannot be used; the message names key and fix."""


USER_ERRORS = (DalelError, MonitorError, StoreError, TranscribeError)
