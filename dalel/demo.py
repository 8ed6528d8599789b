"""`dalel demo`: the offline demo — the real commands run against the loopback platform
(`loopback.py`) serving a demo channel, and the archive kept to explore."""
from __future__ import annotations

import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import click

from .errors import DalelError
from .loopback import DEMO_DIR, DemoVideo, Platform, demo_videos

DEMO_MARK = ".dalel-demo"   # a demo folder holds this file: only such a folder is replaced


def run_demo(cli: click.Command, folder: Path | None = None, echo: Callable[[str], None] = print) -> Path:
    """Serve the demo channel, then run the real commands against it. The archive is kept in
    `folder` (a fresh temporary folder when None) for the user to explore; returns it.
    `cli` is the `dalel` command group the steps run through."""
    if folder is None:
        data = Path(tempfile.mkdtemp(prefix="dalel-demo-"))
    else:
        data = folder.resolve()
        if data.exists() and any(data.iterdir()):
            if not (data / DEMO_MARK).exists():
                raise DalelError(f"{data} exists and is not a demo folder; choose another --dir")
            shutil.rmtree(data)
        data.mkdir(parents=True, exist_ok=True)
    (data / DEMO_MARK).write_text("made by `dalel demo`; replaced by the next one\n", encoding="utf-8")
    # The embedded defaults, whatever ./config.toml says; loopback needs no politeness delay.
    config = data / "config.toml"
    config.write_text('data_dir = "."\n[monitor]\nmin_request_interval = "0s"\n', encoding="utf-8")
    kazakh = DemoVideo("DaLeLdemo03", "Мәлімдеме", DEMO_DIR / "kk_statement.mp4",
                       "2024-03-15T18:00:00+00:00", "Қазақ тіліндегі мәлімдеме.")
    with Platform(demo_videos() + [kazakh]) as platform:
        echo(f"demo channel served at {platform.feed_url}")
        steps = [["channel", "add", platform.feed_url, "--name", "Ne deidi (demo)"],
                 ["poll"], ["transcribe"],
                 # espeak's Kazakh is beyond Whisper base: its script is imported as a transcript
                 ["import-transcript", "DaLeLdemo03", str(DEMO_DIR / "kk_statement.txt"), "--lang", "kk"],
                 ["status"], ["search", "захват власти"], ["search", "билікті"],
                 ["report", '"захват власти"']]
        for args in steps:
            echo("\n$ dalel " + shlex.join(args))
            cli.main(["--config", str(config), *args], prog_name="dalel", standalone_mode=False)
    cfg = shlex.quote(str(config))
    echo(f"\nThe demo archive is in {data}. Try:\n"
         f"  .venv/bin/dalel --config {cfg} search '\"захват власти\"~3'\n"
         f"  .venv/bin/dalel --config {cfg} report 'призыв свержение' --out report.html\n"
         f"  .venv/bin/dalel --config {cfg} clip DaLeLdemo01 0:00:10 0:00:14\n"
         f"  .venv/bin/dalel --config {cfg} serve        # then open http://127.0.0.1:8080")
    return data
