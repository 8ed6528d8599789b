"""The monitor's small decisions, without a network: failure classification, safe ids,
Retry-After, pacing, and reconciling a channel's history from a stubbed listing."""
from __future__ import annotations

import threading
import time

import pytest

import monitor
from monitor import feeds, sources
from monitor.failures import permanent_message, transient_status
from monitor.fetch import MAX_RETRY_AFTER, Pacer, retry_after


@pytest.mark.parametrize("message, permanent", [
    ("ERROR: [youtube] abc: Private video. Sign in if you've been granted access", True),
    ("ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader", True),
    ("ERROR: Unsupported URL: https://example.org/page", True),
    ("ERROR: unable to download video data: HTTP Error 404: Not Found", True),
    ("ERROR: unable to download video data: HTTP Error 503: Service Unavailable", False),
    ("ERROR: [download] Got error: The read operation timed out", False),
    ("ERROR: unable to download video data: <urlopen error [Errno -3] Temporary failure in name resolution>", False),
])
def test_a_failure_message_is_permanent_only_when_retrying_cannot_help(message, permanent):
    assert permanent_message(message) is permanent


@pytest.mark.parametrize("status, transient", [(408, True), (425, True), (429, True), (500, True),
                                               (503, True), (400, False), (403, False), (404, False),
                                               (410, False)])
def test_http_statuses_that_may_pass_are_transient(status, transient):
    assert transient_status(status) is transient


@pytest.mark.parametrize("raw", ["a/b", "a_b", "..", "../../etc/passwd", "x" * 300, "x" * 301,
                                 "видео", "a b", "yt:video:abc"])
def test_safe_ids_are_safe_names(raw):
    got = feeds.safe_id(raw)
    assert got and "/" not in got and got not in (".", "..") and len(got) <= 200
    assert set(got) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def test_distinct_ids_never_merge_and_safe_ones_stay_as_they_are():
    raws = ["a/b", "a_b", "a:b", "a b", "x" * 300, "x" * 301, "..", "._", "видео", "відео"]
    assert len({feeds.safe_id(r) for r in raws}) == len(raws)
    assert feeds.safe_id("dQw4w9WgXcQ") == "dQw4w9WgXcQ"
    assert feeds.safe_id("yt:video:dQw4w9WgXcQ") == "dQw4w9WgXcQ"


@pytest.mark.parametrize("header, seconds", [("120", 120.0), ("0", 0.0), ("-5", 0.0),
                                             ("1e20", MAX_RETRY_AFTER), ("nan", None), ("soon", None),
                                             (None, None), ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER)])
def test_retry_after_is_read_and_capped_at_a_day(header, seconds):
    assert retry_after(header) == seconds


def test_retry_after_as_an_http_date():
    in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 55 <= retry_after(in_a_minute) <= 61


def test_the_pacer_spaces_requests_to_one_host_but_not_to_others():
    pacer = Pacer(0.2)
    started = time.monotonic()
    for _ in range(3):
        pacer.wait("https://a.example/feed")
    assert time.monotonic() - started >= 0.38
    started = time.monotonic()
    pacer.wait("https://b.example/feed")
    assert time.monotonic() - started < 0.1


def test_the_pacer_spaces_concurrent_requests_too():
    pacer, times = Pacer(0.1), []
    threads = [threading.Thread(target=lambda: (pacer.wait("https://a.example/x"), times.append(time.monotonic())))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times.sort()
    assert all(b - a >= 0.09 for a, b in zip(times, times[1:]))


def _listing(*ids: str) -> list[dict]:
    return [{"id": i, "url": f"https://www.youtube.com/watch?v={i}", "ie_key": "Youtube",
             "title": f"video {i}"} for i in ids]


def test_reconcile_lists_the_history_newest_first_until_the_first_known_video(monkeypatch):
    asked = []

    def iter_entries(url, opts):
        asked.append(url)
        yield from _listing("new2", "new1", "known0", "old9")

    monkeypatch.setattr(monitor.ytdlp, "iter_entries", iter_entries)
    got = sources.reconcile("youtube", "https://www.youtube.com/feeds/videos.xml?channel_id=UCabc",
                            monitor.YtdlpOptions(), known=lambda platform, vid: vid == "known0")
    assert [e.video_id for e in got] == ["new2", "new1"]
    assert {e.platform for e in got} == {"youtube"}
    assert asked == ["https://www.youtube.com/channel/UCabc/videos"]


def test_reconcile_skips_hostile_entries(monkeypatch):
    listing = _listing("ok1") + [{"id": "../../etc", "url": "https://www.youtube.com/watch?v=x", "ie_key": "Youtube"},
                                 {"id": "js", "url": "javascript:alert(1)"}, {"id": "nolink"}]
    monkeypatch.setattr(monitor.ytdlp, "iter_entries", lambda url, opts: iter(listing))
    got = sources.reconcile("list", "https://example.org/list", monitor.YtdlpOptions(), known=lambda p, v: False)
    assert [e.video_id for e in got][0] == "ok1"
    assert len(got) == 2 and "/" not in got[1].video_id and got[1].video_id != "../../etc"


@pytest.mark.parametrize("source, target, refused", [
    ("http://93.184.216.34/feed.xml", "http://127.0.0.1/admin", "private network"),
    ("http://93.184.216.34/feed.xml", "http://10.0.0.5/x", "private network"),
    ("http://93.184.216.34/feed.xml", "http://169.254.169.254/latest/meta-data", "private network"),
    ("http://93.184.216.34/feed.xml", "http://[::1]/x", "private network"),
    ("http://93.184.216.34/feed.xml", "file:///etc/passwd", "not an http(s) URL"),
    ("http://93.184.216.34/feed.xml", "gopher://93.184.216.35/", "not an http(s) URL"),
    ("http://93.184.216.34/feed.xml", "https://93.184.216.35/feed.xml", None),
    ("http://127.0.0.1:8000/feed.xml", "http://127.0.0.1:8001/feed.xml", None),   # a source inside: its own choice
])
def test_redirects_from_a_public_source_never_lead_inside(source, target, refused):
    from monitor.fetch import redirect_refusal
    why = redirect_refusal(source, target)
    assert (why is None) if refused is None else (refused in why)


def test_the_operator_may_allow_redirects_inside():
    from monitor.fetch import redirect_refusal
    assert redirect_refusal("http://93.184.216.34/f", "http://10.0.0.5/x", allow_private=True) is None
    assert redirect_refusal("http://93.184.216.34/f", "file:///etc/passwd", allow_private=True)


def test_a_feed_redirect_into_the_network_is_not_followed(monkeypatch):
    """A real server on loopback stands for a public host (the classifier is told so for its
    port's URL only); its redirect to another loopback port is refused, never fetched."""
    from dalel.loopback import Platform
    from monitor import fetch as fetchmod
    with Platform([]) as public, Platform([]) as inside:
        public.redirects["/feeds/videos.xml"] = inside.feed_url
        real = fetchmod.redirect_refusal
        # what the real rule answers for a public source redirecting to 127.0.0.1
        as_public = real("http://93.184.216.34/feed.xml", inside.feed_url)
        monkeypatch.setattr(fetchmod, "redirect_refusal", lambda source, target, allow=False: (
            real("http://93.184.216.34/feed.xml", target, allow) if source.startswith(public.base) else None))
        assert as_public and "private network" in as_public
        with pytest.raises(monitor.FeedError, match="private network"):
            fetchmod.fetch(public.feed_url)
        assert inside.hits == {}
        got = fetchmod.fetch(public.feed_url, options=fetchmod.HttpOptions(allow_private_redirects=True))
        assert got.status == 200 and inside.hits


def test_a_public_feed_s_entries_pointing_inside_are_skipped():
    from monitor.feeds import Entry
    from monitor.sources import _outside
    entries = (Entry("web", "a", "http://127.0.0.1:8080/admin"), Entry("web", "b", "http://169.254.169.254/x"),
               Entry("web", "c", "https://93.184.216.35/video.mp4"))
    assert [e.video_id for e in _outside(entries, "https://93.184.216.34/feed.xml", allow=False)] == ["c"]
    assert len(_outside(entries, "https://93.184.216.34/feed.xml", allow=True)) == 3
    assert len(_outside(entries, "http://127.0.0.1:9000/feed.xml", allow=False)) == 3   # a source inside


def test_a_download_is_followed_under_the_redirect_rule_before_yt_dlp_fetches_it():
    from dalel.loopback import Platform
    from monitor.fetch import preflight
    with pytest.raises(monitor.FeedError, match="private network"):
        preflight("http://127.0.0.1:9/video.mp4", source="https://93.184.216.34/feed.xml")
    with Platform([]) as p:
        p.redirects["/media/a.mp4"] = "file:///etc/passwd"
        with pytest.raises(monitor.FeedError, match="not an http"):
            preflight(f"{p.base}/media/a.mp4", source=p.feed_url)
        p.redirects["/media/b.mp4"] = f"{p.base}/media/c.mp4"
        preflight(f"{p.base}/media/b.mp4", source=p.feed_url)      # inside to inside: the operator's choice
        assert p.hits.get("/media/c.mp4") == 1
