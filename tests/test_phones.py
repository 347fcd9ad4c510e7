"""The fast path of `normalize_phone` answers exactly what phonenumbers answers."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from bot.phones import InvalidPhoneNumber, _parse_phone, normalize_phone


def test_e164_mobile_numbers_of_every_length_match_the_parser():
    rng = random.Random(13)
    for length in range(6, 12):  # digits after +628X
        for second in "123456789":
            for _ in range(20):
                number = "+628" + second + "".join(rng.choice("0123456789") for _ in range(length))
                expected = phonenumbers.format_number(phonenumbers.parse(number, "ID"),
                                                      phonenumbers.PhoneNumberFormat.E164)
                assert normalize_phone(number) == expected == _parse_phone(number, "ID")
                assert normalize_phone("whatsapp:" + number) == expected


@pytest.mark.parametrize("text, e164", [
    ("08123456789", "+628123456789"), ("628123456789", "+628123456789"),
    ("+62 812-3456-789", "+628123456789"), ("whatsapp:+628123456789", "+628123456789"),
    ("+14155550100", "+14155550100"), (" +628123456789 ", "+628123456789"),
])
def test_other_forms_still_go_through_the_parser(text, e164):
    assert normalize_phone(text) == e164


@pytest.mark.parametrize("text", ["", None, "halo", "+62", "12"])
def test_not_numbers_are_refused(text):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(text)
