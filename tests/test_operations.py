"""Operations: a transient failure is never final, failed videos can be retried, a feed that
answers 5xx at add time is kept (issue: operations)."""
from __future__ import annotations


def test_a_transient_download_failure_is_queued_not_final(platform, dalel):
    first, second = platform.videos
    media = f"/media/{second.video_id}.mp4"
    platform.failures[media] = 503
    dalel("channel", "add", platform.feed_url)
    out = dalel("poll").output
    assert "1 archived, 0 failed, 1 to retry" in out
    status = dalel.json("status")
    assert status["videos"]["failed"] == 0 and status["failed"] == []
    assert status["queue"] == {"archive_queued": 1}                 # the daemon or the next poll retries it
    platform.failures.clear()                                     # the platform is back
    assert "1 archived, 0 failed" in dalel("poll").output
    assert dalel.json("status")["videos"]["archived"] == 2


def test_failed_videos_are_grouped_by_reason_and_retried(platform, dalel):
    first, second = platform.videos
    for v in (first, second):
        platform.failures[f"/media/{v.video_id}.mp4"] = 404      # permanent: failed at once
    dalel("channel", "add", platform.feed_url)
    assert "0 archived, 2 failed" in dalel("poll").output
    status = dalel.json("status")
    [group] = status["failures_by_reason"]
    assert group["count"] == 2 and "404" in group["reason"] and "http" not in group["reason"]
    assert "failed: 2 ×" in dalel("status").output
    assert dalel("retry", ok=False).exit_code == 2                # ids or --all
    platform.failures.clear()
    assert "queued 2 failed video(s) again" in dalel("retry", "--all").output
    assert "2 archived, 0 failed" in dalel("poll").output
    assert dalel.json("status")["videos"]["failed"] == 0


def test_a_feed_answering_503_at_add_time_is_kept_with_a_warning(platform, dalel):
    platform.failures["/feeds/videos.xml"] = 503
    result = dalel("channel", "add", platform.feed_url)
    assert "added channel 1" in result.output and "(feed)" in result.output
    assert "warning:" in result.output and "503" in result.output
    platform.failures.clear()
    assert "2 archived" in dalel("poll").output


def test_a_feed_answering_404_at_add_time_is_refused(platform, dalel):
    platform.failures["/feeds/videos.xml"] = 404
    result = dalel("channel", "add", platform.feed_url, ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert dalel.json("channel", "list") == []
