"""`dalel transcribe` (the whole command) vs a plain faster-whisper call, in one run.

Builds ~5 minutes of Russian speech from the bundled demo media, then measures, each in
its own process on the same model (bundled Whisper base, int8 CPU):
  plain: WhisperModel(...).transcribe(audio) with default settings, segments consumed;
  dalel: `dalel transcribe` on the archived file (start-up, model load, database writes).
Prints seconds per audio second, the speed ratio, WER against the script, peak RSS.

    .venv/bin/python bench/transcribe_speed.py [--minutes 5]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PLAIN = """
import sys, json, time
from faster_whisper import WhisperModel
from transcribe import ensure_base_model
t0 = time.monotonic()
model = WhisperModel(str(ensure_base_model()), device="cpu", compute_type="int8")
t1 = time.monotonic()
segments, info = model.transcribe(sys.argv[1])
text = " ".join(s.text for s in segments)
t2 = time.monotonic()
print(json.dumps({"load": t1 - t0, "transcribe": t2 - t1, "text": text}))
"""


def build_audio(out: Path, minutes: float) -> tuple[float, str]:
    """Concatenate the demo speech until `minutes` long; returns (seconds, reference text)."""
    from faster_whisper import decode_audio
    import numpy as np

    from dalel.demo import DEMO_DIR
    parts = [(decode_audio(str(DEMO_DIR / f"{n}.mp4")), (DEMO_DIR / f"{n}.txt").read_text("utf-8"))
             for n in ("ru_broadcast", "ru_news")]
    audio, text = [], []
    while sum(len(a) for a in audio) < minutes * 60 * 16000:
        for a, t in parts:
            audio.append(a)
            text.append(t)
    pcm = (np.clip(np.concatenate(audio), -1, 1) * 32767).astype("<i2")
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    return len(pcm) / 16000, " ".join(text)


def wer(ref: str, hyp: str) -> float:
    norm = lambda s: re.findall(r"[^\W_]+", s.lower().replace("ё", "е"))
    r, h = norm(ref), norm(hyp)
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1] / max(1, len(r))


def peak_rss(cmd: list[str]) -> tuple[str, float, float]:
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.path.join(tempfile.gettempdir(), f"dalel-bench-{os.getpid()}.out"),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1)
        os.execvp(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    out_path = os.path.join(tempfile.gettempdir(), f"dalel-bench-{pid}.out")
    out = Path(out_path).read_text(encoding="utf-8")
    os.unlink(out_path)
    if status != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed with status {status}")
    return out, wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0)
    args = ap.parse_args()
    from dalel.demo import DemoVideo, Platform

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        wav = tmp / "speech.wav"
        seconds, reference = build_audio(wav, args.minutes)
        print(f"audio: {seconds:.1f} s of Russian speech ({wav.stat().st_size / 1e6:.1f} MB wav)")

        out, plain_wall, plain_rss = peak_rss([sys.executable, "-c", PLAIN, str(wav)])
        plain = json.loads(out)
        plain_wer = wer(reference, plain["text"])

        dalel = [sys.executable, "-m", "dalel", "--data-dir", str(tmp / "data")]
        video = DemoVideo("BenchSpeech", "bench", wav, "2024-01-01T00:00:00+00:00")
        with Platform([video]) as platform:
            subprocess.run(dalel + ["archive", platform.media_url(video)], check=True,
                           capture_output=True)
        _, dalel_wall, dalel_rss = peak_rss(dalel + ["transcribe"])
        data = json.loads(subprocess.run(dalel + ["transcript", "BenchSpeech", "--format", "json"],
                                         check=True, capture_output=True).stdout)
        dalel_wer = wer(reference, " ".join(s["text"] for s in data["segments"]))

    p_rtf = plain["transcribe"] / seconds
    p_rtf_all = plain_wall / seconds
    d_rtf = dalel_wall / seconds
    print(f"plain WhisperModel.transcribe: {plain['transcribe']:.1f} s (+{plain['load']:.1f} s load) "
          f"→ {p_rtf:.3f} s/s ({p_rtf_all:.3f} with start-up), WER {plain_wer:.3f}, peak RSS {plain_rss:.0f} MB")
    print(f"dalel transcribe (whole command): {dalel_wall:.1f} s → {d_rtf:.3f} s/s, "
          f"WER {dalel_wer:.3f}, peak RSS {dalel_rss:.0f} MB")
    print(f"speed-up: {p_rtf / d_rtf:.2f}x vs the plain call alone, "
          f"{p_rtf_all / d_rtf:.2f}x vs the plain process")


if __name__ == "__main__":
    main()
