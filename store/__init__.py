"""store: the archive's database, its full-text index and the query language.

Imports none of its sibling stages.
"""
from .analysis import Token, analyse, guess_lang, index_text, normalise
from .db import FileRecord, SegmentRecord, Source, Store, Video, WordRecord, parse_stamp, stamp, utcnow
from .queue import Job, Queue
from .errors import NotFound, QueryError, StoreError
from .query import Query, parse
from .search import Hit, Results, SearchOptions, search
from .watch import Watch, add_watch, alerts, list_watches, mark_delivered, record_alerts, remove_watch

__all__ = [
    "FileRecord", "Hit", "Job", "Queue", "NotFound", "Query", "QueryError", "Results", "SearchOptions",
    "SegmentRecord", "Source", "Store", "StoreError", "Token", "Video", "Watch", "WordRecord",
    "add_watch", "alerts", "list_watches", "mark_delivered", "record_alerts", "remove_watch",
    "analyse", "guess_lang", "index_text", "normalise", "parse", "parse_stamp", "search", "stamp", "utcnow",
]
