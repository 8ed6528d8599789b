"""The web app's languages: Russian, Kazakh and English.

Messages live in gettext catalogues, `dalel/locale/<code>/LC_MESSAGES/dalel.po` (the source of
truth, kept in git; `make catalogues` extracts new messages from the templates and the web
code and merges them in). A catalogue is compiled in memory when first used. The language of a
request is the `dalel_lang` cookie the switcher sets, else the best match of the browser's
`Accept-Language`, else English. Dates are written in the chosen language by Babel's CLDR data.
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

__all__ = ["COOKIE", "DEFAULT", "LOCALES", "N_", "choose", "day", "moment", "period", "translations", "VOCABULARY"]

LOCALES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}
DEFAULT = "en"
COOKIE = "dalel_lang"
CATALOGUES = Path(__file__).parent / "locale"
DOMAIN = "dalel"


def N_(message: str) -> str:
    """Marks a message in Python code for the catalogues; it is translated where it is shown."""
    return message


@lru_cache(maxsize=None)
def translations(code: str) -> Translations:
    """The compiled catalogue of a language (fuzzy entries left out, as gettext does)."""
    with (CATALOGUES / code / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as f:
        catalog = read_po(f, locale=code, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The switcher's choice, else the browser's most wanted language we have, else English."""
    if cookie in LOCALES:
        return cookie
    wanted: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip():   # a weight that is not a number in 0…1 leaves the entry out
            m = re.fullmatch(r"\s*q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*", params)
            if m is None:
                continue
            q = float(m.group(1))
        code = tag.strip().lower().split("-")[0]
        if code in LOCALES and q > 0:
            wanted.append((-q, i, code))
    return min(wanted)[2] if wanted else DEFAULT


def _parse(value) -> dt.datetime | dt.date | None:
    if isinstance(value, (dt.date, dt.datetime)):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def day(value, code: str) -> str:
    """A broadcast date ("2024-03-12…") as the language writes it: «12 мар. 2024 г.»."""
    parsed = _parse(value)
    if parsed is None:
        return str(value or "")
    return format_date(parsed.date() if isinstance(parsed, dt.datetime) else parsed, "medium", locale=code)


def moment(value, code: str) -> str:
    """A recorded instant (UTC) as the language writes it, with the seconds and «UTC»."""
    parsed = _parse(value)
    if not isinstance(parsed, dt.datetime):
        return day(value, code)
    return format_datetime(parsed, "medium", tzinfo=dt.timezone.utc, locale=code) + " UTC"


def period(value: str, code: str) -> str:
    """A histogram period: a month «мар. 2024», a week by its Monday «4 мар. 2024 г.»."""
    if re.fullmatch(r"\d{4}-\d{2}", value):
        return format_date(dt.date(int(value[:4]), int(value[5:]), 1), "LLL y", locale=code)
    if m := re.fullmatch(r"(\d{4})-W(\d{2})", value):
        return format_date(dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1), "medium", locale=code)
    return value


# Words of the data shown as labels (video states, job queues, roles, languages, transcript
# sources, file roles, custody events, audited actions, facets): marked here so the catalogues
# carry them; the pages translate them.
VOCABULARY = (
    N_("discovered"), N_("skipped"), N_("archived"), N_("transcribed"), N_("failed"), N_("removed"),
    N_("archive_queued"), N_("archive_running"), N_("transcribe_queued"), N_("transcribe_running"),
    N_("timestamp_queued"), N_("timestamp_running"), N_("final_queued"), N_("final_running"),
    N_("youtube"), N_("feed"), N_("ytdlp"),
    N_("admin"), N_("analyst"), N_("Russian"), N_("Kazakh"),
    N_("asr"), N_("subtitles"), N_("metadata"), N_("import"),
    N_("media"), N_("info"), N_("thumbnail"), N_("description"), N_("chat"), N_("manifest"), N_("timestamp"),
    N_("capture"), N_("transcription"), N_("export"), N_("verification"), N_("fixity"), N_("moved"), N_("final"),
    N_("channel add"), N_("channel pause"), N_("channel resume"), N_("channel remove"), N_("clip"), N_("login"),
    N_("login failed"), N_("retry"), N_("search"), N_("user add"), N_("user passwd"), N_("user remove"),
    N_("user token"),
    N_("Channel"), N_("Language"), N_("Source"), N_("Year"), N_("Month"), N_("undated"), N_("unknown"),
)
