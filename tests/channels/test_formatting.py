"""Splitting and fitting reply text for platform limits (RTL, CJK, emoji, combining marks)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.formatting import fit, plain, split_text, utf16_units

ARABIC = (
    "مرحبًا بك في متجرنا. لدينا خيمة نوردفيك ألب 2 بسعر 249.00 يورو، وهي متوفرة الآن. "
    "يمكنك إرجاع المنتجات غير المستخدمة خلال 45 يومًا من التسليم. "
)


def test_short_text_is_one_message() -> None:
    assert split_text("  Hello there.  ", 100) == ["Hello there."]
    assert split_text("", 100) == []


def test_long_arabic_splits_at_sentence_or_word_ends_and_loses_nothing() -> None:
    text = ARABIC * 40
    chunks = split_text(text, 300)
    assert len(chunks) > 1
    assert all(len(c) <= 300 for c in chunks)
    # Every chunk ends at a sentence or word boundary: no word is cut in two.
    words = text.split()
    assert " ".join(" ".join(chunks).split()) == " ".join(words)
    for chunk in chunks:
        assert chunk.split()[-1] in words and chunk.split()[0] in words
    # Harakat (combining marks) stay on their letter: no chunk starts with one.
    assert not any(unicodedata.combining(c[0]) for c in chunks)


def test_paragraphs_are_preferred_over_sentences() -> None:
    first = "First paragraph. " * 10
    text = first.strip() + "\n\n" + "Second paragraph. " * 10
    chunks = split_text(text, len(first) + 20)
    assert chunks[0] == first.strip()


def test_text_without_spaces_is_cut_at_chinese_punctuation_then_characters() -> None:
    text = "这个帐篷很轻，适合徒步旅行。" * 30
    chunks = split_text(text, 50)
    assert all(len(c) <= 50 for c in chunks)
    assert "".join(chunks) == text
    assert all(c.endswith("。") for c in chunks[:-1])
    unbroken = "x" * 120
    assert split_text(unbroken, 50) == ["x" * 50, "x" * 50, "x" * 20]


def test_emoji_sequences_and_combining_marks_are_never_split() -> None:
    family = "👨\u200d👩\u200d👧"  # one emoji made of three joined code points
    text = (family * 30) + ("e\u0301" * 30)
    chunks = split_text(text, 10)
    assert "".join(chunks) == text
    for chunk in chunks:
        assert not chunk.startswith("\u200d") and not chunk.endswith("\u200d")
        assert not unicodedata.combining(chunk[0])


def test_telegram_counts_utf16_units() -> None:
    text = "😀" * 3000  # each emoji is two UTF-16 code units
    chunks = split_text(text, 4096, utf16_units)
    assert [utf16_units(c) for c in chunks] == [4096, 1904]


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab cd\n.!؟ مرحبا 你好。é\u0301😀")), max_size=600),
    st.integers(8, 80),
)
def test_split_never_exceeds_the_limit_and_keeps_every_visible_character(text: str, limit: int) -> None:
    chunks = split_text(text, limit, utf16_units)
    assert all(0 < utf16_units(c) <= limit for c in chunks)
    assert "".join("".join(chunks).split()) == "".join(text.split())


def test_fit_shortens_at_a_word_with_an_ellipsis() -> None:
    assert fit("Nordvik Alp 2 Trekking Tent (Forest Green)", 20) == "Nordvik Alp 2…"
    assert fit("short", 20) == "short"
    assert len(fit("خيمة نوردفيك ألب للرحلات الطويلة", 12)) <= 12


def test_limit_must_leave_room() -> None:
    with pytest.raises(ValueError):
        split_text("text", 2)


def test_plain_turns_light_markdown_into_text() -> None:
    text = "## Tents\n**Nordvik** costs 249.00 EUR, see [the page](https://shop.example/t)."
    assert plain(text) == "Tents\nNordvik costs 249.00 EUR, see the page (https://shop.example/t)."
    assert plain("**bold**", bold="*") == "*bold*"
