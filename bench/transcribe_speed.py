"""`dalel transcribe` (the whole command) vs faster-whisper's own two ways, on four recordings.

Recordings (Russian speech, made from the bundled media):
  demo:     the bundled demo speech, concatenated to about 5 minutes;
  festival: the claim-check broadcast (bench/data/claim_broadcast.mp4, 14 Festival sentences);
  looped:   that broadcast five times over (looping is where the batched pass lost lines);
  news:     10 minutes of held-out news sentences read by Festival with pauses of varied
            length (bench/data/news_speech.ogg, made by bench/news_speech.py).
Each is transcribed, in its own process, on the same model (bundled Whisper base, int8 CPU):
  plain:    WhisperModel(...).transcribe(audio) with default settings (sequential);
  batched:  faster-whisper's BatchedInferencePipeline(model).transcribe(audio), defaults;
  engine:   Dalel's speech engine (transcribe.Transcriber) with the same settings, timed as
            the call alone like the two above: what Dalel's decoding adds over the library;
  dalel:    `dalel --config CONFIG transcribe` on the archived file (start-up, model load,
            database writes), with a config of its own so the caller's cannot change it.
Each is run 3 times (9 under 2 minutes), the four systems taking turns; the median is printed:
seconds per audio second, WER against the script, lines lost (script lines of which a third of
the words or more have no match in the transcript, aligned in order), the same counted by form
(words compared by the form Dalel's search index holds for them, lemma or stem: «ведущая» for
«ведущий» matches, «призывал» for «призвал» does not), and of the lines lost those dropped (a
third of whose words have no transcript word at all in their place: speech without words, not
misheard), peak RSS.

    .venv/bin/python bench/transcribe_speed.py [--runs 3] [--only demo,festival,looped,news]
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PLAIN = """
import sys, json, time
from faster_whisper import WhisperModel, BatchedInferencePipeline
from transcribe import Segment, TranscribeOptions, Transcriber, ensure_base_model
t0 = time.monotonic()
if sys.argv[2] == "engine":      # Dalel's speech engine alone, with the settings of CONFIG
    engine = Transcriber(TranscribeOptions(languages=("kk", "ru")))
    engine.model                 # it loads in a thread: wait, so the call alone is timed
else:
    model = WhisperModel(str(ensure_base_model()), device="cpu", compute_type="int8")
t1 = time.monotonic()
if sys.argv[2] == "engine":
    _, events = engine.transcribe(sys.argv[1])
    text = " ".join(e.text for e in events if isinstance(e, Segment))
elif sys.argv[2] == "batched":
    segments, info = BatchedInferencePipeline(model).transcribe(sys.argv[1])
    text = " ".join(s.text for s in segments)
else:
    segments, info = model.transcribe(sys.argv[1])
    text = " ".join(s.text for s in segments)
t2 = time.monotonic()
print(json.dumps({"load": t1 - t0, "transcribe": t2 - t1, "text": text}))
"""
SYSTEMS = ("plain", "batched", "engine", "dalel")
CONFIG = 'data_dir = "data"\n[transcribe]\nlanguages = ["kk", "ru"]\n'


def _write_wav(out: Path, audio) -> float:
    import numpy as np
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.tobytes())
    return len(pcm) / 16000


def _lines(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", text) if s.strip()]


def recordings(tmp: Path, only: set[str]) -> dict[str, tuple[Path, float, list[str]]]:
    """name → (wav, seconds, script lines)."""
    import numpy as np
    from faster_whisper import decode_audio

    import claim_check
    from dalel.loopback import DEMO_DIR
    out = {}
    if "demo" in only:
        parts = [(decode_audio(str(DEMO_DIR / f"{n}.mp4")), (DEMO_DIR / f"{n}.txt").read_text("utf-8"))
                 for n in ("ru_broadcast", "ru_news")]
        audio, lines = [], []
        while sum(len(a) for a in audio) < 5 * 60 * 16000:
            for a, t in parts:
                audio.append(a)
                lines += _lines(t)
        out["demo"] = (tmp / "demo.wav", _write_wav(tmp / "demo.wav", np.concatenate(audio)), lines)
    if only & {"festival", "looped"}:
        if not claim_check.BROADCAST.exists():
            claim_check.make()
        one = decode_audio(str(claim_check.BROADCAST))
        lines = [text for _, text in claim_check.SENTENCES]
        if "festival" in only:
            out["festival"] = (tmp / "festival.wav", _write_wav(tmp / "festival.wav", one), lines)
        if "looped" in only:
            out["looped"] = (tmp / "looped.wav", _write_wav(tmp / "looped.wav", np.concatenate([one] * 5)),
                             lines * 5)
    if "news" in only:
        import news_speech
        lines = [s["text"] for s in json.loads(news_speech.TRUTH.read_text(encoding="utf-8"))]
        out["news"] = (tmp / "news.wav", _write_wav(tmp / "news.wav", decode_audio(str(news_speech.AUDIO))), lines)
    return out


def _words(s: str) -> list[str]:
    return re.findall(r"[^\W_]+", s.lower().replace("ё", "е"))


def wer(ref: str, hyp: str) -> float:
    r, h = _words(ref), _words(hyp)
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1] / max(1, len(r))


def lines_lost(lines: list[str], hyp: str) -> tuple[int, int, int]:
    """(lost, lost by form, dropped): script lines of which a third of the words or more have no
    match in the transcript; the same with words compared by the form Dalel's search indexes
    (`_form`); and of the lines lost, those a third of whose words have no transcript word at all
    in their place (speech dropped, not misheard). Script and transcript are aligned word by word
    in order (a minimum-edit alignment, so a line is matched at its place in the speech, not
    anywhere — the recordings repeat themselves)."""
    lost, paired = _lost(lines, hyp, lambda w: w)
    by_form, _ = _lost(lines, hyp, _form)
    return len(lost), len(by_form), sum(1 for i in lost if paired[i] < len(_words(lines[i])) * 2 / 3)


def _lost(lines: list[str], hyp: str, key) -> tuple[list[int], list[int]]:
    """The lines lost with words compared as `key` gives them, and per line its words paired."""
    ref, owner = [], []
    for i, line in enumerate(lines):
        for w in _words(line):
            ref.append(key(w))
            owner.append(i)
    matched, paired = [0] * len(lines), [0] * len(lines)
    for k, _, equal in _aligned(ref, [key(w) for w in _words(hyp)]):
        paired[owner[k]] += 1
        matched[owner[k]] += equal
    return [i for i, line in enumerate(lines) if matched[i] < len(_words(line)) * 2 / 3], paired


@functools.lru_cache(maxsize=None)
def _form(word: str) -> str:
    """The form Dalel's search indexes `word` under (its lemma, or its stem)."""
    import store

    tokens = store.analyse(word)
    return tokens[0].stem if tokens else word


def _aligned(ref: list[str], hyp: list[str]) -> list[tuple[int, int, bool]]:
    """The reference words that a minimum-edit alignment pairs with a transcript word: (its index,
    the transcript word's, whether the two are equal); a reference word left out of the pairs has
    none in its place."""
    n, m = len(ref), len(hyp)
    prev, back = list(range(m + 1)), []
    for i in range(1, n + 1):
        cur, dirs, r = [i] + [0] * m, bytearray(m + 1), ref[i - 1]
        dirs[0] = 1
        for j in range(1, m + 1):
            best, d = prev[j - 1] + (r != hyp[j - 1]), 0
            if prev[j] + 1 < best:
                best, d = prev[j] + 1, 1
            if cur[j - 1] + 1 < best:
                best, d = cur[j - 1] + 1, 2
            cur[j], dirs[j] = best, d
        back.append(dirs)
        prev = cur
    out, i, j = [], n, m
    while i > 0 and j > 0:
        d = back[i - 1][j]
        if d == 0:
            out.append((i - 1, j - 1, ref[i - 1] == hyp[j - 1]))
            i, j = i - 1, j - 1
        elif d == 1:
            i -= 1
        else:
            j -= 1
    return out


def peak_rss(cmd: list[str], cwd: Path | None = None) -> tuple[str, float, float]:
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        if cwd:
            os.chdir(cwd)
        for fd, ext in ((1, "out"), (2, "err")):   # stderr too: progress lines would mix in the table
            os.dup2(os.open(os.path.join(tempfile.gettempdir(), f"dalel-bench-{os.getpid()}.{ext}"),
                            os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        os.execvp(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - start
    out, err = (Path(tempfile.gettempdir(), f"dalel-bench-{pid}.{ext}") for ext in ("out", "err"))
    text, errors = out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8")
    out.unlink()
    err.unlink()
    if status != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed with status {status}:\n{errors[-2000:]}")
    return text, wall, usage.ru_maxrss / 1024


def run_dalel(tmp: Path, name: str, wav: Path) -> tuple[str, float, float]:
    from dalel.loopback import DemoVideo, Platform
    home = tmp / f"dalel-{name}"
    if home.exists():
        import shutil
        shutil.rmtree(home)
    home.mkdir()
    (home / "config.toml").write_text(CONFIG, encoding="utf-8")
    dalel = [sys.executable, "-m", "dalel", "--config", str(home / "config.toml")]
    video = DemoVideo("BenchSpeech", "bench", wav, "2024-01-01T00:00:00+00:00")
    with Platform([video]) as platform:
        subprocess.run(dalel + ["archive", platform.media_url(video)], check=True, capture_output=True)
    _, wall, rss = peak_rss(dalel + ["transcribe"], cwd=home)
    data = json.loads(subprocess.run(dalel + ["transcript", "BenchSpeech", "--format", "json"],
                                     check=True, capture_output=True).stdout)
    return " ".join(s["text"] for s in data["segments"]), wall, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="demo,festival,looped,news")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        recs = recordings(tmp, set(args.only.split(",")))
        print(f"{'recording':9} {'audio':>6} {'system':8} {'s/s':>6} {'× plain':>7} {'WER':>6} "
              f"{'lines lost':>10} {'by form':>7} {'dropped':>7} {'peak RSS':>8}   (median of {args.runs} runs, "
              f"{3 * args.runs} under 2 minutes)")
        for name, (wav, seconds, lines) in recs.items():
            reference = " ".join(lines)
            runs: dict[str, list[tuple]] = {s: [] for s in SYSTEMS}
            # the systems take turns, so a slower spell of the machine falls on each alike; a short
            # recording runs three times as often (its times vary by a tenth from run to run)
            for _ in range(args.runs * (3 if seconds < 120 else 1)):
                for system in SYSTEMS:
                    if system == "dalel":
                        text, wall, rss = run_dalel(tmp, name, wav)
                        rtf = wall / seconds                    # the whole command
                    else:
                        out, wall, rss = peak_rss([sys.executable, "-c", PLAIN, str(wav), system])
                        got = json.loads(out)
                        text, rtf = got["text"], got["transcribe"] / seconds   # the call alone
                    runs[system].append((rtf, wer(reference, text), *lines_lost(lines, text), rss))
            results = {system: [statistics.median(x) for x in zip(*r)] for system, r in runs.items()}
            for system, (rtf, w, lost, by_form, dropped, rss) in results.items():
                print(f"{name:9} {seconds:>5.0f}s {system:8} {rtf:>6.3f} {results['plain'][0] / rtf:>6.2f}x "
                      f"{w:>6.3f} {lost:>4.0f} of {len(lines):<4} {by_form:>7.0f} {dropped:>7.0f} {rss:>6.0f} MB")
        print("dalel is timed as the whole command (start-up, model load, decoding, database writes);"
              " plain, batched and engine as the transcribe call alone")


if __name__ == "__main__":
    main()
