"""Alerts of saved searches delivered through Apprise (`[watch] notify`), to a real HTTP
endpoint on loopback (Apprise's json:// plugin), and kept when delivery fails."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dalel import config as configmod
from dalel.app import App
import store


class Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _app(tmp_path, notify: str) -> App:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'data_dir = "data"\n[watch]\nnotify = ["{notify}"]\n', encoding="utf-8")
    app = App(configmod.load(str(cfg)))
    app.store.videos.discover("example", "Vid1", "https://example.org/v1", title="Эфир")
    return app


def test_a_new_alert_is_sent_through_apprise_and_marked_delivered(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Hook.received.clear()
    try:
        with _app(tmp_path, f"json://127.0.0.1:{server.server_address[1]}/hook") as app:
            store.add_watch(app.store, "захват власти")
            script = tmp_path / "said.txt"
            script.write_text("Мы никогда не призывали к насильственному захвату власти.\n", encoding="utf-8")
            app.import_transcript("Vid1", script, "ru")
            [sent] = Hook.received
            assert "«захват власти»" in sent["title"] and "захвату власти" in sent["message"]
            assert "Эфир at 0:00:00" in sent["message"]
            [alert] = store.alerts(app.store)
            assert alert["delivered_at"]
    finally:
        server.shutdown()


def test_an_alert_whose_notification_fails_stays_undelivered(tmp_path):
    with _app(tmp_path, "json://127.0.0.1:9/nobody") as app:
        store.add_watch(app.store, "захват власти")
        script = tmp_path / "said.txt"
        script.write_text("Мы никогда не призывали к насильственному захвату власти.\n", encoding="utf-8")
        app.import_transcript("Vid1", script, "ru")
        [alert] = store.alerts(app.store)
        assert alert["delivered_at"] is None           # listed in `dalel watch alerts`, not lost
