"""monitor: find new videos at their sources and archive them byte-exact.

Does not import transcribe/ or store/.
"""
from .archive import ArchiveOptions, Archived, ArchivedFile, adopt, archive, clean_tmp, sha256_file
from .errors import Cancelled, Deferred, DownloadError, FeedError, MonitorError
from .feeds import Entry, Feed, parse_feed
from .fetch import Fetcher, HttpOptions, preflight
from .objects import ObjectArchive, S3Options, StoredObject
from .sources import Listing, SourceSpec, identify, list_source, reconcile
from .ytdlp import YtdlpOptions, check_available
from .ytdlp import version as ytdlp_version

__all__ = [
    "ArchiveOptions", "Archived", "ArchivedFile", "Cancelled", "Deferred", "Fetcher", "DownloadError", "Entry", "Feed",
    "FeedError", "HttpOptions", "Listing", "MonitorError", "ObjectArchive", "S3Options", "SourceSpec", "StoredObject",
    "YtdlpOptions", "adopt",
    "archive", "check_available", "clean_tmp", "identify", "list_source", "parse_feed", "reconcile",
    "preflight", "sha256_file", "ytdlp_version",
]
