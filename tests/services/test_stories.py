"""What a public story may carry (DECISIONS 231–233): phone numbers, links and e-mail
addresses are taken out however they are written; prices, years, codes and quantities stay."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services.stories import clean_story
from conversations.flows.stories import fills_segments


@pytest.mark.parametrize("text, published, removed", [
    ("Hubungi WA 0812-3456-7890 ya", "Hubungi WA ya", ("phone",)),
    ("+62 812 3456 7890 pesan", "pesan", ("phone",)),
    ("telp (0231) 555-1234.", "telp.", ("phone",)),
    ("6281234567890", "", ("phone",)),
    ("0 8 1 2 3 4 5 6 7 8 9", "", ("phone",)),
    ("WA 812-3456-789", "WA", ("phone",)),
    ("lihat https://x.example/a?b=1 atau www.toko.id", "lihat atau", ("link",)),
    ("toko kami tokositi.com, wa.me/6281234567890, s.id/cabai", "toko kami", ("link",)),
    ("mail siti@desa.co.id", "mail", ("email",)),
    # Ways sellers really space a number out (a review found each of these published).
    ("WA 0812 - 3456 - 7890 ya", "WA ya", ("phone",)),
    ("hub 0812/3456/7890", "hub", ("phone",)),
    ("hub 0812\u20133456\u20137890", "hub", ("phone",)),
    ("hub 0812*3456*7890", "hub", ("phone",)),
    ("WA: 8123 4567 890", "WA", ("phone",)),
    ("IG @tokositi_tani ya", "IG ya", ("link",)),
    ("Panen 0,5 ton, 2 kali 1 tahun", None, ()),
    ("Buka 08.00-17.00, sejak 01/02/2019", None, ()),
    ("telp 0274 12345", "telp", ("phone",)),
    ("Harga Rp12.500.000 per ton, panen 2019 2020 2021, stok 50 kg", None, ()),
    ("Beras IR64 dan C2, 1.250,5 kg, sejak 1998", None, ()),
    ("Kopi\u00a0arabika\n\n\n\nenak \U0001F600 dari Gayo. R\u00e9sum\u00e9",
     "Kopi arabika\n\nenak \U0001F600 dari Gayo. R\u00e9sum\u00e9", ()),
])
def test_what_is_taken_out_and_what_stays(text, published, removed):
    cleaned = clean_story(text)
    assert cleaned.text == (text if published is None else published)
    assert cleaned.removed == removed


@given(st.from_regex(r"0[1-9]\d{8,11}", fullmatch=True),
       st.sampled_from([" ", "-", ".", "", " - ", "/", "\u2013", "*", "  "]),
       st.text(alphabet="abc ", max_size=20))
def test_no_indonesian_number_survives_whatever_its_separators(number, separator, words):
    written = separator.join(number[i:i + 4] for i in range(0, len(number), 4))
    cleaned = clean_story(f"{words} {written} {words}")
    assert not re.search(r"\d{4}", re.sub(r"[^\d]", "", cleaned.text))
    assert cleaned.removed == ("phone",)


def test_parts_that_fill_their_segments_are_cut():
    assert fills_segments("a" * 153) and fills_segments("a" * 160) and fills_segments("a" * 306)
    assert fills_segments("\u4e00" * 67) and fills_segments("\u4e00" * 70)  # UCS-2
    assert not fills_segments("a" * 152) and not fills_segments("") and not fills_segments("\u4e00" * 66)
