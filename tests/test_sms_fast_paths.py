"""`gsm_safe`'s fast path (plain ASCII) and its per-character memo change no answer."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.sms import _GSM_TWINS, gsm_safe


def _codec_gsm(char: str) -> bool:
    try:
        char.encode("gsm03.38")
    except (UnicodeEncodeError, ValueError):
        return False
    return True


def reference_gsm_safe(value: str) -> str:
    """The definition: every character through the codec, one by one."""
    result = []
    for char in value.translate(_GSM_TWINS):
        if char.isprintable() and _codec_gsm(char):
            result.append(char)
            continue
        for part in unicodedata.normalize("NFKD", char):
            if part.isprintable() and _codec_gsm(part):
                result.append(part)
    return " ".join("".join(result).split())


@given(st.text())
def test_gsm_safe_matches_the_definition(value):
    assert gsm_safe(value) == reference_gsm_safe(value)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_gsm_safe_matches_the_definition_on_ascii(value):
    assert gsm_safe(value) == reference_gsm_safe(value)
