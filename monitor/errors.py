"""The monitor's exception tree."""


class MonitorError(Exception):
    """Base class for everything the monitor raises."""


class FeedError(MonitorError):
    """A source that cannot be fetched or parsed.

    `retry_after` is the wait in seconds the server asked for (429/503), if any;
    `transient` says whether trying again later may help; `answered`, whether a server was
    there (it answered with an error status, or accepted the connection and then stalled) —
    as opposed to a name that does not resolve or a port nobody listens on.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, transient: bool = True,
                 answered: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.transient = transient
        self.answered = answered


class DownloadError(MonitorError):
    """A video that could not be archived. `permanent` says whether retrying can help;
    `retry_after` is the wait in seconds the server asked for (429/503), if any."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Cancelled(MonitorError):
    """Work stopped because the process is shutting down; it resumes on the next start."""


class Deferred(MonitorError):
    """A live or upcoming stream: archive it once it has ended (or record it: `live` says the
    stream is live now, so a recorder may take it)."""

    def __init__(self, message: str, *, live: bool = False):
        super().__init__(message)
        self.live = live
