"""The cluster's state on PostgreSQL: the schema and its migration (`db.py`, `schema.py`), the
adapter through which the store's repositories run on a psycopg connection (`conn.py`) and the
job queue for workers on many machines (`queue.py`). Only here is psycopg imported; the
embedded mode needs none of it."""
from __future__ import annotations

from .db import PgDatabase
from .queue import PgQueue

__all__ = ["PgDatabase", "PgQueue"]
