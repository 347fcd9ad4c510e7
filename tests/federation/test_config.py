"""Federation settings (issue 18): standalone is the default and asks for nothing; a hub
needs its letter, a city its hubs; anything else refuses to start."""

from __future__ import annotations

import pytest

from bot.config import HUB_ID_LETTERS, ConfigError, check_config, city_hubs, load_config, role_of
from bot.services.listings import CODE_LETTERS


def config(**values) -> dict:
    return load_config({"DATABASE_PATH": "var/x.db", **values})


def test_standalone_is_the_default_and_needs_nothing():
    settings = config()
    assert role_of(settings) == "standalone"
    check_config(settings)


@pytest.mark.parametrize("values", [
    {"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "A"},
    {"JEMBATAN_ROLE": "Hub", "JEMBATAN_HUB_ID": "Z"},
    {"JEMBATAN_ROLE": "city", "JEMBATAN_HUBS": "A, B"},
    {"JEMBATAN_ROLE": "standalone", "JEMBATAN_HUB_ID": "whatever"},
])
def test_accepted(values):
    check_config(config(**values))


@pytest.mark.parametrize("values, says", [
    ({"JEMBATAN_ROLE": "village"}, "standalone, hub or city"),
    ({"JEMBATAN_ROLE": "hub"}, "JEMBATAN_HUB_ID"),
    ({"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "I"}, "JEMBATAN_HUB_ID"),  # looks like 1
    ({"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "P"}, "JEMBATAN_HUB_ID"),  # order codes
    ({"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "a"}, "JEMBATAN_HUB_ID"),
    ({"JEMBATAN_ROLE": "hub", "JEMBATAN_HUB_ID": "AB"}, "JEMBATAN_HUB_ID"),
    ({"JEMBATAN_ROLE": "city"}, "JEMBATAN_HUBS"),
    ({"JEMBATAN_ROLE": "city", "JEMBATAN_HUBS": "A,A"}, "JEMBATAN_HUBS"),
    ({"JEMBATAN_ROLE": "city", "JEMBATAN_HUBS": "A,O"}, "JEMBATAN_HUBS"),
])
def test_refused(values, says):
    with pytest.raises(ConfigError, match=says):
        check_config(config(**values))


def test_city_hubs_and_letters():
    assert city_hubs(config(JEMBATAN_HUBS=" a,B ,")) == ["A", "B"]
    # A hub letter is a listing-code letter, so `AC7` reads like any code.
    assert HUB_ID_LETTERS == CODE_LETTERS
