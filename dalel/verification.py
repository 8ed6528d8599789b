"""Verification: an evidence package (a ZIP or a BagIt bag) against its own checksums, its
manifest and the archived original; the whole archive against every record of each file's
hash (the database, the capture's custody entry, the folder's manifest, timestamp tokens)
and each custody chain against the copy of its head kept outside the database."""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bagit

import monitor
import store

from . import tsa
from .anchoring import latest_heads
from .errors import DalelError
from .evidence import BAGGING, CHECKSUMS, PAYLOAD, original, sha256_bytes

if TYPE_CHECKING:
    from .app import App

__all__ = ["Check", "verify_archive", "verify_package"]


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str = ""


class _Bag:
    """A BagIt bag read like a ZIP: the payload's files by their names under data/."""

    def __init__(self, path: Path):
        self.data = path / "data"

    def namelist(self) -> list[str]:
        return [p.relative_to(self.data).as_posix() for p in self.data.rglob("*") if p.is_file()]

    def read(self, name: str) -> bytes:
        try:
            return (self.data / name).read_bytes()
        except OSError as exc:
            raise KeyError(name) from exc


def verify_package(path: Path, app: App | None) -> list[Check]:
    """Check a package (a ZIP or a BagIt bag): every file against SHA256SUMS and the
    manifest, the bag's own manifests, and (when the archive is at hand) the archived
    original against the manifest."""
    checks: list[Check] = []
    if path.is_dir() and (path / "bagit.txt").is_file():
        with BAGGING:
            try:
                bagit.Bag(str(path.resolve())).validate()
                checks.append(Check("BagIt bag (RFC 8493): manifests and payload", True))
            except bagit.BagError as exc:
                checks.append(Check("BagIt bag (RFC 8493): manifests and payload", False, str(exc)[:300]))
        z: Any = _Bag(path)
    else:
        try:
            z = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise DalelError(f"{path} is not a readable ZIP package or BagIt bag: {exc}") from exc
    names = set(z.namelist())
    for folder in sorted({n.rsplit("/", 1)[0] + "/" if "/" in n else "" for n in names
                          if n.endswith(CHECKSUMS)}):
        checks += _verify_clip(z, names, folder, app)
    if isinstance(z, zipfile.ZipFile):
        z.close()
    if not [c for c in checks if not c.what.startswith("BagIt")]:
        raise DalelError(f"{path} holds no {CHECKSUMS}; it is not a Dalel evidence package")
    return checks


def _verify_clip(z: Any, names: set[str], folder: str, app: App | None) -> list[Check]:
    checks = []
    listed = {}
    for line in z.read(folder + CHECKSUMS).decode("utf-8", "replace").splitlines():
        digest, _, name = line.partition("  ")
        listed[name.strip()] = digest.strip()
    for name in PAYLOAD:
        if name not in listed or folder + name not in names:
            checks.append(Check(folder + name, False, "missing"))
            continue
        actual = sha256_bytes(z.read(folder + name))
        checks.append(Check(folder + name, actual == listed[name],
                            "" if actual == listed[name] else f"SHA-256 {actual} ≠ listed {listed[name]}"))
    try:
        manifest = json.loads(z.read(folder + "manifest.json"))
        clip_sha = sha256_bytes(z.read(folder + "clip.mp4"))
    except (KeyError, ValueError) as exc:
        return checks + [Check(folder + "manifest.json", False, f"unreadable: {exc}")]
    ok = clip_sha == manifest["clip"]["sha256"]
    checks.append(Check(folder + "clip.mp4 vs manifest", ok,
                        "" if ok else f"SHA-256 {clip_sha} ≠ manifest {manifest['clip']['sha256']}"))
    if app is not None:
        original_check, video = _verify_original(app, manifest, folder)
        checks.append(original_check)
        ca = app.config.evidence.tsa_ca_file
        for name in sorted(n for n in names if n.startswith(folder + "manifest.json.") and n.endswith(".tsr")):
            if not ca:
                checks.append(Check(name, True, "timestamp present; set [evidence] tsa_ca_file to check it"))
                continue
            ok, why = tsa.verify(z.read(name), z.read(folder + "manifest.json"), ca)
            checks.append(Check(name + " (RFC 3161 timestamp)", ok, why))
        if video is not None:   # the custody log records the whole result, a failure as a failure
            failed = [c.what for c in checks if not c.ok]
            store.custody.record(app.store, video, "verification", {
                "package_clip": manifest["clip"]["sha256"], "ok": not failed,
                "original_ok": original_check.ok, "failed": failed})
    return checks


def _verify_original(app: App, manifest: dict, folder: str) -> tuple[Check, store.Video | None]:
    what = f"{folder}archived original {manifest['original']['archive_path']}"
    try:
        video = app.store.videos.find(f"{manifest['platform']}:{manifest['platform_id']}")
        path, rec = original(app, video, check=False)
    except (store.StoreError, DalelError):
        return Check(what, True, "not in this archive; not checked"), None
    actual = monitor.sha256_file(path)
    expected = manifest["original"]["sha256"]
    ok = actual == expected == rec.sha256
    return Check(what, ok, "" if ok else f"SHA-256 now {actual}; manifest says {expected}"), video


@dataclass
class _Records:
    """Every record of a video's file hashes besides the database's: the custody log's capture
    entries (a final version's included), its timestamp entries, and each capture folder's
    manifest.json."""
    captured: dict[str, str]            # folder/name → SHA-256
    stamped: dict[str, str]             # token name → SHA-256
    listed: dict[str, dict[str, str]]   # folder → name → SHA-256


def _records(app: App, entries: list, files: list[store.FileRecord]) -> _Records:
    captured = {f"{e.details.get('folder')}/{name}": digest for e in entries if e.event == "capture"
                for name, digest in e.details.get("files", {}).items()}
    stamped = {name: t.get("sha256") for e in entries if e.event == "timestamp"
               for name, t in e.details.get("tokens", {}).items()}
    listed = {f.path.rsplit("/", 1)[0]: _manifest_hashes(app, f) for f in files if f.role.endswith("manifest")}
    return _Records(captured, stamped, listed)


def _check_file(app: App, f: store.FileRecord, files: list[store.FileRecord], rec: _Records) -> list[str]:
    """What is wrong with one archived file: missing, or its bytes unlike a record of them."""
    folder, name = f.path.rsplit("/", 1)
    actual = app.files.sha256(f)      # re-hashed: the local file, or the S3 version recorded
    if actual is None:
        return [f"{f.path} missing" + (f" (S3 version {f.version_id})" if f.version_id else "")]
    records: dict[str, str | None] = {"the database": f.sha256}
    problems = []
    if f.role == "timestamp":     # added after the capture: its own custody entry
        records["the timestamp record"] = rec.stamped.get(name)
        problems += _token_problems(app, f, files)
    else:
        if rec.captured:
            records["the capture record"] = rec.captured.get(f.path)
        if folder in rec.listed and not f.role.endswith("manifest"):
            records["manifest.json"] = rec.listed[folder].get(name)
    wrong = {k: v for k, v in records.items() if v != actual}
    if wrong:
        said = ", ".join(f"{k} says {(v or 'nothing')[:12]}…" for k, v in wrong.items())
        problems.append(f"{f.path} changed: the file hashes to {actual[:12]}…, {said}")
    return problems


def verify_archive(app: App) -> tuple[int, list[Check]]:
    """Re-hash every archived file and compare it with every record of its hash: the database,
    the capture entries of the custody log, and its folder's manifest.json; check each video's
    custody chain and its head against the copies kept outside the database (the heads log
    beside an embedded database, the latest custody anchor in S3). Returns (files
    checked, failures); every disagreement is named."""
    failures, n = [], 0
    heads = Heads(store.custody.last_heads(app.store.heads_path), *latest_heads(app))
    for video in app.store.videos.all():
        k, bad = verify_video(app, video, heads)
        n += k
        if bad:
            failures.append(Check(video.video_id, False, "; ".join(bad)))
    return n, failures


@dataclass(frozen=True)
class Heads:
    """The copies of the chains' heads kept outside the database."""
    logged: dict[str, tuple[int, str]]
    anchor: str | None
    anchored: dict[str, tuple[int, str]]


def verify_video(app: App, video: store.Video, heads: Heads | None = None) -> tuple[int, list[str]]:
    """One video's files and custody chain, as `verify_archive` checks them (a `fixity` job on
    a cluster's worker); records the fixity entry. Returns (files checked, problems)."""
    heads = heads or Heads(store.custody.last_heads(app.store.heads_path), *latest_heads(app))
    entries, problems = store.custody.chain(app.store, video)
    bad = list(problems) + store.custody.check_heads(app.store, video, entries, heads.logged)
    bad += [f"{p} (the custody anchor {heads.anchor})"
            for p in store.custody.check_heads(app.store, video, entries, heads.anchored)]
    files = app.store.videos.files(video)
    rec = _records(app, entries, files)
    for f in files:
        bad += _check_file(app, f, files, rec)
    if video.archived_at and not rec.captured:
        bad.append("no capture entry in the custody log")
    if video.archived_at:
        store.custody.record(app.store, video, "fixity", {"ok": not bad, "problems": bad})
    return len(files), bad


def _token_problems(app: App, token: store.FileRecord, files: list[store.FileRecord]) -> list[str]:
    """A capture's timestamp token checked against its manifest (with [evidence] tsa_ca_file)."""
    ca = app.config.evidence.tsa_ca_file
    manifest = next((f for f in files if f.role == "manifest"), None)
    if not ca or manifest is None:
        return []
    ok, why = tsa.verify(app.files.read(token), app.files.read(manifest), ca)
    return [] if ok else [f"{token.path.rsplit('/', 1)[-1]} does not verify against manifest.json: {why}"]


def _manifest_hashes(app: App, rec: store.FileRecord) -> dict[str, str]:
    """The hashes a capture folder's manifest.json lists, by file name."""
    try:
        data = json.loads(app.files.read(rec).decode("utf-8"))
        return {f["name"]: f["sha256"] for f in data.get("files", [])}
    except (OSError, ValueError, KeyError, TypeError, DalelError):
        return {}
