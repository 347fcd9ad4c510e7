"""The parser's fast paths (issue 14, parser speed; DECISIONS 410) give exactly what the
slower, plainer code they replace gave, for any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from conversations import numbers
from conversations.numbers import scan_number_token, scan_number_token_cached
from conversations.parse import lookup, tokens

#: digits, spaces, unit and money words in any case, and the letters whose case folding
#: differs between the regex engine and ``str.lower`` (``ſ``, ``İ``, ``ı``, Kelvin ``K``)
_PIECES = st.sampled_from(
    ["5", "12", "1.000", " ", "  ", "\t", "\n", "kg", "KG", "Kg", "rb", "Rb", "ribu", "k",
     "K", "ikat", "sak", "ſak", "İkat", "ıkat", "kali", "kgx", "per", "/", "@", "jt",
     "juta", "cabai", ",", "-", "x", "é", "1"]
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PIECES, max_size=10).map("".join))
def test_glueing_number_words_is_the_regex(text):
    assert numbers._glue_number_words(text) == numbers._NUMBER_WORD_GAP_RE.sub("", text)


@settings(max_examples=800, deadline=None)
@given(st.text(alphabet="0123456789.,rbjtkgonsp /@-+ RpIDRx", max_size=14))
def test_the_cached_scan_is_the_scan(token):
    token = token.lower()
    assert scan_number_token_cached(token) == scan_number_token(token)
    assert scan_number_token_cached(token) == scan_number_token(token)  # now from the cache


@settings(max_examples=800, deadline=None)
@given(st.lists(_PIECES | st.sampled_from([":", ";", "!", "*", "'", '"', ")", "]"]),
                max_size=6).map("".join))
def test_leading_punctuation_fast_path_is_the_regex(rest):
    stripped = rest.lstrip()
    if stripped[:1] in {*":;,.!?*_~=>\"')]}-"}:
        stripped = stripped[lookup._LEAD_PUNCT_RE.match(stripped).end() :]
    match = lookup._LEAD_PUNCT_RE.match(rest)
    assert stripped == (rest[match.end() :] if match else rest)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.text(max_size=6), max_size=4))
def test_product_words_fast_path_is_the_regex(words):
    expected = []
    for word in words:
        if word.lower() == "yang" and expected:
            break
        word = tokens._NOT_PRODUCT_RE.sub("", word).strip(".-'")
        if word:
            expected.append(word)
    assert tokens._clean_product(words) == expected
