"""`format_money` writes rupiah exactly as Babel does for both reply languages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.i18n import SUPPORTED_LOCALES, babel_money, format_money


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(SUPPORTED_LOCALES))
def test_format_money_is_babels(amount, locale):
    assert format_money(amount, locale) == babel_money(amount, locale)


@pytest.mark.parametrize("amount, text", [(0, "Rp0"), (12000, "Rp12.000"), (-5, "-Rp5"),
                                          (1234567, "Rp1.234.567"), (True, "Rp1")])
def test_format_money_examples(amount, text):
    assert format_money(amount) == text == format_money(amount, "en")


def test_money_is_never_a_float():
    with pytest.raises(TypeError):
        format_money(12.5)
