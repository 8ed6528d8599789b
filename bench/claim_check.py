"""Claim check: does `dalel report` find every spoken mention of a claim once, and nothing else?

Three videos on a loopback channel, archived and transcribed by the real commands:
  1. a Russian broadcast spoken by Festival (bench/data/claim_broadcast.mp4, made by
     `--make` from SENTENCES below), transcribed by Whisper base;
  2. a Russian transcript with the spellings speech recognition gets wrong (захвад,
     свирженю), imported with `dalel import-transcript`;
  3. a Kazakh transcript, imported the same way.
Each sentence is a mention of a claim (in noun, verb, participle or misheard form) or a
distractor (a word alone, the words in separate sentences, another sense: захват
заложников). A mention's truth is its sentence's time. For each claim the bench runs
`dalel report CLAIM --json` — the claim as typed (its words close together) and as a quoted
phrase — and counts: mentions found (as occurrences, or as possible
mentions spelled differently), hits outside any mention, mentions counted twice, and
mentions shown with their whole sentence (a negation before the words included). The
baseline is a plain FTS5 table (default unicode61 tokenizer) of the same segments,
queried with the claim as typed: one hit per matching segment.

    .venv/bin/python bench/claim_check.py          # needs only the venv
    .venv/bin/python bench/claim_check.py --keep   # keep the archive to look at
    .venv/bin/python bench/claim_check.py --make   # regenerate the broadcast (festival festvox-ru sox ffmpeg)
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).with_name("data")
BROADCAST = DATA / "claim_broadcast.mp4"
TRUTH = DATA / "claim_broadcast.json"
GAP = 0.8   # seconds of silence between sentences

# (claim or None for a distractor, the sentence). Claims: A "захват власти", B "призыв
# свержение", C (Kazakh) "билікті басып алу".
SENTENCES = [
    ("A", "Мы никогда не призывали к насильственному захвату власти."),
    (None, "Мы призывали только к мирным переменам."),
    ("A", "Эта группа хотела захватить власть в стране."),
    (None, "Вчера в городе произошёл захват заложников."),
    ("A", "Военные захватили власть ночью."),
    (None, "Власть обязана защищать граждан."),
    ("A", "Хунта, захватившая власть, закрыла газеты."),
    (None, "Захват длился час. Власть узнала об этом утром."),
    ("A", "Власть была захвачена силой."),
    ("B", "Он открыто призывал к свержению правительства."),
    ("B", "В эфире звучали призывы свергнуть режим."),
    (None, "Призыв в армию начнётся весной."),
    ("B", "Ведущий призвал зрителей свергнуть президента."),
    (None, "Свержение монархии произошло давно."),
]
# Transcripts as speech recognition might write them: (claim or None, start, end, text).
MISHEARD = [
    ("A", 0.0, 4.0, "Они обсуждали захвад власти."),
    (None, 4.0, 8.0, "Захват территории осудили соседи."),
    ("B", 8.0, 12.0, "Призывы к свирженю звучали в эфире."),
    (None, 12.0, 16.0, "Свергнутый король уехал из страны."),
    ("A", 16.0, 20.0, "Ведущий говорил о захвате в власти."),
]
KAZAKH = [
    ("C", 0.0, 4.0, "Олар билікті күшпен басып алуға шақырды."),
    (None, 4.0, 8.0, "Билік халыққа жауап беруі керек."),
    ("C", 8.0, 12.0, "Әскерилер билікті басып алды."),
    (None, 12.0, 16.0, "Жау қаланы басып алды."),
    ("C", 16.0, 20.0, "Билікті басып алған топ газеттерді жапты."),
    (None, 20.0, 24.0, "Біз билікті бейбіт жолмен ауыстыруға шақырамыз."),
]
CLAIMS = {"A": "захват власти", "B": "призыв свержение", "C": "билікті басып алу"}


def make() -> None:
    """Speak SENTENCES with Festival, one wav each, joined by silence; record each one's time."""
    DATA.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp())
    try:
        parts, truth, t = [], [], 1.0
        silence = work / "gap.wav"
        subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(silence), "trim", "0", str(GAP)], check=True)
        lead = work / "lead.wav"
        subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(lead), "trim", "0", "1.0"], check=True)
        parts.append(lead)
        for i, (claim, text) in enumerate(SENTENCES):
            src, wav = work / f"{i}.txt", work / f"{i}.wav"
            src.write_text(text + "\n", encoding="utf-8")
            subprocess.run(["text2wave", "-eval", "(voice_msu_ru_nsh_clunits)", str(src), "-o",
                            str(work / "raw.wav")], check=True)
            subprocess.run(["sox", str(work / "raw.wav"), "-r", "16000", "-c", "1", str(wav)], check=True)
            length = float(subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True,
                                          check=True).stdout)
            truth.append({"claim": claim, "start": round(t, 2), "end": round(t + length, 2), "text": text})
            parts += [wav, silence]
            t += length + GAP
        subprocess.run(["sox", *map(str, parts), str(work / "all.wav")], check=True)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=160x120:r=5",
                        "-i", str(work / "all.wav"), "-shortest", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                        "-c:a", "aac", "-b:a", "48k", "-movflags", "+faststart", str(BROADCAST)], check=True)
        TRUTH.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {BROADCAST} ({BROADCAST.stat().st_size:,} bytes, {t:.1f} s) and {TRUTH}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _srt(rows) -> str:
    def ts(x: float) -> str:
        return f"00:00:{int(x):02d},{int(x * 1000) % 1000:03d}"
    return "".join(f"{i}\n{ts(a)} --> {ts(b)}\n{text}\n\n" for i, (_, a, b, text) in enumerate(rows, 1))


def _score(hits: list[dict], truth: list[dict], claim: str) -> dict:
    """Mentions found, hits outside any mention, mentions found twice (a hit belongs to a
    mention when its time overlaps the sentence's, within 0.3 s)."""
    mentions = [m for m in truth if m["claim"] == claim]
    count = {id(m): 0 for m in mentions}
    outside = 0
    for h in hits:
        inside = [m for m in mentions if m["video"] == h["video_id"]
                  and h["start"] <= m["end"] + 0.3 and h["end"] >= m["start"] - 0.3]
        if not inside:
            outside += 1
        for m in inside[:1]:
            count[id(m)] += 1
    return {"mentions": len(mentions), "found": sum(1 for v in count.values() if v),
            "outside": outside, "doubled": sum(1 for v in count.values() if v > 1)}


def main() -> None:
    if "--make" in sys.argv or not BROADCAST.exists():
        make()
    from click.testing import CliRunner

    from dalel.cli import cli
    from dalel.loopback import DemoVideo, Platform

    truth = [m | {"video": "ClaimRu01"} for m in json.loads(TRUTH.read_text(encoding="utf-8"))]
    truth += [{"claim": c, "start": a, "end": b, "text": t, "video": "ClaimRu02"} for c, a, b, t in MISHEARD]
    truth += [{"claim": c, "start": a, "end": b, "text": t, "video": "ClaimKk03"} for c, a, b, t in KAZAKH]
    tmp = Path(tempfile.mkdtemp(prefix="dalel-claims-"))
    config = tmp / "config.toml"
    config.write_text('data_dir = "data"\n[monitor]\nmin_request_interval = "0s"\n', encoding="utf-8")
    runner = CliRunner()

    def dalel(*args: str) -> str:
        result = runner.invoke(cli, ["--config", str(config), *args])
        if result.exit_code != 0:
            raise SystemExit(f"dalel {' '.join(args)} failed: {result.output}{result.exception!r}")
        return result.output

    short = Path(__file__).resolve().parents[1] / "dalel" / "demodata" / "ru_news.mp4"
    videos = [DemoVideo("ClaimRu01", "Claim check broadcast", BROADCAST, "2024-05-01T18:00:00+00:00"),
              DemoVideo("ClaimRu02", "Misheard transcript", short, "2024-05-02T18:00:00+00:00"),
              DemoVideo("ClaimKk03", "Kazakh transcript", short, "2024-05-03T18:00:00+00:00")]
    try:
        with Platform(videos, channel="Claims") as platform:
            dalel("channel", "add", platform.feed_url, "--name", "Claims")
            dalel("poll")
        dalel("transcribe", "ClaimRu01")
        for vid, rows, lang in (("ClaimRu02", MISHEARD, "ru"), ("ClaimKk03", KAZAKH, "kk")):
            srt = tmp / f"{vid}.srt"
            srt.write_text(_srt(rows), encoding="utf-8")
            dalel("import-transcript", vid, str(srt), "--lang", lang)
        db = sqlite3.connect(tmp / "data" / "dalel.sqlite3")
        segs = db.execute("SELECT v.video_id, s.start, s.end, s.text FROM segments s JOIN videos v"
                          " ON v.id = s.video JOIN transcripts t ON t.id = s.transcript"
                          " WHERE t.source != 'metadata'"
                          " AND (v.video_id != 'ClaimRu01' OR t.source = 'asr')").fetchall()
        plain = sqlite3.connect(":memory:")
        plain.execute("CREATE VIRTUAL TABLE f USING fts5(text, video UNINDEXED, start UNINDEXED, end UNINDEXED)")
        plain.executemany("INSERT INTO f (video, start, end, text) VALUES (?, ?, ?, ?)", segs)
        print(f"corpus: {len(segs)} segments in 3 videos; {sum(1 for m in truth if m['claim'])} mentions "
              f"of {len(CLAIMS)} claims, {sum(1 for m in truth if not m['claim'])} distractor sentences")
        sentences = {v: set(_sentences(" ".join(t for vv, _, _, t in segs if vv == v)))
                     for v in {s[0] for s in segs}}
        for label, quote in (("the words close together (as typed: захват власти)", ""),
                             ('the phrase (quoted: "захват власти")', '"')):
            print(f"\nclaims as {label}")
            _claims(dalel, plain, truth, sentences, quote)
    finally:
        if "--keep" in sys.argv:
            print(f"archive kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def _claims(dalel, plain, truth: list[dict], sentences: dict, quote: str) -> None:
    """One round of reports, one per claim, scored against the truth; FTS5 beside each."""
    print(f"{'claim':22} {'':6} {'found':>9} {'possible':>8} {'outside':>12} {'doubled':>7} "
          f"{'sentence':>8}")
    totals = {"dalel": [0, 0, 0, 0, 0, 0, 0], "plain": [0, 0, 0, 0, 0, 0, 0]}
    for key, claim in CLAIMS.items():
        report = json.loads(dalel("report", quote + claim + quote, "--json"))
        exact = _score(report["hits"], truth, key)
        both = _score(report["hits"] + report["possible"], truth, key)
        # a hit shows its whole sentence: its text is one of the transcript's sentences
        whole = sum(1 for h in report["hits"] + report["possible"]
                    if " ".join(_sentences(h["text"])) in sentences[h["video_id"]] or
                    all(x in sentences[h["video_id"]] for x in _sentences(h["text"])))
        shown = len(report["hits"] + report["possible"])
        rows = [{"video_id": v, "start": a, "end": b} for v, a, b in plain.execute(
            "SELECT video, start, end FROM f WHERE f MATCH ?", (quote + claim + quote,))]
        base = _score(rows, truth, key)
        poss_out = both["outside"] - exact["outside"]
        print(f"{quote + claim + quote:22} {'dalel':6} {both['found']:>4}/{both['mentions']:<4} "
              f"{both['found'] - exact['found']:>8} {exact['outside']:>4} (+{poss_out} pos.) "
              f"{both['doubled']:>7} {whole:>4}/{shown:<3}")
        print(f"{'':22} {'FTS5':6} {base['found']:>4}/{base['mentions']:<4} {'-':>8} "
              f"{base['outside']:>4}{'':9} {base['doubled']:>7} {'-':>8}")
        for name, sc, extra in (("dalel", both, exact), ("plain", base, base)):
            t = totals[name]
            t[0] += sc["found"]
            t[1] += sc["mentions"]
            t[2] += extra["outside"]
            t[3] += sc["doubled"]
            t[4] += sc["found"] - extra["found"]
            t[5] += sc["outside"] - extra["outside"]
        totals["dalel"][6] += whole
        totals["plain"][6] += shown
    d, p = totals["dalel"], totals["plain"]
    print(f"\nDalel report: {d[0]}/{d[1]} mentions found ({d[0] / d[1]:.0%}; {d[4]} of them as possible "
          f"mentions spelled differently), {d[2]} occurrence(s) outside any mention "
          f"(+{d[5]} possible mention(s) on a distractor, listed apart), {d[3]} counted twice, "
          f"{d[6]}/{p[6]} hits shown with their whole sentence")
    print(f"plain FTS5:   {p[0]}/{p[1]} mentions found ({p[0] / p[1]:.0%}), {p[2]} hits outside any "
          f"mention, {p[3]} counted twice")
    print("target: >= 90% found, 0 outside, 0 doubled — "
          + ("met" if d[0] / d[1] >= 0.9 and d[2] == 0 and d[3] == 0 else "NOT met"))


def _sentences(text: str) -> list[str]:
    """A text's sentences, normalised (words only), split after . ! ? …"""
    import re

    from store.text import normalise, words
    return [" ".join(normalise(w) for w in words(part)) for part in re.split(r"(?<=[.!?…])\s+", text)
            if words(part)]


if __name__ == "__main__":
    main()
