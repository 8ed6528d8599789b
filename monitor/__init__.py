"""monitor: find new videos at their sources and archive them byte-exact.

Does not import transcribe/ or store/.
"""
from .archive import ArchiveOptions, Archived, ArchivedFile, adopt, archive, clean_tmp, sha256_file
from .errors import Deferred, DownloadError, FeedError, MonitorError
from .feeds import Entry, Feed, parse_feed
from .fetch import HttpOptions
from .sources import Listing, SourceSpec, identify, list_source
from .ytdlp import YtdlpOptions
from .ytdlp import version as ytdlp_version

__all__ = [
    "ArchiveOptions", "Archived", "ArchivedFile", "Deferred", "DownloadError", "Entry", "Feed",
    "FeedError", "HttpOptions", "Listing", "MonitorError", "SourceSpec", "YtdlpOptions", "adopt",
    "archive", "clean_tmp", "identify", "list_source", "parse_feed", "sha256_file", "ytdlp_version",
]
