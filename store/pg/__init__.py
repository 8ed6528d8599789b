"""The cluster's state on PostgreSQL (in progress): the schema and its migration (`db.py`,
`schema.py`), the job queue for workers on many machines (`queue.py`) and the custody log
(`custody.py`). Only here is psycopg imported; the embedded mode needs none of it."""
from __future__ import annotations

from .db import PgDatabase
from .queue import PgQueue

__all__ = ["PgDatabase", "PgQueue"]
