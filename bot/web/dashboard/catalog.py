"""The desk's own gettext domain (`desk`), separate from the bot's SMS texts (`messages`).

Texts are written in Indonesian in the templates and views (`_("Ringkasan")`); English is
the translation in `locales/en/LC_MESSAGES/desk.po`. Words that come from data (roles,
statuses) are English keys translated in both catalogs. After changing texts:

    .venv/bin/python -m bot.web.dashboard.catalog

rewrites `locales/desk.pot` and adds new ids to both `.po` files (empty, to be written);
`tests/desk/test_catalog.py` fails while a text has no English.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[3]
LOCALES = ROOT / "locales"
KEYWORDS = {"_": None, "gettext": None, "N_": None, "translate": None}
SOURCES = (
    (ROOT / "bot" / "web" / "dashboard" / "templates", [("**.html", "jinja2.ext:babel_extract")]),
    (ROOT / "bot" / "web" / "dashboard", [("*.py", "python")]),
    (ROOT / "bot" / "web", [("simulator.py", "python")]),
)


def extract() -> Catalog:
    """Every desk text, from the templates and the views."""
    catalog = Catalog(domain="desk")
    for folder, method_map in SOURCES:
        for filename, line, message, comments, _context in extract_from_dir(
                folder, method_map=method_map, keywords=KEYWORDS):
            catalog.add(message, locations=[(filename, line)], auto_comments=comments)
    return catalog


def po_path(locale: str) -> Path:
    return LOCALES / locale / "LC_MESSAGES" / "desk.po"


def main() -> None:
    """Write the template and bring both catalogs up to date."""
    template = extract()
    with (LOCALES / "desk.pot").open("wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True, include_lineno=False)
    for locale in ("id", "en"):
        path = po_path(locale)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale, domain="desk")
        else:
            catalog = Catalog(locale=locale, domain="desk")
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, omit_header=True, sort_output=True, include_lineno=False,
                     ignore_obsolete=True)


if __name__ == "__main__":
    main()
