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
