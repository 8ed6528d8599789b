"""Time as the database stores it: UTC, ISO 8601 to the second, so strings sort in time order."""
from __future__ import annotations

from datetime import datetime, timezone

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime(FORMAT)


def utcnow(offset_s: float = 0.0) -> str:
    """Now (plus `offset_s` seconds) as stored."""
    return stamp(datetime.now(timezone.utc).timestamp() + offset_s)


def parse_stamp(value: str) -> float:
    return datetime.strptime(value, FORMAT).replace(tzinfo=timezone.utc).timestamp()
