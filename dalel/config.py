"""config.toml, read once into frozen dataclasses and checked on load.

An error names the key, the bad value and the fix. Durations are written "90s", "15m", "24h".
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from store.text import LANGUAGES

from .errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str, key: str = "duration") -> float:
    """"90s" → 90.0; "15m" → 900.0; "24h" → 86400.0."""
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
# The range of each number key (others: 0 … 1,000,000): a typo must not start a billion threads.
RANGES = {"monitor.max_attempts": (1, 1000), "monitor.download_workers": (1, 64),
          "monitor.per_host": (1, 64), "monitor.max_queued_per_source": (1, 100_000), "transcribe.batch_size": (1, 256),
          "transcribe.beam_size": (1, 20), "transcribe.cpu_threads": (0, 1024),
          "transcribe.workers": (1, 64), "search.limit": (1, 10_000), "web.port": (1, 65535),
          "evidence.pad": (0, 3600)}


@dataclass(frozen=True)
class MonitorConfig:
    poll_every: str = "15m"
    recheck_every: str = "24h"
    reconcile_every: str = "24h"          # full yt-dlp listing of YouTube channels
    request_timeout: str = "30s"
    min_request_interval: str = "1s"      # per host, between feed requests
    download_sleep: str = "0s"            # random sleep of this..2x before each download
    retry_base: str = "1m"                # first retry delay of a failed download (doubles)
    max_attempts: int = 8                 # then the video is marked failed
    download_workers: int = 2             # downloads at once (the daemon), across hosts
    per_host: int = 1                     # downloads at once from one host
    max_queued_per_source: int = 50       # archive jobs queued at once per source (a huge feed waits its turn)
    min_free_space: str = "2GB"           # downloads pause while the data disk has less free; "0": never
    lease: str = "10m"                    # a job's lease, extended as it progresses; a dead worker's job is taken over after it
    format: str = ""                      # yt-dlp format; empty: best (merged when ffmpeg exists)
    subtitle_langs: tuple[str, ...] = LANGUAGES
    cookies_file: str = ""
    proxy: str = ""
    js_runtime: str = "deno"              # for YouTube: "deno" (bundled), "node", "bun", "quickjs", ""


@dataclass(frozen=True)
class TranscribeConfig:
    model: str = "base"
    device: str = "auto"
    compute_type: str = "auto"
    languages: tuple[str, ...] = LANGUAGES
    batch_size: int = 8
    beam_size: int = 5
    cpu_threads: int = 0
    window: str = "10m"                   # audio decoded, transcribed and checkpointed per window
    workers: int = 1                      # videos transcribed at once by the daemon (each loads the model)
    models: dict = field(default_factory=dict)   # language → model, e.g. {kk = "/srv/kk-ct2"}


@dataclass(frozen=True)
class SearchConfig:
    limit: int = 20


@dataclass(frozen=True)
class WatchConfig:
    webhook: str = ""                     # POST new alerts here as JSON
    webhook_timeout: str = "10s"


@dataclass(frozen=True)
class LogConfig:
    format: str = "text"                  # "text" for people and journald, "json" for Loki and the like


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    token: str = ""                       # required to listen beyond 127.0.0.1
    allowed_hosts: tuple[str, ...] = ()   # Host names the app answers besides loopback ones


@dataclass(frozen=True)
class EvidenceConfig:
    pad: float = 5.0                      # seconds added before and after each exported hit
    fixity_every: str = "7d"              # the daemon re-hashes the whole archive this often
    actor: str = ""                       # who the custody log names; "" = user@host
    tsa_urls: tuple[str, ...] = ()        # RFC 3161 timestamp authorities (several: redundancy)
    tsa_ca_file: str = ""                 # their CA certificate, to check tokens in `dalel verify`


@dataclass(frozen=True)
class ChannelConfig:
    url: str
    name: str = ""
    every: str = ""
    since: str = ""                       # history: archive videos published on or after this date
    last: int = 0                         # history: archive the N newest at the first check (0: all)


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
    channels: tuple[ChannelConfig, ...] = ()
    path: Path | None = None             # the file it was read from

    @property
    def db_path(self) -> Path:
        return self.data_dir / "dalel.sqlite3"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"


def _section(cls, raw: Any, name: str):
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}] must be a table of keys")
    known = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"unknown key {name}.{key}; known keys: {', '.join(known)}")
        default = known[key].default
        if default is MISSING:
            pass
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{name}.{key} = {value!r} must be a list of strings")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{name}.{key} = {value!r} must be true or false")
        elif isinstance(default, (int, float)):
            if isinstance(value, bool) or not isinstance(value, type(default)) or value != value:
                raise ConfigError(f"{name}.{key} = {value!r} must be a{'n integer' if isinstance(default, int) else ' number'}")
            lo, hi = RANGES.get(f"{name}.{key}", (0, 1_000_000))
            if not lo <= value <= hi:
                raise ConfigError(f"{name}.{key} = {value!r} is out of range: use {lo} to {hi}")
        elif isinstance(default, str):
            if not isinstance(value, str) or "\x00" in value:
                raise ConfigError(f"{name}.{key} = {value!r} must be a string")
        elif not isinstance(value, type(default)):
            raise ConfigError(f"{name}.{key} = {value!r} must be a {type(default).__name__}")
        values[key] = value
    return cls(**values)


def _validate(cfg: Config) -> None:
    m, t = cfg.monitor, cfg.transcribe
    if m.download_workers < 1 or m.per_host < 1:
        raise ConfigError(f"monitor.download_workers = {m.download_workers}, monitor.per_host = "
                          f"{m.per_host}: both must be 1 or more")
    if m.js_runtime not in ("deno", "node", "bun", "quickjs", ""):
        raise ConfigError(f"monitor.js_runtime = {m.js_runtime!r}: use \"deno\", \"node\", \"bun\", "
                          "\"quickjs\" or \"\"")
    for key in ("poll_every", "recheck_every", "reconcile_every", "request_timeout",
                "min_request_interval", "download_sleep", "retry_base", "lease"):
        parse_duration(getattr(m, key), f"monitor.{key}")
    parse_size(m.min_free_space, "monitor.min_free_space")
    parse_duration(cfg.watch.webhook_timeout, "watch.webhook_timeout")
    parse_duration(cfg.evidence.fixity_every, "evidence.fixity_every")
    if cfg.evidence.pad < 0:
        raise ConfigError(f"evidence.pad = {cfg.evidence.pad}: must be 0 or more seconds")
    if cfg.watch.webhook and not cfg.watch.webhook.startswith(("http://", "https://")):
        raise ConfigError(f"watch.webhook = {cfg.watch.webhook!r}: give an http(s) URL or \"\"")
    for ch in cfg.channels:
        if ch.every:
            parse_duration(ch.every, f"channels.every ({ch.url})")
        if ch.since and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", ch.since):
            raise ConfigError(f"channels.since = {ch.since!r} ({ch.url}): write it as YYYY-MM-DD")
    bad = [lang for lang in t.languages if lang not in LANGUAGES]
    if bad or not t.languages:
        raise ConfigError(f"transcribe.languages = {list(t.languages)!r}: use some of {_codes()}")
    if cfg.log.format not in ("text", "json"):
        raise ConfigError(f"log.format = {cfg.log.format!r}: use \"text\" or \"json\"")
    if t.device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"transcribe.device = {t.device!r}: use \"auto\", \"cpu\" or \"cuda\"")
    if parse_duration(t.window, "transcribe.window") < 60:
        raise ConfigError(f"transcribe.window = {t.window!r}: use at least \"1m\"")
    if not isinstance(t.models, dict) or any(
            k not in LANGUAGES or not isinstance(v, str) or not v for k, v in t.models.items()):
        raise ConfigError(f"[transcribe.models] = {t.models!r}: map some of {_codes()} to a model "
                          "name or a CTranslate2 folder, e.g. kk = \"/srv/models/kazakh\"")
    if t.workers < 1:
        raise ConfigError(f"transcribe.workers = {t.workers}: must be 1 or more")
    if t.batch_size < 1:
        raise ConfigError(f"transcribe.batch_size = {t.batch_size}: must be 1 or more")


def _codes() -> str:
    return ", ".join(f'"{code}"' for code in LANGUAGES)


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
    unknown = set(raw) - {"data_dir", "monitor", "transcribe", "search", "watch", "evidence",
                          "web", "log", "channels"}
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
        evidence=_section(EvidenceConfig, _floats(raw.get("evidence", {}), "pad"), "evidence"),
        web=_section(WebConfig, raw.get("web", {}), "web"),
        log=_section(LogConfig, raw.get("log", {}), "log"),
        channels=tuple(_channel(c) for c in channels),
        path=path,
    )
    _validate(cfg)
    return cfg


def _floats(raw: Any, *keys: str) -> Any:
    """TOML writes 5 and 5.0 differently; a float key accepts both."""
    if isinstance(raw, dict):
        return {k: float(v) if k in keys and isinstance(v, int) and not isinstance(v, bool) else v
                for k, v in raw.items()}
    return raw


def _channel(raw: Any) -> ChannelConfig:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        raise ConfigError("each [[channels]] entry needs url = \"...\"")
    return _section(ChannelConfig, raw, "channels")
