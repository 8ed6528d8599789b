"""A held-out Russian recording for the transcription bench: 10 minutes of news and encyclopaedia
sentences read by Festival, with pauses of varied length between them.

The sentences are the UD Russian GSD dev set's (../shared/fixtures/ud-russian-gsd-dev.conllu,
CC BY-SA 4.0): every sentence of 6-22 words written in Cyrillic letters and plain punctuation
only (no digits, Latin names or quotes, which a speech synthesiser and a recogniser would spell
differently), in the file's order, as many as fit in 10 minutes. Between two sentences: a pause
drawn from 0.2-1.6 s with a fixed seed, as a speaker's pauses vary (a fixed gap would let every
clip boundary fall alike). Unlike the claim-check broadcast it repeats nothing, and it was made
after the engine's settings had been chosen on the other three recordings: it showed that the
clips cut at pauses chosen there did worse than faster-whisper's own chunking on new speech.

    .venv/bin/python bench/news_speech.py     # regenerate (festival festvox-ru sox; writes bench/data)
"""
from __future__ import annotations

import json
import random
import re
import subprocess
import tempfile
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).with_name("data")
AUDIO = DATA / "news_speech.ogg"
TRUTH = DATA / "news_speech.json"
SOURCE = ROOT.parent / "shared" / "fixtures" / "ud-russian-gsd-dev.conllu"
MINUTES = 10
_PLAIN = re.compile(r"[А-Яа-яЁё ,.\-:;!?]+")


def sentences(conllu: Path = SOURCE) -> list[str]:
    out = []
    for line in conllu.read_text(encoding="utf-8").splitlines():
        if line.startswith("# text = "):
            text = line[len("# text = "):].strip().replace(" -- ", ", ")   # Festival cannot say a dash
            if _PLAIN.fullmatch(text) and 6 <= len(text.split()) <= 22 and text[-1] in ".!?":
                out.append(text)
    return out


def make() -> None:
    import av
    import numpy as np

    rng = random.Random(20261201)
    pieces, truth, t = [np.zeros(16000, dtype=np.int16)], [], 1.0
    with tempfile.TemporaryDirectory() as work:
        src, raw, wav = (Path(work) / n for n in ("s.txt", "raw.wav", "s.wav"))
        for text in sentences():
            if t > MINUTES * 60 - 10:
                break
            src.write_text(text + "\n", encoding="utf-8")
            subprocess.run(["text2wave", "-eval", "(voice_msu_ru_nsh_clunits)", str(src), "-o", str(raw)],
                           check=True)
            subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav)], check=True)
            with wave.open(str(wav)) as w:
                speech = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
            pause = round(rng.uniform(0.2, 1.6), 2)
            truth.append({"start": round(t, 2), "end": round(t + len(speech) / 16000, 2), "text": text})
            pieces += [speech, np.zeros(int(pause * 16000), dtype=np.int16)]
            t += len(speech) / 16000 + pause
    samples = np.concatenate(pieces)
    DATA.mkdir(exist_ok=True)
    with av.open(str(AUDIO), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=16000)
        stream.bit_rate = 16000
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    TRUTH.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {AUDIO} ({AUDIO.stat().st_size:,} bytes, {len(samples) / 16000:.0f} s, "
          f"{len(truth)} sentences) and {TRUTH}")


if __name__ == "__main__":
    make()
