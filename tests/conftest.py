"""Shared fixtures: a stand-in platform on 127.0.0.1 and the real CLI against it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dalel.cli import cli
from dalel.demo import DEMO_DIR, Platform

HERE = Path(__file__).parent


class Dalel:
    """Runs `dalel --data-dir DIR ...` in-process, like a user at a terminal."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True):
        result = self.runner.invoke(cli, ["--data-dir", str(self.data_dir), *args])
        if ok and result.exit_code != 0:
            raise AssertionError(f"dalel {' '.join(args)} exited {result.exit_code}:\n"
                                 f"{result.output}\n{result.exception!r}")
        return result

    def json(self, *args: str):
        return json.loads(self(*args, "--json").output)


@pytest.fixture
def platform():
    with Platform() as p:
        yield p


@pytest.fixture
def dalel(tmp_path) -> Dalel:
    return Dalel(tmp_path / "data")


@pytest.fixture(scope="session")
def transcribed(tmp_path_factory):
    """An archive in which the demo channel has been polled and transcribed (done once)."""
    data = tmp_path_factory.mktemp("archive") / "data"
    with Platform() as p:
        d = Dalel(data)
        d("channel", "add", p.feed_url)
        d("poll")
        d("transcribe")
        yield d, p


@pytest.fixture
def spoken():
    return json.loads((DEMO_DIR / "ru_broadcast.json").read_text(encoding="utf-8"))
