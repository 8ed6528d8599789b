"""Prometheus metrics of an archive, computed when scraped (`GET /metrics`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

import store

if TYPE_CHECKING:
    from .app import App



class _Archive:
    """One scrape: the counts as the database holds them now."""

    def __init__(self, app: App):
        self.app = app

    def collect(self):
        app = self.app
        videos = GaugeMetricFamily("dalel_videos", "Videos by state (cumulative, as dalel status counts them)",
                                   labels=["state"])
        for state, n in app.store.counts().items():
            videos.add_metric([state], n)
        yield videos
        jobs = GaugeMetricFamily("dalel_queue_jobs", "Open jobs in the queue", labels=["kind", "state"])
        for key, n in app.queue.depth().items():
            kind, _, state = key.rpartition("_")
            jobs.add_metric([kind, state], n)
        yield jobs
        failures = CounterMetricFamily("dalel_failures", "Failed videos by the platform's reason",
                                       labels=["reason"])
        for group in app.status_failures():
            failures.add_metric([group["reason"]], group["count"])
        yield failures
        audio = CounterMetricFamily("dalel_audio_seconds_transcribed", "Seconds of audio transcribed")
        audio.add_metric([], app.store.transcripts.audio_seconds())
        yield audio
        daemon = app.daemon_state()
        beat = GaugeMetricFamily("dalel_daemon_heartbeat_timestamp_seconds",
                                 "Unix time of the daemon's last heartbeat (0: never)")
        beat.add_metric([], _epoch(daemon["heartbeat"]))
        yield beat


def _epoch(stamp: str | None) -> float:
    return store.parse_stamp(stamp) if stamp else 0.0


def exposition(app: App) -> tuple[bytes, str]:
    registry = CollectorRegistry()
    registry.register(_Archive(app))
    return generate_latest(registry), CONTENT_TYPE_LATEST


__all__ = ["exposition"]
