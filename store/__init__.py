"""store: the archive's database, its full-text index and the query language.

Imports none of its sibling stages.
"""
from .text import ANALYSER_VERSION, LANGUAGES, Token, analyse, family, guess_lang, index_text, normalise
from . import custody, processes
from .clock import parse_stamp, stamp, utcnow
from .db import Store
from .records import FileRecord, SegmentRecord, Source, Video, WordRecord
from .users import ROLES, User
from .queue import Job, Queue, open_queue
from .errors import NotFound, QueryError, StoreError
from .filters import SearchOptions, check_date, check_scope, scope
from .query import Query, parse
from .state import TRANSITIONS, VideoState
from .search import Hit, Results, search
from .transfer import copy_archive
from . import tsquery  # noqa: F401  (registers the PostgreSQL search)
from .watch import (Watch, acknowledge, add_watch, alerts, list_watches, mark_delivered, record_alerts,
                    remove_watch)

__all__ = [
    "acknowledge", "add_watch", "alerts", "ROLES", "User", "analyse", "ANALYSER_VERSION", "check_date", "check_scope",
    "copy_archive", "custody", "processes", "family", "FileRecord", "guess_lang", "Hit", "index_text", "Job",
    "LANGUAGES",
    "list_watches", "mark_delivered", "normalise", "NotFound", "parse", "parse_stamp", "Query",
    "QueryError", "Queue", "open_queue", "record_alerts", "remove_watch", "Results", "scope", "search",
    "SearchOptions", "SegmentRecord", "Source", "stamp", "Store", "StoreError", "Token",
    "TRANSITIONS", "utcnow", "Video", "VideoState", "Watch", "WordRecord",
]
