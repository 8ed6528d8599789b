"""Evidence packages, claim-check reports, fixity and custody, on the real archive."""
import csv
import hashlib
import io
import json
import sqlite3
import zipfile

import av
import pytest

from conftest import Dalel


@pytest.fixture
def archive(transcribed, tmp_path):
    """A private copy of the transcribed demo archive (these tests change files)."""
    import shutil
    shutil.copytree(transcribed[0].data_dir, tmp_path / "data")
    return Dalel(tmp_path / "data")


def flip_byte(path, offset=None):
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_clip_package_holds_the_moment_its_subtitles_and_provenance(archive, tmp_path, spoken):
    out = tmp_path / "moment.zip"
    at = spoken["spoken_at"]
    archive("clip", "DaLeLdemo01", str(at - 1), f"0:00:{at + 2:05.2f}", "--pad", "1.5", "--out", str(out))
    with zipfile.ZipFile(out) as z:
        assert set(z.namelist()) == {"clip.mp4", "clip.srt", "clip.vtt", "transcript.txt",
                                     "manifest.json", "SHA256SUMS", "README.txt"}
        (tmp_path / "clip.mp4").write_bytes(z.read("clip.mp4"))
        manifest = json.loads(z.read("manifest.json"))
        srt = z.read("clip.srt").decode()
        vtt = z.read("clip.vtt").decode()
        readme = z.read("README.txt").decode()
    with av.open(str(tmp_path / "clip.mp4")) as c:
        length = c.duration / 1e6
        assert {s.type for s in c.streams} == {"video", "audio"}
    assert abs(length - (3.0 + 2 * 1.5)) < 0.1
    assert "захвату власти" in srt and srt.startswith("1\n00:00:0")
    assert vtt.startswith("WEBVTT") and "захвату власти" in vtt
    original = archive.data_dir / "archive" / "youtube" / "DaLeLdemo01" / "DaLeLdemo01.mp4"
    import hashlib
    assert manifest["original"]["sha256"] == hashlib.sha256(original.read_bytes()).hexdigest()
    assert manifest["original"]["file"] == "DaLeLdemo01.mp4"
    assert manifest["original"]["size"] == original.stat().st_size
    assert manifest["range"] == {"start": round(at - 1, 2), "end": round(at + 2, 2), "pad": 1.5,
                                 "clip_start": round(at - 2.5, 3), "clip_end": round(at + 3.5, 3)}
    assert manifest["platform_id"] == "DaLeLdemo01" and manifest["source_url"].endswith(
        "channel_id=UCdalelDemoChannel0000001")
    assert manifest["transcript"]["language"] == "ru"
    assert manifest["transcript"]["model"].startswith("whisper-base")
    assert "захвату власти" in manifest["transcript"]["text"]
    assert set(manifest["tools"]) == {"dalel", "yt-dlp", "faster-whisper", "ffmpeg"}
    assert manifest["created_at"].endswith("Z")
    assert "sha256sum -c SHA256SUMS" in readme
    result = archive("verify", str(out))
    assert "all checks passed" in result.output


def test_sha256sum_accepts_the_package(archive, tmp_path):
    import subprocess
    out = tmp_path / "p.zip"
    archive("clip", "DaLeLdemo01", "10", "13", "--out", str(out))
    folder = tmp_path / "unpacked"
    zipfile.ZipFile(out).extractall(folder)
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 5


@pytest.mark.parametrize("member", ["clip.mp4", "manifest.json"])
def test_a_flipped_byte_in_a_package_is_named(archive, tmp_path, member):
    out = tmp_path / "p.zip"
    archive("clip", "DaLeLdemo01", "10", "13", "--out", str(out))
    with zipfile.ZipFile(out) as z:
        members = {n: z.read(n) for n in z.namelist()}
    data = bytearray(members[member])
    data[len(data) // 2] ^= 0x01
    members[member] = bytes(data)
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as z:
        for n, d in members.items():
            z.writestr(n, d)
    result = archive("verify", str(tampered), ok=False)
    assert result.exit_code == 1
    assert f"FAIL {member}" in result.output
    if member == "clip.mp4":   # the custody log records the failure as a failure
        entry = archive.json("custody", "DaLeLdemo01")["entries"][-1]
        assert entry["event"] == "verification" and entry["details"]["ok"] is False
        assert entry["details"]["original_ok"] is True and member in entry["details"]["failed"]


def test_a_flipped_byte_in_the_archived_original_is_detected(archive, tmp_path):
    out = tmp_path / "p.zip"
    archive("clip", "DaLeLdemo01", "10", "13", "--out", str(out))
    flip_byte(archive.data_dir / "archive" / "youtube" / "DaLeLdemo01" / "DaLeLdemo01.mp4")
    result = archive("verify", str(out), ok=False)
    assert result.exit_code == 1
    assert "FAIL archived original youtube/DaLeLdemo01/DaLeLdemo01.mp4" in result.output
    whole = archive("verify", "--archive", ok=False)
    assert whole.exit_code == 1
    assert "FAIL DaLeLdemo01: youtube/DaLeLdemo01/DaLeLdemo01.mp4 changed" in whole.output
    assert "DaLeLdemo02" not in whole.output
    refused = archive("clip", "DaLeLdemo01", "10", "13", ok=False)
    assert refused.exit_code == 1 and "no longer matches" in refused.output


def test_report_lists_every_occurrence_with_context(archive, tmp_path):
    out = tmp_path / "report.html"
    data = archive.json("report", "захват власти", "--out", str(out))
    assert set(data) == {"query", "scope", "forms", "found_forms", "hits", "possible", "statement"}
    assert data["scope"]["videos"] == 2 and data["scope"]["transcribed_videos"] == 2
    assert data["scope"]["models"][0].startswith("whisper-base") and data["scope"]["languages"] == ["ru"]
    # every form searched (the noun's verbs too) and every spoken form that has one of them
    assert {"захват", "захватить", "захватывать"} <= set(data["forms"]["захват"]["searched"])
    assert "захвату" in data["forms"]["захват"]["spoken"] and "власти" in data["forms"]["власти"]["spoken"]
    assert data["found_forms"] == {"власти": 1, "захвату": 1}
    [hit] = data["hits"]
    # The negation said just before is part of the hit: the whole sentence, across segments.
    assert hit["video_id"] == "DaLeLdemo01"
    assert "никогда не призывали" in hit["context_before"] + " " + hit["text"]
    assert "захвату власти" in hit["text"]
    assert "Мы призываем" in hit["text"] + " " + hit["context_after"]     # and the sentence after it
    assert data["statement"].startswith("1 occurrence(s)")
    html = out.read_text(encoding="utf-8")
    assert "<mark>захвату</mark>" in html and "://" not in html.split("<body>")[0]   # no external asset
    assert "<script" not in html and "<link" not in html


def test_report_states_the_absence(archive):
    data = archive.json("report", '"насильственное свержение"', "--video", "DaLeLdemo01")
    assert data["hits"] == []
    assert data["statement"].startswith("No occurrence of «\"насильственное свержение\"» was found in ")
    assert "hours of transcript" in data["statement"] and "can miss" in data["statement"]
    assert data["scope"]["videos"] == 1
    text = archive("report", "референдум").output
    assert text.startswith("No occurrence")


def test_export_packages_a_clip_per_hit_with_an_index(archive, tmp_path):
    out = tmp_path / "export.zip"
    hits = archive.json("search", "выборы source:asr video:DaLeLdemo01")["total"]
    assert hits >= 1       # «выборах» and «выборам» are spoken; how many Whisper heard right varies
    assert f"{hits} clip(s)" in archive("export", "выборы", "--video", "DaLeLdemo01", "--out", str(out),
                                        "--pad", "1").output
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        rows = list(csv.DictReader(io.StringIO(z.read("index.csv").decode())))
        assert "index.html" in names
    assert len(rows) == hits and {r["video_id"] for r in rows} == {"DaLeLdemo01"}
    assert sum(n.endswith("/clip.mp4") for n in names) == hits
    assert "all checks passed" in archive("verify", str(out)).output


def test_custody_chain_records_events_and_detects_an_edit(archive, tmp_path):
    archive("clip", "DaLeLdemo01", "10", "13", "--out", str(tmp_path / "p.zip"))
    data = archive.json("custody", "DaLeLdemo01")
    assert data["intact"] is True
    assert [e["event"] for e in data["entries"]][:3] == ["capture", "transcription", "export"]
    assert "chain intact" in archive("custody", "DaLeLdemo01").output
    db = sqlite3.connect(archive.data_dir / "dalel.sqlite3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE custody SET actor = 'someone else' WHERE seq = 1")
    db.execute("DROP TRIGGER custody_no_update")  # a forger goes around the database's guard
    db.execute("UPDATE custody SET details = replace(details, 'DaLeLdemo01.mp4', 'other.mp4')"
               " WHERE seq = 1")
    db.commit()
    broken = archive("custody", "DaLeLdemo01", ok=False)
    assert broken.exit_code == 1
    assert "entry 1 (capture" in broken.output and "was altered" in broken.output


def test_clip_errors_are_one_line(archive):
    for args, message in [(("nope", "1", "2"), "unknown video id"),
                          (("DaLeLdemo01", "20", "10"), "is empty or outside"),
                          (("DaLeLdemo01", "999", "1000"), "is empty or outside"),
                          (("DaLeLdemo01", "1:xx", "2"), "is not a time")]:
        result = archive("clip", *args, ok=False)
        assert result.exit_code != 0 and message in result.output, result.output
        assert "Traceback" not in result.output


TSA_CNF = """[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = Dalel Test TSA
[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
[ tsa_config ]
serial = {dir}/serial
signer_cert = {dir}/tsa.crt
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256
accuracy = secs:1
ess_cert_id_alg = sha256
"""


@pytest.fixture
def local_tsa(tmp_path):
    """An RFC 3161 timestamp authority on loopback: `openssl ts -reply` behind HTTP."""
    import subprocess
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    d = tmp_path / "tsa"
    d.mkdir()
    (d / "tsa.cnf").write_text(TSA_CNF.format(dir=d), encoding="utf-8")
    (d / "serial").write_text("01\n")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "tsa.key"),
                    "-out", str(d / "tsa.crt"), "-days", "2", "-config", str(d / "tsa.cnf"),
                    "-extensions", "tsa_ext"], check=True, capture_output=True)

    class TSA(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):
            (d / "req.tsq").write_bytes(self.rfile.read(int(self.headers["Content-Length"])))
            subprocess.run(["openssl", "ts", "-reply", "-queryfile", str(d / "req.tsq"), "-config",
                            str(d / "tsa.cnf"), "-section", "tsa_config", "-out", str(d / "resp.tsr")],
                           check=True, capture_output=True)
            body = (d / "resp.tsr").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), TSA)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tsa", d / "tsa.crt"
    server.shutdown()


def test_rfc3161_timestamps_from_a_local_tsa(archive, tmp_path, local_tsa):
    import subprocess
    url, ca = local_tsa
    config = tmp_path / "ts.toml"
    config.write_text(f'data_dir = "{archive.data_dir}"\n[evidence]\n'
                      f'tsa_urls = ["{url}", "http://127.0.0.1:9/down"]\ntsa_ca_file = "{ca}"\n',
                      encoding="utf-8")
    from click.testing import CliRunner
    from dalel.cli import cli
    out = tmp_path / "stamped.zip"
    result = CliRunner().invoke(cli, ["--config", str(config), "clip", "DaLeLdemo01", "10", "13",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as z:
        assert "manifest.json.1.tsr" in z.namelist()          # one TSA answered, one was down
        assert "manifest.json.2.tsr" not in z.namelist()
        z.extractall(tmp_path / "x")
    check = subprocess.run(["openssl", "ts", "-verify", "-in", "manifest.json.1.tsr", "-data",
                            "manifest.json", "-CAfile", str(ca)], cwd=tmp_path / "x",
                           capture_output=True, text=True)
    assert "Verification: OK" in check.stdout
    verify = CliRunner().invoke(cli, ["--config", str(config), "verify", str(out)])
    assert verify.exit_code == 0 and "OK   manifest.json.1.tsr (RFC 3161 timestamp)" in verify.output
    # a manifest edited after stamping fails the timestamp check too
    with zipfile.ZipFile(out) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["manifest.json"] = members["manifest.json"].replace(b'"pad": 0.0', b'"pad": 9.0')
    with zipfile.ZipFile(tmp_path / "edited.zip", "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    bad = CliRunner().invoke(cli, ["--config", str(config), "verify", str(tmp_path / "edited.zip")])
    assert bad.exit_code == 1 and "FAIL manifest.json.1.tsr (RFC 3161 timestamp)" in bad.output


def test_each_capture_is_timestamped_and_a_tsa_down_is_retried(platform, tmp_path, local_tsa):
    import subprocess

    from click.testing import CliRunner

    from dalel import config as configmod
    from dalel.app import App
    from dalel.cli import cli
    url, ca = local_tsa
    config = tmp_path / "stamp.toml"
    config.write_text(f'data_dir = "data"\n[monitor]\nmin_request_interval = "0s"\n[evidence]\n'
                      f'tsa_urls = ["{url}"]\ntsa_ca_file = "{ca}"\n', encoding="utf-8")
    run = CliRunner()
    first, second = platform.videos
    platform.videos = [first]
    assert run.invoke(cli, ["--config", str(config), "channel", "add", platform.feed_url]).exit_code == 0
    assert run.invoke(cli, ["--config", str(config), "poll"]).exit_code == 0
    folder = next((tmp_path / "data" / "archive").rglob(f"*{first.video_id}*/manifest.json")).parent
    assert (folder / "manifest.json.1.tsr").is_file()
    check = subprocess.run(["openssl", "ts", "-verify", "-in", "manifest.json.1.tsr", "-data", "manifest.json",
                            "-CAfile", str(ca)], cwd=folder, capture_output=True, text=True)
    assert "Verification: OK" in check.stdout
    custody = json.loads(run.invoke(cli, ["--config", str(config), "custody", first.video_id, "--json"]).output)
    stamped = [e for e in custody["entries"] if e["event"] == "timestamp"]
    assert len(stamped) == 1 and stamped[0]["details"]["tokens"]["manifest.json.1.tsr"]["tsa"] == url
    verify = run.invoke(cli, ["--config", str(config), "verify", "--archive"])
    assert verify.exit_code == 0, verify.output
    # the authority is down at the next capture: the video is archived, the timestamp queued
    config.write_text(config.read_text(encoding="utf-8").replace(url, "http://127.0.0.1:9/down"), encoding="utf-8")
    platform.videos = [second, first]
    assert run.invoke(cli, ["--config", str(config), "poll"]).exit_code == 0
    status = json.loads(run.invoke(cli, ["--config", str(config), "status", "--json"]).output)
    assert status["queue"].get("timestamp_queued") == 1
    config.write_text(config.read_text(encoding="utf-8").replace("http://127.0.0.1:9/down", url), encoding="utf-8")
    with App(configmod.load(str(config))) as app:          # what the daemon's timestamp job does
        from dalel.stamping import timestamp_capture
        assert timestamp_capture(app, app.store.videos.find(second.video_id), queue=False)
    # a token replaced afterwards is named by verify --archive
    (folder / "manifest.json.1.tsr").write_bytes(b"\x30\x03\x02\x01\x00")
    bad = run.invoke(cli, ["--config", str(config), "verify", "--archive"])
    assert bad.exit_code == 1 and "manifest.json.1.tsr changed" in bad.output


def test_clip_and_export_as_bagit_bags_that_archivists_tools_validate(archive, tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    bagit_py = str(Path(sys.executable).with_name("bagit.py"))
    bag = tmp_path / "moment-bag"
    assert "wrote" in archive("clip", "DaLeLdemo01", "10", "13", "--format", "bagit", "--out", str(bag)).output
    assert (bag / "bagit.txt").is_file() and (bag / "data" / "clip.mp4").is_file()
    assert (bag / "manifest-sha256.txt").is_file() and (bag / "manifest-sha512.txt").is_file()
    done = subprocess.run([sys.executable, bagit_py, "--validate", str(bag)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    checked = archive("verify", str(bag))
    assert "OK   BagIt bag (RFC 8493)" in checked.output and "all checks passed" in checked.output
    custody = archive.json("custody", "DaLeLdemo01")
    [entry] = [e for e in custody["entries"] if e["event"] == "export" and e["details"]["package"] == bag.name]
    assert entry["details"]["sha256"] == hashlib.sha256((bag / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
    # one payload byte changed: both bagit.py and dalel verify say so
    clip = bag / "data" / "clip.mp4"
    clip.write_bytes(clip.read_bytes()[:-1] + bytes([clip.read_bytes()[-1] ^ 1]))
    assert subprocess.run([sys.executable, bagit_py, "--validate", str(bag)], capture_output=True).returncode != 0
    bad = archive("verify", str(bag), ok=False)
    assert bad.exit_code == 1 and "FAIL BagIt bag" in bad.output
    hits = tmp_path / "hits-bag"
    assert "1 clip(s)" in archive("export", '"захвату власти"', "--format", "bagit", "--out", str(hits)).output
    assert subprocess.run([sys.executable, bagit_py, "--validate", str(hits)], capture_output=True).returncode == 0
    assert (hits / "data" / "index.html").is_file()
    again = archive("clip", "DaLeLdemo01", "10", "13", "--format", "bagit", "--out", str(hits), ok=False)
    assert again.exit_code == 1 and "exists" in again.output
