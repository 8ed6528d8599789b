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
