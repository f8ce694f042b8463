"""Replies mirror the shopper's language: scripts first, then lingua among the store's languages."""

from __future__ import annotations

import pytest

from agent.language import detect_language

STORE = ("en", "lt", "tr", "ar", "zh")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kiek dienų turiu grąžinti prekę?", "lt"),
        ("Ieškau palapinės dviem žmonėms", "lt"),
        ("Bu çadırın fiyatı nedir?", "tr"),
        ("I want to return my boots", "en"),
        ("كم يوما لدي لإرجاع المنتج؟", "ar"),
        ("退货需要多少天", "zh"),
    ],
)
def test_languages_of_the_demo_store(text: str, expected: str) -> None:
    assert detect_language(text, "", "en", STORE) == expected


@pytest.mark.parametrize("text", ["ok", "A1001", "ruta@example.com", "yes", "42"])
def test_short_or_languageless_messages_keep_the_conversation_language(text: str) -> None:
    assert detect_language(text, previous="lt", default="en", expected=STORE) == "lt"


def test_an_address_in_another_language_does_not_switch_the_conversation() -> None:
    text = "Let's check out. Email: petras.test@example.com. Address: Petras Test, Vilniaus g. 3, 01402 Vilnius, LT."
    assert detect_language(text, "en", "en", STORE) == "en"
    first = "Could you do a better price on the Taiga Fox Pušynas 4 Family Tent?"  # a first message
    assert detect_language(first, "", "en", STORE) == "en"
    assert detect_language("Ar turite palapinių dviem žmonėms?", "en", "en", STORE) == "lt"  # a real switch
    assert detect_language("Please ship it to Ona Petraitė, Šiaulių g. 3, Kaunas.", "en", "en", STORE) == "en"
    assert detect_language("My name is Jonas Jonaitis and I live in Šiauliai.", "en", "en", STORE) == "en"
