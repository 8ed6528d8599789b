"""Extract the web app's messages and merge them into the catalogues (`make catalogues`).

Reads every `_()`, `ngettext()` and `{% trans %}` of `dalel/templates/` and every `N_()` /
`gettext()` of `dalel/i18n.py` and `dalel/web/`, then updates `dalel/locale/<code>/LC_MESSAGES/
dalel.po` for each interface language: new messages are added untranslated (the tests then fail
until they are translated), messages no longer used are dropped, translations are kept. The
English catalogue is the source text itself.
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dalel.i18n import CATALOGUES, DOMAIN, LOCALES  # noqa: E402

METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("i18n.py", "python"), ("web/**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def template() -> Catalog:
    """Every message the interface shows, with where it is used."""
    found = Catalog(project="Dalel", domain=DOMAIN)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT / "dalel"), METHODS, OPTIONS, strip_comment_tags=True):
        found.add(message, None, [(f"dalel/{filename}", lineno)], auto_comments=comments, context=context)
    return found


def merge(code: str, pot: Catalog) -> Path:
    path = CATALOGUES / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if path.exists():
        with path.open("rb") as f:
            catalog = read_po(f, locale=code, domain=DOMAIN)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=code, domain=DOMAIN, project="Dalel")
    catalog.update(pot, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    if code == "en":   # the source text is English
        for msg in catalog:
            if msg.id:
                msg.string = msg.id if isinstance(msg.id, str) else tuple(msg.id)[:catalog.num_plurals]
    with path.open("wb") as f:
        write_po(f, catalog, width=100, sort_output=True, omit_header=False)
    return path


def main() -> None:
    pot = template()
    for code in LOCALES:
        path = merge(code, pot)
        with path.open("rb") as f:
            catalog = read_po(f, locale=code)
        missing = [m.id for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple)
                                                          else m.string)]
        print(f"{path.relative_to(ROOT)}: {len(pot)} messages, {len(missing)} untranslated")


if __name__ == "__main__":
    main()
