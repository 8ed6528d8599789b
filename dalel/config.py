"""config.toml, read once into frozen dataclasses and checked on load.

Every key is defined once, in `keys.py` (type, default, range, help); here each value is
checked strictly (a bool is not an integer) and converted once: durations to seconds,
sizes to bytes. An error names the key, the bad value and the fix.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from store.text import LANGUAGES

from .errors import ConfigError
from .keys import SECTIONS, Key, by_section

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str | float, key: str = "duration") -> float:
    """"90s" → 90.0; "15m" → 900.0; "24h" → 86400.0 (a number is seconds already)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= MAX_DURATION_S:
        return float(value)
    m = _DURATION.match(str(value)) if len(str(value)) <= 32 else None
    if not m:
        raise ConfigError(f"{key} = {str(value)[:40]!r} is not a duration; write it like \"90s\", \"15m\" or \"24h\"")
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds > MAX_DURATION_S:
        raise ConfigError(f"{key} = {value!r} is longer than a year; write a shorter duration")
    return seconds


MAX_DURATION_S = 366 * 86400.0
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?\s*$", re.I)
_BYTES = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}


def parse_size(value: str, key: str = "size") -> int:
    """"2GB" → 2000000000; "0" → 0."""
    m = _SIZE.match(str(value)) if len(str(value)) <= 32 else None
    if not m:
        raise ConfigError(f"{key} = {str(value)[:40]!r} is not a size; write it like \"500MB\" or \"2GB\"")
    return int(float(m.group(1)) * _BYTES[(m.group(2) or "b").lower()])
def _parse(key: Key, value: Any) -> Any:
    """A value of `key` as read from TOML, checked strictly and converted once."""
    where = key.dotted
    if key.kind in ("duration", "size", "str", "url", "date") and (not isinstance(value, str) or "\x00" in value):
        raise ConfigError(f"{where} = {value!r} must be a string")
    if key.kind == "duration":
        if value == "" and key.default == "":
            return None
        seconds = parse_duration(value, where)
        lo, hi = key.range or (0, MAX_DURATION_S)
        if not lo <= seconds <= hi:
            raise ConfigError(f"{where} = {value!r}: use at least {lo:g} s and at most {hi:g} s")
        return seconds
    if key.kind == "size":
        return parse_size(value, where)
    if key.kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where} = {value!r} must be true or false")
        return value
    if key.kind in ("int", "float"):
        return _number(key, value)
    if key.kind == "strs":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} = {value!r} must be a list of strings")
        if key.choices is not None and (not value or any(v not in key.choices for v in value)):
            raise ConfigError(f"{where} = {value!r}: use some of {_quoted(key.choices)}")
        return tuple(value)
    if key.kind == "models":
        if not isinstance(value, dict) or any(k not in LANGUAGES or not isinstance(v, str) or not v
                                              for k, v in value.items()):
            raise ConfigError(f"[{where}] = {value!r}: map some of {_quoted(LANGUAGES)} to a model "
                              "name or a CTranslate2 folder, e.g. kk = \"/srv/models/kazakh\"")
        return dict(value)
    if key.kind == "url" and value and not value.startswith(("http://", "https://")):
        raise ConfigError(f"{where} = {value!r}: give an http(s) URL or \"\"")
    if key.kind == "date" and value and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ConfigError(f"{where} = {value!r}: write it as YYYY-MM-DD")
    if key.choices is not None and value not in key.choices:
        raise ConfigError(f"{where} = {value!r}: use {_quoted(key.choices)}")
    return value


def _number(key: Key, value: Any) -> int | float:
    integer = key.kind == "int"
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or value != value:
        raise ConfigError(f"{key.dotted} = {value!r} must be {'an integer' if integer else 'a number'}")
    lo, hi = key.range or (0, 1_000_000)
    if not lo <= value <= hi:
        raise ConfigError(f"{key.dotted} = {value!r} is out of range: use {lo:g} to {hi:g}")
    return value if integer else float(value)


def _quoted(values) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _default(section: str, name: str) -> Any:
    return _parse(by_section(section)[name], by_section(section)[name].default)


def _d(section: str, name: str) -> Any:
    """A dataclass field whose default is the table's (parsed)."""
    value = _default(section, name)
    return field(default_factory=lambda: dict(value)) if isinstance(value, dict) else field(default=value)


@dataclass(frozen=True)
class MonitorConfig:
    poll_every: float = _d("monitor", "poll_every")
    recheck_every: float = _d("monitor", "recheck_every")
    reconcile_every: float = _d("monitor", "reconcile_every")
    request_timeout: float = _d("monitor", "request_timeout")
    min_request_interval: float = _d("monitor", "min_request_interval")
    download_sleep: float = _d("monitor", "download_sleep")
    retry_base: float = _d("monitor", "retry_base")
    max_attempts: int = _d("monitor", "max_attempts")
    download_workers: int = _d("monitor", "download_workers")
    per_host: int = _d("monitor", "per_host")
    max_queued_per_source: int = _d("monitor", "max_queued_per_source")
    min_free_space: int = _d("monitor", "min_free_space")
    lease: float = _d("monitor", "lease")
    live: str = _d("monitor", "live")
    live_final: bool = _d("monitor", "live_final")
    format: str = _d("monitor", "format")
    subtitle_langs: tuple[str, ...] = _d("monitor", "subtitle_langs")
    cookies_file: str = _d("monitor", "cookies_file")
    proxy: str = _d("monitor", "proxy")
    allow_private_redirects: bool = _d("monitor", "allow_private_redirects")
    js_runtime: str = _d("monitor", "js_runtime")


@dataclass(frozen=True)
class TranscribeConfig:
    model: str = _d("transcribe", "model")
    device: str = _d("transcribe", "device")
    compute_type: str = _d("transcribe", "compute_type")
    languages: tuple[str, ...] = _d("transcribe", "languages")
    batch_size: int = _d("transcribe", "batch_size")
    beam_size: int = _d("transcribe", "beam_size")
    cpu_threads: int = _d("transcribe", "cpu_threads")
    workers: int = _d("transcribe", "workers")
    window: float = _d("transcribe", "window")
    models: dict[str, str] = _d("transcribe", "models")


@dataclass(frozen=True)
class SearchConfig:
    limit: int = _d("search", "limit")


@dataclass(frozen=True)
class WatchConfig:
    webhook: str = _d("watch", "webhook")
    notify: tuple[str, ...] = _d("watch", "notify")
    webhook_timeout: float = _d("watch", "webhook_timeout")


@dataclass(frozen=True)
class LogConfig:
    format: str = _d("log", "format")


@dataclass(frozen=True)
class ClusterConfig:
    database_url: str = _d("cluster", "database_url")
    archive_url: str = _d("cluster", "archive_url")
    s3_endpoint_url: str = _d("cluster", "s3_endpoint_url")
    retention_days: int = _d("cluster", "retention_days")
    legal_hold: bool = _d("cluster", "legal_hold")
    anchor_every: float = _d("cluster", "anchor_every")


@dataclass(frozen=True)
class WebConfig:
    host: str = _d("web", "host")
    port: int = _d("web", "port")
    token: str = _d("web", "token")
    allowed_hosts: tuple[str, ...] = _d("web", "allowed_hosts")


@dataclass(frozen=True)
class EvidenceConfig:
    pad: float = _d("evidence", "pad")
    fixity_every: float = _d("evidence", "fixity_every")
    actor: str = _d("evidence", "actor")
    tsa_urls: tuple[str, ...] = _d("evidence", "tsa_urls")
    tsa_ca_file: str = _d("evidence", "tsa_ca_file")


@dataclass(frozen=True)
class ChannelConfig:
    url: str
    name: str = _d("channels", "name")
    every: float | None = _d("channels", "every")
    since: str = _d("channels", "since")
    last: int = _d("channels", "last")


@dataclass(frozen=True)
class Config:
    data_dir: Path
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    transcribe: TranscribeConfig = field(default_factory=TranscribeConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)
    web: WebConfig = field(default_factory=WebConfig)
    log: LogConfig = field(default_factory=LogConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    channels: tuple[ChannelConfig, ...] = ()
    path: Path | None = None             # the file it was read from

    @property
    def db_path(self) -> Path:
        return self.data_dir / "dalel.sqlite3"

    @property
    def store_target(self) -> str | Path:
        """Where the state lives: the cluster's PostgreSQL ([cluster] database_url), else this
        machine's SQLite file."""
        return self.cluster.database_url or self.db_path

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"


SECTION_CLASSES = {"monitor": MonitorConfig, "transcribe": TranscribeConfig, "search": SearchConfig,
                   "watch": WatchConfig, "evidence": EvidenceConfig, "web": WebConfig, "log": LogConfig,
                   "cluster": ClusterConfig,
                   "channels": ChannelConfig}


def _section(cls, raw: Any, name: str):
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}] must be a table of keys")
    known = by_section(name)
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"unknown key {name}.{key}; known keys: {', '.join(known)}")
        values[key] = _parse(known[key], value)
    return cls(**values)


def find_config(explicit: str | None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file {explicit} not found; check --config or DALEL_CONFIG")
        return path
    if os.environ.get("DALEL_CONFIG"):
        return find_config(os.environ["DALEL_CONFIG"])
    return Path("config.toml") if Path("config.toml").is_file() else None


def load(explicit: str | None = None, data_dir: str | None = None) -> Config:
    """Read the config: --config, $DALEL_CONFIG or ./config.toml; else the built-in defaults."""
    path = find_config(explicit)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
        except RecursionError as exc:
            raise ConfigError(f"{path} nests tables or arrays too deeply to be a Dalel config") from exc
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    unknown = set(raw) - {"data_dir", "channels", *SECTIONS}
    if unknown:
        raise ConfigError(f"unknown key {sorted(unknown)[0]!r} in {path}; known: data_dir, [monitor], "
                          "[transcribe], [search], [watch], [evidence], [web], [log], [[channels]]")
    chosen = data_dir or os.environ.get("DALEL_DATA_DIR") or raw.get("data_dir")
    if not chosen:
        if path is not None:
            raise ConfigError(f"missing config key data_dir in {path}; set data_dir = \"...\" "
                              "or pass --data-dir")
        chosen = "dalel-data"
    base = path.parent if (path is not None and not data_dir and chosen == raw.get("data_dir")) else Path.cwd()
    channels = raw.get("channels", [])
    if not isinstance(channels, list):
        raise ConfigError("channels must be an array of tables: [[channels]] url = \"...\"")
    if not isinstance(chosen, str) or "\x00" in chosen:
        raise ConfigError(f"data_dir = {chosen!r} must be a folder path")
    try:
        folder = (base / Path(chosen).expanduser()).resolve()
    except (RuntimeError, ValueError, OSError) as exc:   # ~nouser, a loop of links
        raise ConfigError(f"data_dir = {chosen!r} cannot be resolved: {exc}") from exc
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"data_dir {folder} is a file, not a folder; choose another data_dir")
    cfg = Config(
        data_dir=folder,
        monitor=_section(MonitorConfig, raw.get("monitor", {}), "monitor"),
        transcribe=_section(TranscribeConfig, raw.get("transcribe", {}), "transcribe"),
        search=_section(SearchConfig, raw.get("search", {}), "search"),
        watch=_section(WatchConfig, raw.get("watch", {}), "watch"),
        evidence=_section(EvidenceConfig, raw.get("evidence", {}), "evidence"),
        web=_section(WebConfig, raw.get("web", {}), "web"),
        log=_section(LogConfig, raw.get("log", {}), "log"),
        cluster=_cluster(_section(ClusterConfig, raw.get("cluster", {}), "cluster")),
        channels=tuple(_channel(c) for c in channels),
        path=path,
    )
    return cfg


def _channel(raw: Any) -> ChannelConfig:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        raise ConfigError("each [[channels]] entry needs url = \"...\"")
    return _section(ChannelConfig, raw, "channels")


def _cluster(c: ClusterConfig) -> ClusterConfig:
    if c.database_url and not c.database_url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"cluster.database_url = {c.database_url[:40]!r}: write it as \"postgresql://…\"")
    if c.archive_url and not re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^\x00]*)?", c.archive_url):
        raise ConfigError(f"cluster.archive_url = {c.archive_url!r}: write it as \"s3://bucket/prefix\"")
    return c
