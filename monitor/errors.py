"""The monitor's exception tree."""


class MonitorError(Exception):
    """Base class for everything the monitor raises."""


class FeedError(MonitorError):
    """A source that cannot be fetched or parsed."""


class DownloadError(MonitorError):
    """A video that could not be archived. `permanent` says whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class Deferred(MonitorError):
    """A live or upcoming stream: archive it once it has ended."""
