import pytest

from dalel import config as configmod
from dalel.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_shipped_config_is_valid_and_equals_the_defaults(monkeypatch, tmp_path):
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    cfg = configmod.load(str(root / "config.toml"))
    assert cfg.data_dir == root / "dalel-data"
    assert cfg.monitor == configmod.MonitorConfig()
    assert cfg.transcribe == configmod.TranscribeConfig()
    assert configmod.parse_duration(cfg.monitor.poll_every) == 900


def test_data_dir_precedence(monkeypatch, tmp_path):
    path = write(tmp_path, 'data_dir = "from-config"\n')
    assert configmod.load(path).data_dir == tmp_path / "from-config"
    monkeypatch.setenv("DALEL_DATA_DIR", str(tmp_path / "from-env"))
    assert configmod.load(path).data_dir == tmp_path / "from-env"
    assert configmod.load(path, str(tmp_path / "flag")).data_dir == tmp_path / "flag"


def test_config_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DALEL_CONFIG", write(tmp_path, 'data_dir = "x"\n[search]\nlimit = 5\n'))
    assert configmod.load().search.limit == 5


@pytest.mark.parametrize("text, message", [
    ("[monitor]\n", "missing config key data_dir"),
    ('data_dir = "d"\n[monitor]\npoll_every = "soon"\n', "monitor.poll_every = 'soon' is not a duration"),
    ('data_dir = "d"\n[monitor]\npol_every = "1m"\n', "unknown key monitor.pol_every"),
    ('data_dir = "d"\n[transcribe]\nlanguages = ["de"]\n', "transcribe.languages"),
    ('data_dir = "d"\n[transcribe]\nbatch_size = "8"\n', "must be an integer"),
    ('data_dir = "d"\n[web]\nport = true\n', "web.port = True must be an integer"),
    ('data_dir = "d"\n[web]\nport = 99999\n', "out of range: use 1 to 65535"),
    ('data_dir = "d"\n[transcribe]\nworkers = 1000000000\n', "out of range"),
    ('data_dir = "d"\n[evidence]\npad = nan\n', "must be a number"),
    ('data_dir = "d"\n[monitor]\npoll_every = "99999999d"\n', "longer than a year"),
    ('data_dir = "d\\u0000x"\n', "must be a folder path"),
    ('data_dir = "~nosuchuser_dalel/x"\n', "cannot be resolved"),
    ('data_dir = "d"\nx = ' + "[" * 2000 + "]" * 2000 + "\n", "nests|not valid TOML|unknown key"),
    ('data_dir = "d"\nextra = 1\n', "unknown key 'extra'"),
    ("data_dir = \n", "not valid TOML"),
])
def test_bad_config_names_key_and_fix(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        configmod.load(write(tmp_path, text))


def test_bad_config_is_one_line_on_the_cli(tmp_path):
    from click.testing import CliRunner
    from dalel.cli import cli
    result = CliRunner().invoke(cli, ["--config", write(tmp_path, "[monitor]\n"), "status"])
    assert result.exit_code == 1
    assert result.output.strip() == (f"Error: missing config key data_dir in {tmp_path}/config.toml; "
                                     'set data_dir = "..." or pass --data-dir')
    missing = CliRunner().invoke(cli, ["--config", str(tmp_path / "nope.toml"), "status"])
    assert missing.exit_code == 1 and "not found" in missing.output


def test_durations():
    assert configmod.parse_duration("90s") == 90
    assert configmod.parse_duration("15m") == 900
    assert configmod.parse_duration("24h") == 86400
    with pytest.raises(ConfigError):
        configmod.parse_duration("15")


def test_a_data_dir_that_is_a_file_or_unwritable_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        configmod.load(write(tmp_path, 'data_dir = "afile"\n'))
    from click.testing import CliRunner
    from dalel.cli import cli
    result = CliRunner().invoke(cli, ["--data-dir", "/proc/dalel-cannot-be-here", "status"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


# --- every key defined once (dalel/keys.py) ------------------------------------------

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_the_shipped_config_toml_is_generated_from_the_table():
    from dalel.keys import toml_defaults
    assert (ROOT / "config.toml").read_text(encoding="utf-8") == toml_defaults(), \
        "config.toml is stale: run `dalel config --defaults > config.toml`"


def test_the_readme_table_is_generated_from_the_table():
    from dalel.keys import markdown
    assert markdown() in (ROOT / "README.md").read_text(encoding="utf-8"), \
        "the README's table is stale: paste `dalel config --markdown` into it"


def test_every_config_field_is_a_key_of_the_table_and_back():
    import dataclasses

    from dalel.keys import SECTIONS, by_section
    for section in (*SECTIONS, "channels"):
        cls = configmod.SECTION_CLASSES[section]
        assert [f.name for f in dataclasses.fields(cls)] == list(by_section(section)), section


def test_config_help_lists_every_key_with_its_default():
    from click.testing import CliRunner

    from dalel.cli import cli
    from dalel.keys import KEYS
    out = CliRunner().invoke(cli, ["config", "--help"]).output
    for key in KEYS:
        assert key.name in out
    assert '[monitor] poll_every = "15m"' in out


def test_durations_and_sizes_are_parsed_once_at_load(tmp_path):
    cfg = configmod.load(write(tmp_path, 'data_dir = "d"\n[monitor]\npoll_every = "2m"\nmin_free_space = "1GB"\n'
                                         '[[channels]]\nurl = "https://example.org/feed"\nevery = "30m"\n'))
    assert cfg.monitor.poll_every == 120.0 and cfg.monitor.min_free_space == 1_000_000_000
    assert cfg.channels[0].every == 1800.0 and configmod.ChannelConfig("u").every is None


@pytest.mark.parametrize("kind, value, message", [
    ("bool", 1, "must be true or false"), ("bool", "false", "must be true or false"),
    ("int", True, "must be an integer"), ("int", 1.5, "must be an integer"),
    ("float", False, "must be a number"), ("duration", 90, "must be a string"),
])
def test_values_are_checked_strictly(kind, value, message):
    from dalel.keys import Key
    with pytest.raises(ConfigError, match=message):
        configmod._parse(Key("x", "key", kind, None, "a key for the test"), value)


def test_a_bool_key_accepts_false():
    from dalel.keys import Key
    assert configmod._parse(Key("x", "enabled", "bool", True, "a key for the test"), False) is False


def test_the_effective_config_prints_as_toml_that_loads_again(tmp_path):
    from click.testing import CliRunner

    from dalel.cli import cli
    path = write(tmp_path, 'data_dir = "d"\n[monitor]\npoll_every = "2m"\n[web]\nallowed_hosts = ["a.example"]\n')
    shown = CliRunner().invoke(cli, ["--config", path, "config"]).output
    again = configmod.load(write(tmp_path, shown.split("\n", 1)[1]))
    assert again == configmod.load(path).__class__(**{**configmod.load(path).__dict__, "path": again.path})
