"""store: the archive's database, its full-text index and the query language.

Imports none of its sibling stages.
"""
from .text import ANALYSER_VERSION, LANGUAGES, Token, analyse, family, guess_lang, index_text, normalise
from . import custody
from .clock import parse_stamp, stamp, utcnow
from .db import Store
from .records import FileRecord, SegmentRecord, Source, Video, WordRecord
from .queue import Job, Queue
from .errors import NotFound, QueryError, StoreError
from .filters import SearchOptions, check_date, check_scope, scope
from .query import Query, parse
from .state import TRANSITIONS, VideoState
from .search import Hit, Results, search
from .watch import Watch, add_watch, alerts, list_watches, mark_delivered, record_alerts, remove_watch

__all__ = [
    "ANALYSER_VERSION", "LANGUAGES", "TRANSITIONS", "VideoState", "custody", "FileRecord", "Hit", "Job", "Queue", "NotFound", "Query", "QueryError", "Results", "SearchOptions",
    "SegmentRecord", "Source", "Store", "StoreError", "Token", "Video", "Watch", "WordRecord",
    "add_watch", "alerts", "check_date", "check_scope", "family", "scope", "list_watches", "mark_delivered", "record_alerts", "remove_watch",
    "analyse", "guess_lang", "index_text", "normalise", "parse", "parse_stamp", "search", "stamp", "utcnow",
]
