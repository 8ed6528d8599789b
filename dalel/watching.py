"""Saved searches at work: each newly indexed transcript is searched for every watch, its
matches are recorded as alerts and, when `[watch] webhook` is set, POSTed as JSON (an alert
not delivered stays in `dalel watch alerts`)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import store

if TYPE_CHECKING:
    from .app import App

__all__ = ["check_watches"]
log = logging.getLogger("dalel")


def check_watches(app: App, transcript_id: int) -> list[dict]:
    """Run every saved search on a newly indexed transcript; record (and post) alerts."""
    new: list[dict] = []
    for watch in store.list_watches(app.store):
        opts = store.SearchOptions(transcript=transcript_id, limit=10_000)
        hits = store.search(app.store, store.parse(watch.query), opts, approximate=False).hits
        for alert in store.record_alerts(app.store, watch, hits):
            log.info("alert: watch %d %r matched %s at %.1fs", watch.id, watch.query,
                     alert["video_id"], alert["start"])
            new.append(alert)
    if new and app.config.watch.webhook:
        _post_alerts(app, new)
    return new


def _post_alerts(app: App, alerts: list[dict]) -> None:
    import httpx
    try:
        resp = httpx.post(app.config.watch.webhook, json={"alerts": alerts},
                          timeout=app.config.watch.webhook_timeout)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("webhook %s failed: %s; alerts stay in `dalel watch alerts`",
                    app.config.watch.webhook, exc)
        return
    store.mark_delivered(app.store, [a["id"] for a in alerts])
