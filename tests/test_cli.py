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
