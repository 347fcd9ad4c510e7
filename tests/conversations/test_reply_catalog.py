"""Every SMS-bound text, rendered with realistic values in every language, fits one GSM-7 SMS."""

from __future__ import annotations

import string

import pytest
from babel.messages.pofile import read_po

from conversations.i18n import SUPPORTED_LOCALES, catalog_path
from conversations.replies import BRAND_PREFIX, REPLIES, SMS_LIMIT, render


def gsm_septets(text: str) -> int:
    """Septets `text` takes in GSM-7; raises UnicodeEncodeError if it needs UCS-2."""
    import gsm0338  # noqa: F401  (registers the codec)

    return len(text.encode("gsm03.38"))


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def catalog(locale: str):
    with catalog_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
@pytest.mark.parametrize("reply_id", sorted(r for r, spec in REPLIES.items() if spec.sms))
def test_sms_reply_is_gsm7_and_one_segment(reply_id, locale):
    text = render(reply_id, locale, **REPLIES[reply_id].example)
    septets = gsm_septets(BRAND_PREFIX + text)
    assert septets <= SMS_LIMIT, f"{reply_id} [{locale}] is {septets} septets with the brand: {text}"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_is_complete_and_has_no_orphans(locale):
    entries = {m.id: m.string for m in catalog(locale) if m.id}
    missing = sorted(set(REPLIES) - {k for k, v in entries.items() if v})
    orphans = sorted(set(entries) - set(REPLIES))
    assert not missing, f"{locale} lacks texts for {missing}"
    assert not orphans, f"{locale} has texts for unknown ids {orphans}"


@pytest.mark.parametrize("reply_id", sorted(REPLIES))
def test_translations_take_the_same_values(reply_id):
    texts = {loc: {m.id: m.string for m in catalog(loc)}[reply_id] for loc in SUPPORTED_LOCALES}
    names = {loc: placeholders(text) for loc, text in texts.items()}
    assert len({frozenset(n) for n in names.values()}) == 1, names
    assert placeholders(texts["id"]) <= set(REPLIES[reply_id].example), (
        f"{reply_id}: example values must cover every placeholder")


def test_gsm_check_catches_unicode_and_escapes():
    with pytest.raises(UnicodeEncodeError):
        gsm_septets("Harga \u201ccabai\u201d")
    assert gsm_septets("[x]") == 5  # brackets cost two septets each


def test_typed_values_are_made_gsm_safe():
    from conversations.replies import gsm_safe

    assert gsm_safe("Siti \u201cAminah\u201d \U0001F600") == 'Siti "Aminah"'
    assert gsm_safe("Désa Ćilacap\u200b\x07") == "Désa Cilacap"  # é is GSM, Ć is not


def test_long_values_are_shortened_to_fit_one_sms():
    text = render("register.done", "id", name="A" * 60, village="Desa " * 12)
    assert gsm_septets(BRAND_PREFIX + text) <= SMS_LIMIT
    assert "..." in text and text.startswith("Terima kasih, ")


def test_amounts_and_holder_names_are_never_shortened():
    holder = "Ni Made Ayu Kusuma Dewi Pratiwi Sulistyaningsih"  # as the bank has it
    example = dict(REPLIES["payout.new_request"].example, holder=holder, amount="Rp12.345.678")
    text = render("payout.new_request", "id", **example)
    assert holder in text and "Rp12.345.678" in text
    shortened = render("register.done", "id", name="A" * 60, village="B" * 60)
    assert "..." in shortened  # names people typed may be shortened


def test_indonesian_texts_address_people_as_bapak_ibu():
    """Elders are addressed as Bapak/Ibu, never with the distant "Anda" (DECISIONS 160)."""
    import re

    with_anda = sorted(m.id for m in catalog("id")
                       if m.id and re.search(r"\banda\b", m.string, re.IGNORECASE))
    assert not with_anda, f"these id texts still say Anda: {with_anda}"


@pytest.mark.parametrize("locale, forbidden, marker", [
    ("id", r"\bmis\.|\bmisalnya\b|\bcth\b|\bcontohnya:", "Contoh: "),
    ("en", r"\be\.g\.|\bfor example\b|\bsuch as\b", "Example: "),
])
def test_examples_have_one_style(locale, forbidden, marker):
    """An example is its own sentence after the instruction: "Contoh: JUAL cabai 50kg 12rb" /
    "Example: SELL chili 50kg 12000", never "mis."/"misalnya"/"e.g." (DECISIONS 215)."""
    import re

    other = sorted(m.id for m in catalog(locale)
                   if m.id and re.search(forbidden, m.string, re.IGNORECASE))
    assert not other, f"these {locale} texts give examples another way: {other}"
    for m in catalog(locale):
        for at in (n.start() for n in re.finditer(re.escape(marker), m.string or "")):
            assert at == 0 or m.string[at - 2:at] in (". ", "? ", ": "), (m.id, m.string)
