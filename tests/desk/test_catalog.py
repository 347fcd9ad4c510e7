"""The desk's catalog (`desk` domain) is complete in English and kept apart from the SMS texts."""

from __future__ import annotations

import string

from babel.messages.pofile import read_po

from bot.web.dashboard.catalog import LOCALES, extract, po_path
from bot.web.dashboard.common import DATA_WORDS


def _catalog(locale: str) -> dict[str, str]:
    with po_path(locale).open("rb") as handle:
        return {m.id: m.string for m in read_po(handle, domain="desk") if m.id}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_desk_text_has_english_with_the_same_placeholders():
    english = _catalog("en")
    ids = {m.id for m in extract() if m.id}
    missing = sorted(i for i in ids if not english.get(i))
    assert not missing, "run .venv/bin/python -m bot.web.dashboard.catalog and translate: " + repr(missing)
    wrong = [i for i in ids if _fields(i) != _fields(english[i])]
    assert not wrong


def test_words_from_data_are_indonesian_on_indonesian_pages():
    indonesian = _catalog("id")
    assert all(indonesian.get(word) for word in DATA_WORDS)


def test_the_template_is_up_to_date():
    with (LOCALES / "desk.pot").open("rb") as handle:
        written = {m.id for m in read_po(handle) if m.id}
    assert written == {m.id for m in extract() if m.id}
