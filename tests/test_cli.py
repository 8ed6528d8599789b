"""The CLI as documented: every command has help with an example, and the README lists it."""
from pathlib import Path

from click.testing import CliRunner

from dalel.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def commands(group=cli, prefix=()):
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from commands(cmd, prefix + (name,))
        else:
            yield prefix + (name,)


def test_every_command_has_help_with_an_example():
    for path in commands():
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example:" in result.output, f"dalel {' '.join(path)} --help has no example"


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in commands():
        assert f"dalel {' '.join(path)}" in readme, f"README does not document dalel {' '.join(path)}"


def test_readme_opens_with_the_setup_commands():
    head = (ROOT / "README.md").read_text(encoding="utf-8")[:1500]
    assert "make demo" in head and "make test" in head


def test_analyze_shows_indexed_forms():
    result = CliRunner().invoke(cli, ["analyze", "--lang", "ru", "захвату власти", "--json"])
    import json
    tokens = json.loads(result.output)["tokens"]
    assert tokens == [{"word": "захвату", "stem": "захват", "lang": "ru"},
                      {"word": "власти", "stem": "власть", "lang": "ru"}]
    kk = json.loads(CliRunner().invoke(cli, ["analyze", "билікті", "--json"]).output)["tokens"]
    assert kk == [{"word": "билікті", "stem": "билик", "lang": "kk"}]  # і, й are written и in Kazakh forms


def test_an_estimated_count_of_possible_mentions_says_about(tmp_path):
    """`dalel search` on a word found only misheard, in more segments than it reads in full:
    "about 1,200", the count of the segments holding a near form, never the ~120 read."""
    import store
    from store import SegmentRecord
    (tmp_path / "config.toml").write_text('data_dir = "data"\n', encoding="utf-8")
    (tmp_path / "data").mkdir()
    with store.Store(tmp_path / "data" / "dalel.sqlite3") as st:
        video, _ = st.videos.discover("example", "N1", "https://example.org/N1", channel="Ne deidi")
        st.transcripts.add_text(video, source="asr", model="by hand", segments=[
            SegmentRecord(float(i), i + 0.9, f"Говорим о выбарах, строка {i}.", "ru") for i in range(1200)])
    out = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), "search", "выборах"])
    assert out.exit_code == 0, out.output
    assert "no exact match; about 1,200 possible mention(s) spelled differently:" in out.output
    assert "about 1,200 hit(s) in 1 video(s)" in out.output and "(N1), 1,200 hit(s)" in out.output
