import hashlib

from transcribe import ensure_base_model
from transcribe.model import BASE_SHA256


def test_bundled_base_model_is_assembled_and_matches_the_pinned_hash():
    folder = ensure_base_model()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt", "model.bin"):
        assert (folder / name).is_file()
    h = hashlib.sha256()
    with open(folder / "model.bin", "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    assert h.hexdigest() == BASE_SHA256


def test_a_batch_split_among_workers_gives_what_one_worker_gives():
    # On CPU the model runs one single-threaded worker per core and splits each batch's rows
    # among them: the encoder output, languages, decoded tokens and word alignments of three
    # real speech clips must be exactly those of one worker.
    import ctranslate2
    import numpy as np
    from faster_whisper import decode_audio
    from faster_whisper.audio import pad_or_trim

    from dalel.loopback import DEMO_DIR
    from transcribe.model import SplitRows, load

    audio = decode_audio(str(DEMO_DIR / "ru_news.mp4"))
    split = load("base", "cpu", "int8", 3, 8)
    whole = load("base", "cpu", "int8", 1, 8)
    assert isinstance(split.model, SplitRows) and (split.model.workers, whole.model.workers) == (3, 1)
    clips = [audio[i * 16000:(i + 7) * 16000] for i in (0, 5, 11)]
    feats = np.stack([pad_or_trim(whole.feature_extractor(c)[..., :-1]) for c in clips])
    a, b = split.encode(feats), whole.encode(feats)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert split.model.detect_language(a) == whole.model.detect_language(b)
    tok = whole.hf_tokenizer
    prompt = [tok.token_to_id(t) for t in ("<|startoftranscript|>", "<|ru|>", "<|transcribe|>",
                                           "<|notimestamps|>")]
    got = [r.sequences_ids[0] for r in split.model.generate(a, [prompt] * 3, beam_size=5)]
    assert got == [r.sequences_ids[0] for r in whole.model.generate(b, [prompt] * 3, beam_size=5)]
    assert all(got) and len({tuple(t) for t in got}) == 3       # three different clips, each heard
    # alignment pads a batch's texts to the longest, which moves a shorter row's alignment a
    # little: every row is aligned alone, whatever the workers and the batch
    aligned = [r.alignments for r in split.model.align(a, prompt[:3], got, [350, 350, 350])]
    assert aligned == [r.alignments for r in whole.model.align(b, prompt[:3], got, 350)]
    rows = np.asarray(b)
    alone = [whole.model._model.align(ctranslate2.StorageView.from_array(np.ascontiguousarray(rows[i:i + 1])),
                                      prompt[:3], got[i:i + 1], 350)[0].alignments for i in range(3)]
    assert aligned == alone
    # two workers: the rows split unevenly (two and one), still in order
    two = load("base", "cpu", "int8", 2, 8)
    assert two.model.workers == 2
    assert [r.sequences_ids[0] for r in two.model.generate(two.encode(feats), [prompt] * 3, beam_size=5)] == got
