"""Saved searches at work: each newly indexed transcript is searched for every watch, its
matches are recorded as alerts and, when `[watch] webhook` is set, POSTed as JSON (an alert
not delivered stays in `dalel watch alerts`)."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import store

from .formats import hms, link_at

if TYPE_CHECKING:
    from .app import App

__all__ = ["check_watches"]
log = logging.getLogger("dalel")


def check_watches(app: App, transcript_id: int) -> list[dict]:
    """Run every saved search on a newly indexed transcript; record (and post) alerts."""
    new: list[dict] = []
    for watch in store.list_watches(app.store):
        opts = store.SearchOptions(transcript=transcript_id, limit=10_000)
        hits = store.search(app.store, store.parse(watch.query), opts, approximate=False, exhaustive=True).hits
        for alert in store.record_alerts(app.store, watch, hits):
            log.info("alert: watch %d %r matched %s at %.1fs", watch.id, watch.query,
                     alert["video_id"], alert["start"])
            new.append(alert)
    w = app.config.watch
    if new and (w.webhook or w.notify):
        delivered = (not w.webhook or _post_alerts(app, new)) and (not w.notify or _notify(app, new))
        if delivered:
            store.mark_delivered(app.store, [a["id"] for a in new])
    return new


def _post_alerts(app: App, alerts: list[dict]) -> bool:
    import httpx
    try:
        resp = httpx.post(app.config.watch.webhook, json={"alerts": alerts},
                          timeout=app.config.watch.webhook_timeout)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("webhook %s failed: %s; alerts stay in `dalel watch alerts`",
                    app.config.watch.webhook, exc)
        return False
    return True


def _notify(app: App, alerts: list[dict]) -> bool:
    """New alerts through Apprise to every `[watch] notify` URL: one message per saved search."""
    import apprise
    sender = apprise.Apprise()
    for url in app.config.watch.notify:
        if not sender.add(url):
            log.warning("[watch] notify: %s is not a notification URL Apprise knows", url.split("://")[0])
    ok = True
    for query in dict.fromkeys(a["query"] for a in alerts):
        mine = [a for a in alerts if a["query"] == query]
        body = "\n".join(f"{a.get('title') or a['video_id']} at {hms(a['start'])}: {a.get('text', '')[:200]}\n"
                         f"{link_at(a['url'], a['start']) if a.get('url') else ''}" for a in mine)
        sent = sender.notify(title=f"Dalel: {len(mine)} new mention(s) of «{query}»", body=body)
        if not sent:
            log.warning("notification of %d alert(s) for %r failed; they stay in `dalel watch alerts`",
                        len(mine), query)
        ok = ok and bool(sent)
    return ok
