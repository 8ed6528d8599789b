from pathlib import Path

import pytest

from monitor import FeedError, parse_feed

HERE = Path(__file__).parent


def test_real_youtube_channel_feed():
    feed = parse_feed((HERE / "youtube-channel-feed.xml").read_bytes())
    assert feed.title == "Digital Foundry"
    assert len(feed.entries) == 15
    first = feed.entries[0]
    assert first.platform == "youtube"
    assert first.video_id == "W_S7iKZZdHw"
    assert first.url == "https://www.youtube.com/watch?v=W_S7iKZZdHw"
    assert first.title.startswith("Digital Foundry Games of 2024")
    assert first.channel == "Digital Foundry"
    assert first.published == "2025-01-01T16:07:24+00:00"
    assert first.description
    assert len({e.video_id for e in feed.entries}) == 15


def test_rss_with_enclosures():
    rss = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Podcast</title>
    <item><title>One</title><guid>urn:ep:1</guid><link>http://example.org/1</link>
    <enclosure url="http://example.org/1.mp3" type="audio/mpeg" length="1"/>
    <pubDate>Tue, 05 Mar 2024 18:00:00 GMT</pubDate></item>
    <item><title>Two</title><link>http://example.org/2.mp4</link></item>
    </channel></rss>"""
    feed = parse_feed(rss)
    one, two = feed.entries
    assert one.url == "http://example.org/1.mp3"      # the enclosure, not the page
    # a safe folder name, with a short hash of the raw id because sanitising changed it
    assert one.video_id.startswith("urn_ep_1-") and len(one.video_id) == len("urn_ep_1-") + 10
    assert one.published == "2024-03-05T18:00:00+00:00"
    assert one.channel == "Podcast" and one.platform == "example.org"
    assert two.video_id.startswith("http___example.org_2.mp4-")


@pytest.mark.parametrize("content, message", [
    (b"<html><body>hi</body></html>", "not an RSS or Atom feed"),
    (b"<rss><channel><item>", "not a valid feed"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><rss/>', "entities"),
])
def test_broken_feeds_say_what_is_wrong(content, message):
    with pytest.raises(FeedError, match=message):
        parse_feed(content)


def test_youtube_channel_urls_are_polled_through_the_channel_feed():
    from monitor import YtdlpOptions, identify
    spec = identify("https://www.youtube.com/channel/UC9PBzalIcEQCsiIkq36PyUA", YtdlpOptions())
    assert spec.kind == "youtube"
    assert spec.feed_url == "https://www.youtube.com/feeds/videos.xml?channel_id=UC9PBzalIcEQCsiIkq36PyUA"
    feed = identify("https://www.youtube.com/feeds/videos.xml?channel_id=UC9PBzalIcEQCsiIkq36PyUA",
                    YtdlpOptions())
    assert feed.kind == "youtube" and feed.feed_url.endswith("UC9PBzalIcEQCsiIkq36PyUA")


def test_links_open_the_original_at_the_second():
    from dalel.formats import link_at
    assert link_at("https://www.youtube.com/watch?v=W_S7iKZZdHw", 123.9) == \
        "https://www.youtube.com/watch?v=W_S7iKZZdHw&t=123s"
    assert link_at("https://youtu.be/W_S7iKZZdHw", 5) == "https://youtu.be/W_S7iKZZdHw?t=5s"
    assert link_at("http://127.0.0.1:8000/media/x.mp4", 11.5) == "http://127.0.0.1:8000/media/x.mp4#t=11"


def test_subtitle_files_are_parsed():
    from dalel.formats import parse_subtitles
    vtt = ("WEBVTT\n\n00:00:01.000 --> 00:00:03.000 align:start\n<c>Біз</c> билікті\n\n"
           "00:00:03.000 --> 00:00:05.500\nБіз билікті\nшақырамыз\n")  # roll-up repeats a line
    assert parse_subtitles(vtt) == [(1.0, 3.0, "Біз билікті"), (3.0, 5.5, "шақырамыз")]
    srt = "1\n00:01:02,500 --> 00:01:04,000\nЗахват власти\n"
    assert parse_subtitles(srt) == [(62.5, 64.0, "Захват власти")]
    assert parse_subtitles("line one\n\nline two\n") == [(0.0, 0.0, "line one"), (0.0, 0.0, "line two")]


def test_youtube_javascript_runtime_is_found_and_configured():
    import os
    import yt_dlp
    from monitor.ytdlp import YtdlpOptions, _params
    params = _params(YtdlpOptions())
    path = params["js_runtimes"]["deno"]["path"]
    assert os.access(path, os.X_OK)
    with yt_dlp.YoutubeDL(params) as ydl:
        info = ydl._js_runtimes["deno"].info
    assert info is not None and info.supported and info.path == path
    assert _params(YtdlpOptions(js_runtime=""))["js_runtimes"] == {}


def test_entities_declared_anywhere_are_refused_not_only_in_the_first_kilobytes():
    from monitor import FeedError, parse_feed
    padding = b"<!-- " + b"x" * 10_000 + b" -->"
    late = b'<?xml version="1.0"?>' + padding + b'<!DOCTYPE rss [<!ENTITY a "aaaa">]><rss><channel/></rss>'
    with pytest.raises(FeedError, match="entities"):
        parse_feed(late)
    external = b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file:///etc/passwd"><rss><channel/></rss>'
    assert parse_feed(external).entries == ()          # the external DTD is never fetched
