"""One classification of failures, shared by feeds, listings and downloads: transient
(trying again later may help: a 5xx, 408/425/429, a timeout, a cut connection) or
permanent (it cannot: 403/404/410, a private or removed video, an unsupported URL).
The app queues transient failures for retry with back-off; only permanent ones, or
transient ones out of retries, are final."""
from __future__ import annotations

import re

__all__ = ["permanent_message", "transient_status"]

# yt-dlp's messages after which retrying cannot help.
_PERMANENT = re.compile(
    r"private video|video unavailable|has been removed|members[- ]only|join this channel|"
    r"not available in your country|geo.?restrict|unsupported url|copyright|account .* terminated|"
    r"http error 404|http error 410|http error 403|this video is not available|no video formats",
    re.I)


def permanent_message(message: str) -> bool:
    """Whether an error message (yt-dlp's, cleaned) says retrying cannot help."""
    return bool(_PERMANENT.search(message))


def transient_status(status: int) -> bool:
    """Whether an HTTP error status may pass: 408, 425, 429 and every 5xx."""
    return status in (408, 425, 429) or status >= 500
