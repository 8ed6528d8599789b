"""Every ffmpeg call of the project (media is probed with PyAV in transcribe/audio.py).

ffmpeg is Debian's when installed, else the static build of the imageio-ffmpeg wheel.
"""
from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from .errors import DalelError


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise DalelError("ffmpeg not found: install it (apt-get install ffmpeg) or "
                         "`pip install imageio-ffmpeg`") from exc


@lru_cache(maxsize=1)
def ffmpeg_version() -> str:
    out = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True, check=False)
    first = (out.stdout.splitlines() or ["unknown"])[0]
    return first.removeprefix("ffmpeg version ").split(" Copyright")[0]


def cut(src: Path, dst: Path, start: float, length: float, copy: bool = False) -> None:
    """Cut [start, start+length) from `src` into `dst` (mp4).

    Re-encoded (H.264/AAC) by default: frame-accurate. `copy` keeps the original streams,
    exact bytes but cut at keyframes, so the range may start a little early.
    """
    codecs = ["-c", "copy"] if copy else [
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k"]
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
           "-ss", f"{start:.3f}", "-i", str(src), "-t", f"{length:.3f}",
           "-map", "0:v:0?", "-map", "0:a:0?", *codecs, "-movflags", "+faststart", str(dst)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not dst.is_file():
        raise DalelError(f"ffmpeg could not cut {src.name}: {done.stderr.strip()[-300:]}")
