"""RFC 3161 trusted timestamps over evidence manifests.

A timestamp authority (TSA) signs the SHA-256 of a manifest with the time: proof that
the package existed then, checkable by anyone with `openssl ts -verify`. Requests are
built here (a few DER bytes); verification uses the openssl command line tool.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx

log = logging.getLogger("dalel.tsa")
_SHA256_OID = bytes.fromhex("0609608648016503040201")


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _integer(value: int) -> bytes:
    raw = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return _der(0x02, raw)


def request(data: bytes, nonce: int | None = None) -> bytes:
    """A DER TimeStampReq for SHA-256 of `data`, asking for the TSA's certificate."""
    imprint = _der(0x30, _der(0x30, _SHA256_OID + b"\x05\x00") +
                   _der(0x04, hashlib.sha256(data).digest()))
    nonce = secrets.randbits(63) if nonce is None else nonce
    return _der(0x30, _integer(1) + imprint + _integer(nonce) + b"\x01\x01\xff")


def _read(buf: bytes, i: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at i."""
    tag, n = buf[i], buf[i + 1]
    i += 2
    if n & 0x80:
        k = n & 0x7F
        n, i = int.from_bytes(buf[i:i + k], "big"), i + k
    return tag, i, i + n


def status(response: bytes) -> int:
    """PKIStatus of a TimeStampResp (0 granted, 1 granted with modifications, >1 refused)."""
    _, body, _ = _read(response, 0)        # TimeStampResp SEQUENCE
    _, info, _ = _read(response, body)     # PKIStatusInfo SEQUENCE
    tag, start, end = _read(response, info)  # status INTEGER
    if tag != 0x02:
        raise ValueError("not a TimeStampResp")
    return int.from_bytes(response[start:end], "big")


def stamp(urls: tuple[str, ...], data: bytes, timeout: float = 20.0) -> list[tuple[str, bytes]]:
    """Ask each TSA to timestamp `data`; returns (url, response) for those that granted it."""
    tokens = []
    for url in urls:
        try:
            resp = httpx.post(url, content=request(data), timeout=timeout,
                              headers={"Content-Type": "application/timestamp-query"})
            resp.raise_for_status()
            if status(resp.content) > 1:
                raise ValueError(f"the TSA refused (status {status(resp.content)})")
        except (httpx.HTTPError, ValueError, IndexError) as exc:
            log.warning("timestamp from %s failed: %s", url, exc)
            continue
        tokens.append((url, resp.content))
    return tokens


def verify(token: bytes, data: bytes, ca_file: str) -> tuple[bool, str]:
    """Check a timestamp response against `data` and the TSA's CA certificate (openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return False, "openssl not found; install it to check timestamps"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "t.tsr").write_bytes(token)
        (Path(tmp) / "d").write_bytes(data)
        done = subprocess.run([openssl, "ts", "-verify", "-in", str(Path(tmp) / "t.tsr"),
                               "-data", str(Path(tmp) / "d"), "-CAfile", ca_file],
                              capture_output=True, text=True, check=False)
    ok = done.returncode == 0 and "Verification: OK" in done.stdout
    return ok, "" if ok else (done.stdout + done.stderr).strip().splitlines()[-1]
