"""Every configuration key, once: its section, type, default (as config.toml writes it),
range or choices, and help. `config.py` reads and checks a config with it; the shipped
`config.toml`, the README's table and `dalel config --help` are generated from it
(`dalel config --defaults`, `dalel config --markdown`; tests/test_config.py checks both
copies)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store.text import LANGUAGES

__all__ = ["KEYS", "SECTIONS", "Key", "by_section", "markdown", "toml_defaults", "toml_value"]


@dataclass(frozen=True)
class Key:
    section: str          # "" for the top level, "channels" for each [[channels]] entry
    name: str
    kind: str             # duration | size | int | float | bool | str | strs | url | date | models
    default: Any          # as config.toml writes it ("15m", 8, ["kk", "ru"])
    help: str
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.name}" if self.section else self.name


_LANGS = tuple(LANGUAGES)
K = Key
KEYS: tuple[Key, ...] = (
    K("", "data_dir", "str", "dalel-data", "archive folder, relative to the config file (required in a config file)"),
    K("monitor", "poll_every", "duration", "15m", "how often each source is checked (a channel's --every overrides)"),
    K("monitor", "recheck_every", "duration", "24h", "how often archived videos are checked for takedowns"),
    K("monitor", "reconcile_every", "duration", "24h",
      "how often YouTube channels get a full yt-dlp listing (their feeds show only the newest 15)"),
    K("monitor", "request_timeout", "duration", "30s", "HTTP and yt-dlp socket timeout"),
    K("monitor", "min_request_interval", "duration", "1s", "minimum time between two feed requests to one host"),
    K("monitor", "download_sleep", "duration", "0s",
      "random sleep of this to twice this before each download (e.g. \"5s\" for YouTube)"),
    K("monitor", "retry_base", "duration", "1m",
      "first retry delay of a failed download; doubles each attempt (with jitter, at most 6 h)"),
    K("monitor", "max_attempts", "int", 8, "attempts before a video is marked failed", (1, 1000)),
    K("monitor", "download_workers", "int", 2, "downloads the daemon runs at once, across hosts", (1, 64)),
    K("monitor", "per_host", "int", 1, "downloads at once from one host (platforms throttle and block)", (1, 64)),
    K("monitor", "max_queued_per_source", "int", 50,
      "archive jobs queued at once per source: a 10,000-entry feed waits its turn (claimed round robin)",
      (1, 100_000)),
    K("monitor", "min_free_space", "size", "2GB",
      "downloads pause (and say so in `dalel status`) while the data disk has less free; \"0\" never pauses"),
    K("monitor", "lease", "duration", "10m",
      "a job's lease, extended as its work progresses; a killed worker's job is taken over after it"),
    K("monitor", "live", "str", "record",
      "a stream found live: \"record\" it while live (the daemon; from its start where the platform keeps "
      "it), or \"after\" it has ended", choices=("record", "after")),
    K("monitor", "live_final", "bool", False,
      "once a stream recorded while live has ended, replace its capture by the platform's final version "
      "when that is longer (the recording stays archived; both are in the custody log)"),
    K("monitor", "format", "str", "", "yt-dlp format; \"\" = best single file, or best video+audio when ffmpeg exists"),
    K("monitor", "subtitle_langs", "strs", list(_LANGS), "platform subtitles and auto-captions kept beside the video",
      choices=_LANGS),
    K("monitor", "cookies_file", "str", "", "Netscape cookies file for platforms that ask to sign in"),
    K("monitor", "proxy", "str", "", "proxy URL for feeds and yt-dlp, e.g. \"socks5://127.0.0.1:9050\""),
    K("monitor", "allow_private_redirects", "bool", False,
      "follow a public source's redirects into private, loopback or link-local addresses (refused by default)"),
    K("monitor", "js_runtime", "str", "deno",
      "JavaScript runtime yt-dlp needs for YouTube: \"deno\" (installed with Dalel), \"node\", \"bun\", "
      "\"quickjs\", \"\" = none", choices=("deno", "node", "bun", "quickjs", "")),
    K("transcribe", "model", "str", "base",
      "\"base\" = the bundled multilingual Whisper base (pinned SHA-256); or a faster-whisper name "
      "(\"large-v3\") or a CTranslate2 folder"),
    K("transcribe", "device", "str", "auto", "auto (CUDA when present) | cpu | cuda", choices=("auto", "cpu", "cuda")),
    K("transcribe", "compute_type", "str", "auto", "auto = float16 on CUDA, int8 on CPU"),
    K("transcribe", "languages", "strs", list(_LANGS), "language detection chooses among these only", choices=_LANGS),
    K("transcribe", "batch_size", "int", 8, "batched inference width", (1, 256)),
    K("transcribe", "beam_size", "int", 5, "beam search width", (1, 20)),
    K("transcribe", "cpu_threads", "int", 0,
      "0 = all cores; on CPU one single-threaded worker per core, each batch's chunks split among them",
      (0, 1024)),
    K("transcribe", "workers", "int", 1,
      "videos the daemon transcribes at once (each loads the model): 2+ on a GPU or many cores", (1, 64)),
    K("transcribe", "window", "duration", "10m",
      "audio decoded, transcribed and checkpointed per window (memory stays flat; at least \"1m\")", (60, 86400)),
    K("transcribe", "models", "models", {},
      "per-language models, as a [transcribe.models] table: kk = \"/srv/models/kazakh-ct2\"; the model above "
      "identifies each chunk's language, the language's model decodes it"),
    K("search", "limit", "int", 20, "hits per page", (1, 10_000)),
    K("watch", "webhook", "url", "", "POST new alerts of saved searches here as JSON; \"\" = none"),
    K("watch", "notify", "strs", [],
      "Apprise URLs new alerts are sent to: \"tgram://BOT/CHAT\", \"mailto://user:pass@host\", "
      "\"matrix://…\", \"json://host/path\" …"),
    K("watch", "webhook_timeout", "duration", "10s",
      "timeout of that POST (a failed POST leaves the alert undelivered, listed in `dalel watch alerts`)"),
    K("evidence", "pad", "float", 5.0, "seconds added before and after each hit in `dalel export`", (0, 3600)),
    K("evidence", "fixity_every", "duration", "7d", "the daemon re-hashes every archived file this often"),
    K("evidence", "actor", "str", "", "who the custody log names; \"\" = user@host"),
    K("evidence", "tsa_urls", "strs", [],
      "RFC 3161 timestamp authorities for capture and package manifests (several: redundancy)"),
    K("evidence", "tsa_ca_file", "str", "", "their CA certificate (PEM), so `dalel verify` checks the timestamps"),
    K("web", "host", "str", "127.0.0.1", "`dalel serve` refuses any other address unless token is set"),
    K("web", "port", "int", 8080, "where `dalel serve` listens", (1, 65535)),
    K("web", "token", "str", "", "required by every page and API call when set; needed to listen beyond 127.0.0.1"),
    K("web", "allowed_hosts", "strs", [],
      "Host names answered besides 127.0.0.1, localhost, [::1] and [web] host (DNS rebinding)"),
    K("log", "format", "str", "text",
      "\"json\": one JSON object a line (time, level, logger, message, exception) for journald or Loki",
      choices=("text", "json")),
    K("cluster", "database_url", "str", "",
      "keep the state (sources, videos, transcripts, search index, custody, queue) in PostgreSQL for many "
      "machines (\"postgresql://…\"); run `dalel migrate` first. \"\" = a SQLite file in the data folder"),
    K("cluster", "archive_url", "str", "",
      "keep the archive in S3 object storage with Object Lock (\"s3://bucket/prefix\"); \"\" = the local data folder. "
      "Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
    K("cluster", "s3_endpoint_url", "url", "", "the S3 server (\"http://…\" for SeaweedFS, Ceph RGW …); \"\" = AWS"),
    K("cluster", "retention_days", "int", 3650,
      "each archived object is locked in COMPLIANCE mode this long: nobody can delete or overwrite it", (1, 36500)),
    K("cluster", "legal_hold", "bool", False, "also place a legal hold on each archived object"),
    K("cluster", "anchor_every", "duration", "1h",
      "the scheduler writes every custody chain's head into an Object-Locked object this often (and has it "
      "timestamped by [evidence] tsa_urls), so a rewritten database is caught by `dalel verify --archive`"),
    K("channels", "url", "str", None, "a channel to watch (as `dalel channel add URL`), in a [[channels]] entry"),
    K("channels", "name", "str", "", "a name to show instead of the source's own title"),
    K("channels", "every", "duration", "", "poll interval for this channel; \"\" = [monitor] poll_every"),
    K("channels", "since", "date", "", "history: archive videos published on or after YYYY-MM-DD"),
    K("channels", "last", "int", 0, "history: archive the N newest at the first check (0: all)", (0, 100_000)),
)
SECTIONS = ("monitor", "transcribe", "search", "watch", "evidence", "web", "log", "cluster")


def by_section(section: str) -> dict[str, Key]:
    return {k.name: k for k in KEYS if k.section == section}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def _line(key: Key, value: Any) -> str:
    return f"{key.name} = {toml_value(value)}".ljust(27) + f" # {key.help}"


def toml_defaults() -> str:
    """The shipped config.toml: every key at its default, with its help."""
    out = ["# Dalel configuration. Every key is optional except data_dir; the values below are the defaults.",
           '# Durations are written "90s", "15m", "24h"; sizes "500MB", "2GB".',
           "# Generated by `dalel config --defaults` from dalel/keys.py.", ""]
    top = by_section("")["data_dir"]
    out += [f"# {top.help}", f"data_dir = {toml_value(top.default)}"]
    for section in SECTIONS:
        out += ["", f"[{section}]"]
        for key in by_section(section).values():
            if key.kind == "models":
                out += [f"# {key.help}, e.g.:", "# [transcribe.models]", '# kk = "/srv/models/whisper-kazakh-ct2"',
                        '# ru = "large-v3"']
            else:
                out.append(_line(key, key.default))
    out += ["", "# Channels to watch (also added with `dalel channel add URL`), one [[channels]] entry each:",
            "# [[channels]]"]
    out += [f"# {k.name} = {toml_value(k.default if k.default is not None else 'https://www.youtube.com/@NeDeidi')}"
            .ljust(29) + f" # {k.help}" for k in by_section("channels").values()]
    return "\n".join(out) + "\n"


def markdown() -> str:
    """The README's table of keys."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key in KEYS:
        where = f"[[channels]] {key.name}" if key.section == "channels" else \
            f"[{key.section}] {key.name}" if key.section else key.name
        default = "none" if key.default in (None, {}) else f"`{toml_value(key.default)}`"
        rows.append(f"| `{where}` | {default} | {key.help} |")
    return "\n".join(rows) + "\n"
