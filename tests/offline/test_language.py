"""Language detection on the short, mixed messages shoppers actually send."""

from __future__ import annotations

import pytest

from agent.offline.detect import conversation_language, detect_language

CASES = [
    # (message, language so far, expected)
    ("hi", "", "en"),
    ("labas", "", "lt"),
    ("merhaba", "", "tr"),
    ("أقل من 100", "", "ar"),
    ("低于100欧元的帐篷", "", "zh"),
    ("Kiek dienų turiu grąžinti prekę?", "en", "lt"),
    ("iki yüz liradan ucuz çadır", "en", "tr"),
    ("tell me more about the second one", "lt", "en"),
    ("ačiū", "en", "lt"),
    ("teşekkürler", "en", "tr"),
    ("sepete ekle", "en", "tr"),
    ("taip", "en", "lt"),
    ("evet", "en", "tr"),
    ("是的", "en", "zh"),
    ("نعم", "en", "ar"),
    # Too short or language-less: keep the conversation's language.
    ("ok", "tr", "tr"),
    ("ok", "lt", "lt"),
    ("A1001", "zh", "zh"),
    ("ruta@example.com", "lt", "lt"),
    ("A1001 ruta@example.com", "ar", "ar"),
    ("Nordvik Alp 2", "lt", "lt"),
    ("42", "tr", "tr"),
    # Mixed: a foreign product name inside a sentence does not flip the language.
    ("ar turite Nordvik Alp 2 Trekking Tent?", "en", "lt"),
    ("Alp 2 çadırı stokta var mı?", "en", "tr"),
    ("Nordvik Alp 2 有货吗？", "en", "zh"),
    ("هل Nordvik Alp 2 متوفر؟", "en", "ar"),
]


@pytest.mark.parametrize(("text", "previous", "expected"), CASES)
def test_detects_the_language_of_short_and_mixed_messages(text: str, previous: str, expected: str) -> None:
    assert detect_language(text, previous) == expected


def test_the_conversation_switches_when_the_shopper_does() -> None:
    assert conversation_language(["hello", "I need a tent"]) == "en"
    assert conversation_language(["hello", "I need a tent", "ar turite pigesnių palapinių?"]) == "lt"
    assert conversation_language(["labas", "ok"]) == "lt"
    assert conversation_language(["labas", "ok", "thanks, that is all"]) == "en"


def test_an_empty_conversation_is_english() -> None:
    assert conversation_language([]) == "en"
