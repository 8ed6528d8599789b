"""The analyst's web app, driven in a real browser (Debian's Chromium through Playwright)."""
from __future__ import annotations

import json
import shutil
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner

from dalel import config as configmod
from dalel.cli import cli
from dalel.web import create_app

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
        "--disable-background-networking", "--disable-component-update", "--autoplay-policy=no-user-gesture-required"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data: Path, extra: str = ""):
        cfg_path = data.parent / "web.toml"
        cfg_path.write_text(f'data_dir = "{data.name}"\n{extra}', encoding="utf-8")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(configmod.load(str(cfg_path))),
                                                    host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        for _ in range(100):
            if self.server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
        req = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, r.read(), {k.lower(): v for k, v in r.headers.items()}
        except urllib.error.HTTPError as e:
            return e.code, e.read(), {k.lower(): v for k, v in e.headers.items()}


@pytest.fixture
def archive(transcribed, tmp_path) -> Path:
    shutil.copytree(transcribed[0].data_dir, tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def test_search_open_video_seek_and_export_in_a_browser(archive, browser):
    with Server(archive) as srv:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(srv.base + "/")
        page.fill("input[name=q]", "захват власти")
        page.click("button[type=submit]")
        page.wait_for_selector(".video-hits")
        assert page.locator("mark", has_text="захвату").count() == 1
        assert "Эфир: о выборах и мирных переменах" in page.content()
        page.screenshot(path=str(SHOTS / "search.png"), full_page=True)

        page.click(".video-hits a >> nth=0")
        page.wait_for_selector("#transcript p[data-start]")
        # Functions, not expressions: polling an expression makes Playwright eval() it, which
        # the page's Content-Security-Policy (no unsafe-eval) refuses when the first check fails.
        page.wait_for_function("() => document.getElementById('player').readyState >= 1")
        assert page.locator("#transcript p.hit").count() >= 1
        line = page.locator("#transcript p", has_text="захвату")
        target = float(line.first.get_attribute("data-start"))
        line.first.click()
        page.wait_for_function("t => Math.abs(document.getElementById('player').currentTime - t) < 1.5",
                               arg=target)
        page.wait_for_selector("#transcript p.current")
        page.screenshot(path=str(SHOTS / "video.png"), full_page=True)

        page.fill("#clip-start", "10")
        page.fill("#clip-end", "13")
        page.click("#export-clip")
        page.wait_for_selector("#download")
        name = page.locator("#download").inner_text()
        assert name.endswith(".zip")
        page.screenshot(path=str(SHOTS / "export.png"))
        status, body, headers = srv.get("/exports/" + name)
        assert status == 200 and body[:2] == b"PK"
        assert (archive / "exports" / name).is_file()


def test_phone_layout_and_kazakh_letters(archive, browser, tmp_path):
    srt = tmp_path / "kk.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:04,000\nБіз билікті бейбіт жолмен өзгертуге шақырамыз\n",
                   encoding="utf-8")
    CliRunner().invoke(cli, ["--data-dir", str(archive), "import-transcript", "DaLeLdemo02", str(srt)])
    with Server(archive) as srv:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(srv.base + "/search?q=билік")
        page.wait_for_selector(".video-hits")
        assert page.locator("mark", has_text="билікті").count() == 1
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390
        page.screenshot(path=str(SHOTS / "phone-kazakh.png"), full_page=True)


def test_untrusted_text_is_escaped(archive, browser):
    db = sqlite3.connect(archive / "dalel.sqlite3")
    db.execute("UPDATE videos SET title = ? WHERE video_id = 'DaLeLdemo01'",
               ("<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>",))
    db.commit()
    with Server(archive) as srv:
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(srv.base + "/search?q=захват")
        page.wait_for_selector(".video-hits")
        page.goto(srv.base + "/videos/DaLeLdemo01")
        page.wait_for_selector("h1")
        assert page.title() != "pwned" and not dialogs
        assert "<script>document.title" in page.locator("h1").inner_text()


def test_api_mirrors_the_cli(archive):
    with Server(archive) as srv:
        status, body, _ = srv.get("/api/search?q=%D0%B7%D0%B0%D1%85%D0%B2%D0%B0%D1%82")  # захват
        data = json.loads(body)
        cli_data = json.loads(CliRunner().invoke(cli, ["--data-dir", str(archive), "search", "захват",
                                                       "--json"]).output)
        assert status == 200 and data["total"] == cli_data["total"] == 1
        assert data["hits"][0]["start"] == cli_data["hits"][0]["start"]
        status, body, _ = srv.get("/api/videos/DaLeLdemo01")
        video = json.loads(body)
        assert any(f["role"] == "media" and len(f["sha256"]) == 64 for f in video["files"])
        status, body, _ = srv.get("/api/videos/DaLeLdemo01/transcript")
        assert status == 200 and json.loads(body)["segments"][0]["words"]
        assert srv.get("/api/videos/nope")[0] == 404
        assert srv.get("/api/search?q=%22open")[0] == 400
        spec = json.loads(srv.get("/openapi.json")[1])
        assert {"/api/search", "/api/videos/{video_id}", "/api/videos/{video_id}/transcript",
                "/api/clips"} <= set(spec["paths"])


def test_media_streams_with_ranges_and_paths_stay_confined(archive):
    with Server(archive) as srv:
        status, body, headers = srv.get("/media/DaLeLdemo01", {"Range": "bytes=100-199"})
        original = (archive / "archive/youtube/DaLeLdemo01/DaLeLdemo01.mp4").read_bytes()
        assert status == 206 and body == original[100:200]
        assert headers["content-range"] == f"bytes 100-199/{len(original)}"
        for path in ["/archive/../dalel.sqlite3", "/archive/..%2Fdalel.sqlite3",
                     "/archive/%2e%2e/%2e%2e/etc/passwd", "/archive//etc/passwd",
                     "/exports/..%2Fdalel.sqlite3", "/media/..%2F..%2Fdalel.sqlite3"]:
            assert srv.get(path)[0] == 404, path
        assert srv.get("/archive/youtube/DaLeLdemo01/manifest.json")[0] == 200


def test_posts_need_the_csrf_token(archive):
    with Server(archive) as srv:
        req = urllib.request.Request(srv.base + "/api/clips", method="POST",
                                     data=b'{"video_id": "DaLeLdemo01", "start": 10, "end": 12}',
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req)
        assert err.value.code == 403


def test_token_guards_every_page_and_binding_elsewhere_needs_it(archive):
    with Server(archive, '[web]\ntoken = "s3cret-token"\n') as srv:
        assert srv.get("/")[0] == 401
        assert srv.get("/api/search?q=x")[0] == 401
        assert srv.get("/media/DaLeLdemo01")[0] == 401
        assert srv.get("/api/videos/DaLeLdemo01", {"Authorization": "Bearer s3cret-token"})[0] == 200
        assert srv.get("/", {"Authorization": "Bearer wrong"})[0] == 401
    result = CliRunner().invoke(cli, ["--data-dir", str(archive), "serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "refusing to listen on 0.0.0.0 without authentication" in result.output


def test_dns_rebinding_and_hostile_requests_get_a_4xx_never_a_500(archive):
    from urllib.parse import quote
    q = quote("власть")
    with Server(archive, '[web]\nallowed_hosts = ["dalel.example.org"]\n') as srv:
        code, body, _ = srv.get(f"/api/search?q={q}", {"Host": "attacker.example"})
        assert code == 400 and b"allowed_hosts" in body
        assert srv.get(f"/api/search?q={q}", {"Host": "dalel.example.org"})[0] == 200
        assert srv.get(f"/api/search?q={q}", {"Host": f"localhost:{srv.port}"})[0] == 200
        for path in ("/api/search?q=%00", "/api/search?q=foo:bar", "/api/search?q=NEAR(a" + "%20" * 5000 + "b)",
                     f"/api/search?q={q}%20video:nope", "/videos/%00", f"/api/search?q={q}%5E2",
                     "/api/videos/..%2F..%2Fetc%2Fpasswd"):
            code, body, _ = srv.get(path)
            assert 400 <= code < 500, (path, code, body[:200])
        code, body, _ = srv.get(f"/api/search?q={q}&offset=99999999999999999999999")
        assert code == 200 and json.loads(body)["hits"] == []      # past the end: an empty page


def test_the_session_cookie_is_not_the_token_and_nothing_authenticated_is_cached(archive):
    import http.client
    with Server(archive, '[web]\ntoken = "s3cret-token"\n') as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port)
        conn.request("GET", "/?token=s3cret-token")
        resp = conn.getresponse()
        cookie = resp.getheader("Set-Cookie")
        assert resp.status == 303 and "s3cret-token" not in cookie and resp.getheader("Cache-Control") == "no-store"
        session = cookie.split(";")[0]
        code, _, headers = srv.get("/api/videos/DaLeLdemo01", {"Cookie": session})
        assert code == 200 and headers["cache-control"] == "no-store"
        assert srv.get("/api/videos/DaLeLdemo01", {"Cookie": "dalel_auth=s3cret-token"})[0] == 401
        assert srv.get("/api/videos/DaLeLdemo01", {"Authorization": "Bearer s\u00e9cret"})[0] == 401


def test_facets_narrow_the_hits_and_the_chart_sums_to_them_in_a_browser(archive, browser):
    import json
    with Server(archive) as srv:
        status, body, _ = srv.get("/api/search?q=" + urllib.parse.quote("выборы"))
        api = json.loads(body)
        assert status == 200 and api["total"] >= 3
        for facet in ("channel", "lang", "source", "year", "month"):
            assert sum(v["count"] for v in api["facets"][facet]) == api["total"]
        assert sum(h["count"] for h in api["histogram"]) == api["total"]
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(srv.base + "/search?q=" + urllib.parse.quote("выборы"))
        page.wait_for_selector(".facets")
        assert page.locator("figure.chart svg").count() == 1             # server-side SVG, no script
        assert page.locator("figure.chart script").count() == 0
        page.screenshot(path=str(SHOTS / "search-facets.png"), full_page=True)
        by_source = {v["value"]: v["count"] for v in api["facets"]["source"]}
        page.click(".facet a:text-is('metadata')")                       # narrow to titles and descriptions
        page.wait_for_selector(".video-hits")
        narrowed = json.loads(srv.get("/api/search?source=metadata&q=" + urllib.parse.quote("выборы"))[1])
        assert narrowed["total"] == by_source["metadata"]
        assert page.locator(".hit").count() == narrowed["total"]
        assert f"{narrowed['total']} hit" in page.locator("p.muted").first.inner_text()
        newest = json.loads(srv.get("/api/search?sort=newest&q=" + urllib.parse.quote("выборы"))[1])
        dates = [h["published"] for h in newest["hits"] if h["published"]]
        assert dates == sorted(dates, reverse=True)


def test_export_these_hits_and_transcript_downloads_and_custody_on_the_pages(archive, browser):
    import zipfile
    with Server(archive) as srv:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(srv.base + "/search?q=" + urllib.parse.quote('"захвату власти"'))
        page.click("#export-hits")
        page.wait_for_selector("#download")
        name = page.locator("#download").inner_text()
        assert "1 clip, one per hit" in page.content()
        package = archive / "exports" / name
        with zipfile.ZipFile(package) as z:
            assert "index.html" in z.namelist() and any(n.endswith("/clip.mp4") for n in z.namelist())
        page.goto(srv.base + "/videos/DaLeLdemo01")
        assert page.locator("#custody tr").count() >= 2                    # capture, transcription, export…
        assert "intact" in page.locator("#custody").locator("xpath=..").inner_text()
        for fmt, start in (("srt", b"1\n00:00:"), ("vtt", b"WEBVTT"), ("json", b"{"), ("txt", b"[0:00:")):
            status, body, headers = srv.get(f"/videos/DaLeLdemo01/transcript.{fmt}")
            assert status == 200 and body.startswith(start) and "attachment" in headers["content-disposition"]
        assert srv.get("/videos/DaLeLdemo01/transcript.exe")[0] == 404


def test_the_video_list_filters_by_channel_state_and_dates(archive):
    with Server(archive) as srv:
        status, body, _ = srv.get("/videos")
        page = body.decode()
        assert status == 200 and 'id="video-count">2 videos<' in page and "Новости недели" in page
        assert page.index("Новости недели") < page.index("Эфир: о выборах")        # newest broadcast first
        assert 'id="video-count">1 video<' in srv.get("/videos?since=2024-03-05")[1].decode()
        assert 'id="video-count">0 videos<' in srv.get("/videos?state=failed")[1].decode()
        by_channel = srv.get("/videos?channel=" + urllib.parse.quote("Ne deidi (demo)"))[1].decode()
        assert 'id="video-count">2 videos<' in by_channel
        assert 'id="video-count">0 videos<' in srv.get("/videos?removed=1")[1].decode()
        bad = srv.get("/videos?since=2024-02-30")
        assert bad[0] == 200 and "not a date" in bad[1].decode()


def test_the_video_page_says_how_much_audio_could_not_be_decoded(archive):
    from store.transcripts import coverage_summary
    db = sqlite3.connect(archive / "dalel.sqlite3")
    tid, raw = db.execute("SELECT t.id, t.settings FROM transcripts t JOIN videos v ON v.id = t.video"
                          " WHERE v.video_id = 'DaLeLdemo02' AND t.source = 'asr'").fetchone()
    settings = json.loads(raw)
    settings["coverage_windows"][-1]["undecodable"] = [[12.0, 26.5]]     # a damaged original's end
    settings["coverage"] = coverage_summary(settings["coverage_windows"])
    db.execute("UPDATE transcripts SET settings = ? WHERE id = ?", (json.dumps(settings), tid))
    db.commit()
    with Server(archive) as srv:
        damaged = srv.get("/videos/DaLeLdemo02")[1].decode()
        assert "; 14.5 s of audio could not be decoded (damaged or missing), so not heard</p>" in damaged
        russian = srv.get("/videos/DaLeLdemo02", {"Accept-Language": "ru"})[1].decode()
        assert "14.5 с аудио не удалось декодировать" in russian
        assert "could not be decoded" not in srv.get("/videos/DaLeLdemo01")[1].decode()


def test_a_channel_page_shows_its_source_numbers_hours_and_videos(archive):
    with Server(archive) as srv:
        status, body, _ = srv.get("/channels/1")
        page = body.decode()
        assert status == 200 and 'id="video-count">2 videos<' in page
        assert page.index("Новости недели") < page.index("Эфир: о выборах")        # newest broadcast first
        assert "/feeds/videos.xml" in page and 'href="/search?channel=' in page and "Hours archived per week" in page
        assert 'action="/channels/1/pause"' in page
        assert srv.get("/channels/999")[0] == 404
        assert 'href="/channels/1"' in srv.get("/channels")[1].decode()        # from the list of channels
        assert 'href="/channels/1"' in srv.get("/")[1].decode()                # and from the dashboard


def test_the_home_page_shows_the_archive_at_a_glance(archive, browser):
    with Server(archive) as srv:
        status, body, _ = srv.get("/")
        html = body.decode()
        assert status == 200 and "Ne deidi (demo)" in html and "not running" in html
        assert "Новости недели" in html and "Эфир: о выборах" in html          # the newest videos
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(srv.base + "/")
        row = page.locator("#channels tr", has_text="Ne deidi (demo)")
        cells = row.locator("td").all_inner_texts()
        assert cells[1:3] == ["2", "2"] and float(cells[3]) > 0               # two videos, archived, hours
        assert page.locator("figure.chart svg").count() == 1
        page.screenshot(path=str(SHOTS / "home.png"), full_page=True)
        page.fill("input[name=q]", "выборы")
        page.click("button[type=submit]")
        page.wait_for_selector(".video-hits")


def test_saved_searches_and_alerts_in_the_browser(archive, browser, tmp_path):
    from conftest import Dalel
    with Server(archive) as srv:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(srv.base + "/alerts")
        page.fill("input[name=query]", '"мирным переменам"')
        page.click("#add-watch")
        page.wait_for_selector("#watches td a")
        assert '"мирным переменам"' in page.locator("#watches").inner_text()
        page.fill("input[name=query]", '"unbalanced')
        page.click("#add-watch")
        page.wait_for_selector("p.error")
        assert "unbalanced quote" in page.locator("p.error").inner_text()
        script = tmp_path / "corrected.txt"
        script.write_text("Мы призываем граждан к мирным переменам.\n", encoding="utf-8")
        Dalel(archive)("import-transcript", "DaLeLdemo02", str(script), "--lang", "ru")   # raises an alert
        page.goto(srv.base + "/alerts")
        assert page.locator("#alerts li.new").count() == 1 and "1 new" in page.content()
        page.click("#acknowledge")
        page.wait_for_selector("#alerts li.seen")
        assert page.locator("#alerts li.new").count() == 0
        page.screenshot(path=str(SHOTS / "alerts.png"), full_page=True)
        page.click("#watches button")                                 # stop watching
        page.wait_for_selector("#watches td.muted")


def _dalel_with_input(archive, text: str, *args: str) -> None:
    """`dalel ARGS` in a process of its own, `text` on its standard input (a password)."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "dalel", "--data-dir", str(archive), *args], input=text,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _users(archive):
    from conftest import Dalel
    for name, role in (("amina", "analyst"), ("ops", "admin")):
        _dalel_with_input(archive, "correct horse battery\n", "user", "add", name, "--role", role)
    return Dalel(archive)


def test_users_sign_in_roles_tokens_and_the_audit_log(archive, browser):
    import json as jsonmod
    dalel = _users(archive)
    token = dalel("user", "token", "amina").output.strip()
    with Server(archive) as srv:
        assert srv.get("/api/search?q=x")[0] == 401                               # anonymous: refused
        assert srv.get("/healthz")[0] in (200, 503)                               # health needs no login
        status, body, _ = srv.get("/api/search?q=" + urllib.parse.quote("выборы"),
                                  {"Authorization": f"Bearer {token}"})
        assert status == 200 and jsonmod.loads(body)["total"] >= 3
        assert srv.get("/api/search?q=x", {"Authorization": "Bearer dalel_forged"})[0] == 401
        req = urllib.request.Request(srv.base + "/api/channels", method="POST", data=b'{"url": "https://e.org/f.xml"}',
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:              # an analyst's token: no admin
            urllib.request.urlopen(req)
        assert refused.value.code == 403
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.context.add_cookies([{"name": "dalel_session", "value": "1.9999999999.deadbeef",
                                   "url": srv.base}])                               # a forged session
        page.goto(srv.base + "/videos")
        assert page.url.startswith(srv.base + "/login")
        page.fill("input[name=name]", "amina")
        page.fill("input[name=password]", "wrong password!")
        page.click("#login button")
        page.wait_for_selector("p.error")
        page.fill("input[name=name]", "amina")
        page.fill("input[name=password]", "correct horse battery")
        page.click("#login button")
        page.wait_for_selector("#videos")                                          # back where it was going
        assert "amina (analyst)" in page.locator(".whoami").inner_text()
        page.goto(srv.base + "/search?q=" + urllib.parse.quote('"захвату власти"'))
        page.click("#export-hits")
        page.wait_for_selector("#download")
        assert page.goto(srv.base + "/users").status == 403                      # an admin page
        page.goto(srv.base + "/channels")
        assert page.locator("#add-channel").count() == 0 and "Admins only" in page.locator("main").inner_text()
        csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "dalel_csrf")
        forbidden = page.request.post(srv.base + "/retry", form={"csrf": csrf}, max_redirects=0)
        assert forbidden.status == 403 and "needs an admin" in forbidden.text()   # an analyst is no admin
        admin = browser.new_page()
        admin.goto(srv.base + "/login")
        admin.fill("input[name=name]", "ops")
        admin.fill("input[name=password]", "correct horse battery")
        admin.click("#login button")
        admin.wait_for_selector("#channels, form.search")
        csrf = next(c["value"] for c in admin.context.cookies() if c["name"] == "dalel_csrf")
        assert admin.request.post(srv.base + "/retry", form={"csrf": csrf}, max_redirects=0).status == 303
        admin.goto(srv.base + "/users")
        assert {"amina", "ops"} <= set(admin.locator("#users td:first-child").all_inner_texts())
        assert "login failed" in admin.locator("#audit").inner_text()
        admin.goto(srv.base + "/channels")
        assert admin.locator("#add-channel").count() == 1
    custody = dalel.json("custody", "DaLeLdemo01")
    assert any(e["event"] == "export" and e["actor"] == "amina@web" for e in custody["entries"])
    actions = {(e["user"], e["action"]) for e in dalel.json("audit")}
    assert {("amina", "search"), ("amina", "export"), ("amina", "login"), ("amina", "login failed")} <= actions


def test_sign_in_is_throttled_after_five_failures(archive):
    from fastapi.testclient import TestClient

    from dalel import config as configmod
    from dalel.web import create_app
    from dalel.web import accounts
    accounts._failures.clear()
    _users(archive)
    cfg = archive.parent / "web.toml"
    cfg.write_text(f'data_dir = "{archive.name}"\n', encoding="utf-8")
    with TestClient(create_app(configmod.load(str(cfg))), base_url="http://127.0.0.1") as web:
        csrf = web.get("/login").cookies.get("dalel_csrf") or web.cookies.get("dalel_csrf")
        answers = [web.post("/login", data={"csrf": csrf, "name": "ops", "password": f"guess {i}"},
                            follow_redirects=False).status_code for i in range(6)]
        assert answers[:5] == [303] * 5 and answers[5] == 429
        right = web.post("/login", data={"csrf": csrf, "name": "ops", "password": "correct horse battery"},
                         follow_redirects=False)
        assert right.status_code == 429                                            # even the right one, for a minute


@pytest.mark.parametrize("width, height, label", [(1280, 900, "desktop"), (390, 844, "phone")])
def test_every_page_renders_offline_at_desktop_and_phone_width(archive, browser, width, height, label):
    """Each page loads with every request off this machine refused (no CDN, no web font), at
    both widths, with nothing wider than the screen; screenshots in tests/artifacts/."""
    with Server(archive) as srv:
        page = browser.new_page(viewport={"width": width, "height": height})
        elsewhere: list[str] = []

        def only_here(route):
            if route.request.url.startswith(srv.base):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()
        page.route("**/*", only_here)
        for name, path in (("home", "/"), ("search", "/search?q=" + urllib.parse.quote("выборы")),
                           ("videos", "/videos"), ("video", "/videos/DaLeLdemo01"), ("alerts", "/alerts"),
                           ("channels", "/channels"), ("channel", "/channels/1"), ("api", "/api"),
                           ("login", "/login"), ("users", "/users")):
            page.goto(srv.base + path)
            page.wait_for_load_state("load")
            assert page.locator("main").count() == 1, path
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 2, f"{path} is {overflow}px wider than the screen"
            page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        assert elsewhere == []


# Latin words a Kazakh page may show: the brand, names of formats and standards, the languages'
# own names in the switcher; everything else in Latin letters must come from the data.
NOT_LABELS = {"Dalel", "API", "JSON", "HTML", "CSV", "TXT", "SRT", "VTT", "SHA", "OpenAPI", "YouTube", "yt", "dlp",
              "English", "cookie", "UTC"}
KK_PAGES = (("home", "/"), ("search", "/search?q=" + urllib.parse.quote("выборы")), ("videos", "/videos"),
            ("video", "/videos/DaLeLdemo01"), ("alerts", "/alerts"), ("channels", "/channels"),
            ("channel", "/channels/1"), ("api", "/api"), ("login", "/login"), ("users", "/users"))


def _data_words(srv) -> set[str]:
    """Every Latin word of the archive's data (titles, channels, ids, URLs, paths, hashes, models,
    custody actors user@host…)."""
    import getpass
    import re

    def values(node) -> list[str]:     # the values only: a JSON key is no excuse for a label
        if isinstance(node, dict):
            return [v for item in node.values() for v in values(item)]
        if isinstance(node, list):
            return [v for item in node for v in values(item)]
        return [str(node)] if node is not None else []
    text = " ".join(v for p in ("/api/videos/DaLeLdemo01", "/api/videos/DaLeLdemo01/transcript",
                                "/api/videos/DaLeLdemo02", "/api/search?q=" + urllib.parse.quote("выборы"))
                    for v in values(json.loads(srv.get(p)[1])))
    return set(re.findall(r"[A-Za-z]+", text + f" {getpass.getuser()}@{socket.gethostname()}"))


def test_the_kazakh_interface_shows_no_english_label(archive, browser):
    """A browser asking for Kazakh gets every page in Kazakh: no English word in the text,
    the placeholders, the tooltips or the labels read aloud; dates in Kazakh; the switcher
    changes the language and remembers it."""
    import re
    with Server(archive) as srv:
        store_words = _data_words(srv)
        context = browser.new_context(locale="kk-KZ", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        for name, path in KK_PAGES:
            page.goto(srv.base + path)
            assert page.locator("html").get_attribute("lang") == "kk", path
            shown = page.evaluate("""() => {
                const body = document.body.cloneNode(true);
                body.querySelectorAll('code, .hash, th.route, nav.langs, #transcript, svg').forEach(e => e.remove());
                const attrs = [...body.querySelectorAll('[placeholder], [title], [aria-label]')].flatMap(
                    e => ['placeholder', 'title', 'aria-label'].map(a => e.getAttribute(a) || ''));
                return body.innerText + ' ' + attrs.join(' ');
            }""")
            shown = re.sub(r"\w+://\S+|(?<!\w)/[\w./-]+", " ", shown)           # addresses are not labels
            english = set(re.findall(r"[A-Za-z]{2,}", shown)) - NOT_LABELS - store_words
            assert not english, f"{path}: {sorted(english)} in {[shown[shown.find(w) - 40:][:80] for w in english]}"
            page.screenshot(path=str(SHOTS / f"{name}-kk.png"), full_page=True)
        page.goto(srv.base + "/videos")
        assert "Бейнелер" in page.locator("nav").first.inner_text()
        assert re.search(r"2024\sж\. \d+ [а-яәіңғүұқөһ]+\.", page.locator("#videos").inner_text())  # Kazakh dates
        page.click("nav.langs a[lang=ru]")                                          # the switcher
        page.wait_for_load_state("load")
        assert page.url == srv.base + "/videos" and page.locator("html").get_attribute("lang") == "ru"
        assert "Видео" in page.locator("nav").first.inner_text() and "г." in page.locator("#videos").inner_text()
        page.goto(srv.base + "/channels")                                              # remembered
        assert page.locator("h1").inner_text() == "Каналы и состояние"
        english = browser.new_page()                                                   # Chromium's default: en-US
        english.goto(srv.base + "/channels")
        assert english.locator("h1").inner_text() == "Channels and status"
        assert srv.get("/lang/xx")[0] == 404
        context.close()


def test_sessions_are_not_fixed_nor_shared_and_a_token_acts_only_as_its_owner(archive, browser):
    dalel = _users(archive)
    token = dalel("user", "token", "amina").output.strip()

    def sign_in(page, name):
        page.goto(srv.base + "/login")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", "correct horse battery")
        page.click("#login button")
        page.wait_for_selector(".whoami")
        return next(c["value"] for c in page.context.cookies() if c["name"] == "dalel_session")

    with Server(archive) as srv:
        attacker = browser.new_page()
        planted = sign_in(attacker, "ops")                        # the attacker's own valid session …
        victim = browser.new_page()
        victim.context.add_cookies([{"name": "dalel_session", "value": planted, "url": srv.base}])
        mine = sign_in(victim, "amina")                           # … planted in the victim's browser
        assert mine != planted and "amina" in victim.locator(".whoami").inner_text()
        attacker.goto(srv.base + "/videos")                       # the planted value is still the attacker's
        assert "ops (admin)" in attacker.locator(".whoami").inner_text()
        # amina's token with ops's session: the token speaks, and only for amina
        csrf = next(c["value"] for c in attacker.context.cookies() if c["name"] == "dalel_csrf")
        both = attacker.request.post(srv.base + "/retry", form={"csrf": csrf}, max_redirects=0,
                                     headers={"Authorization": f"Bearer {token}"})
        assert both.status == 403
        assert srv.get("/api/search?q=" + urllib.parse.quote("выборы"), {"Authorization": f"Bearer {token}"})[0] == 200
        assert ("amina", "search") in {(e["user"], e["action"]) for e in dalel.json("audit")}
        dalel("user", "remove", "amina")                          # gone: her token and session with her
        assert srv.get("/api/search?q=x", {"Authorization": f"Bearer {token}"})[0] == 401
        victim.goto(srv.base + "/videos")
        assert victim.url.startswith(srv.base + "/login")
        _dalel_with_input(archive, "correct horse battery\n", "user", "add", "zhanna", "--role", "admin")
        victim.context.add_cookies([{"name": "dalel_session", "value": mine, "url": srv.base}])
        victim.goto(srv.base + "/videos")                         # amina's old session is not zhanna's
        assert victim.url.startswith(srv.base + "/login")
        _dalel_with_input(archive, "another horse battery\n", "user", "passwd", "ops")
        attacker.goto(srv.base + "/videos")                       # a new password ends the old sessions
        assert attacker.url.startswith(srv.base + "/login")


def test_a_word_in_more_than_ten_thousand_segments_says_so_everywhere(tmp_path):
    """Past 10,000 matching segments the CLI, the page and the API say "10,000+", never a count
    they did not make."""
    import store
    from store import SegmentRecord
    data = tmp_path / "data"
    data.mkdir()
    with store.Store(data / "dalel.sqlite3") as st:
        video, _ = st.videos.discover("example", "Many", "https://example.org/Many", channel="Ne deidi")
        st.transcripts.add_text(video, source="asr", model="by hand", segments=[
            SegmentRecord(i * 2.0, i * 2.0 + 1.5, f"Выборы прошли спокойно, строка {i}.", "ru") for i in range(10_050)])
    out = CliRunner().invoke(cli, ["--data-dir", str(data), "search", "выборы", "--limit", "3"]).output
    assert "10,000+ hit(s)" in out and "narrow the search" in out
    assert json.loads(CliRunner().invoke(cli, ["--data-dir", str(data), "search", "выборы", "--json"]).output
                      )["total_capped"] is True
    with Server(data) as srv:
        status, body, _ = srv.get("/search?q=%D0%B2%D1%8B%D0%B1%D0%BE%D1%80%D1%8B")   # выборы, in English
        assert status == 200 and "More than 10,000 hits" in body.decode()
        api = json.loads(srv.get("/api/search?q=%D0%B2%D1%8B%D0%B1%D0%BE%D1%80%D1%8B")[1])
        assert api["total"] == 10_000 and api["total_capped"] is True and not api["total_exact"]
