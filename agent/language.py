"""Which language the shopper writes in, so replies can mirror it.

Scripts decide the easy cases (Arabic, Chinese, Cyrillic, ...); Latin-script text goes to
lingua restricted to the European languages a shop is likely to see. Short or ambiguous
messages ("ok", an order id) keep the language the conversation already had, and so does a
message whose other language is only in its names (an English message giving a Lithuanian
street address).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

MIN_CONFIDENCE = 0.5
_SCRIPTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]"), "ar"),
    (re.compile(r"[\u3040-\u30ff]"), "ja"),
    (re.compile(r"[\uac00-\ud7af]"), "ko"),
    (re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]"), "zh"),
    (re.compile(r"[\u0590-\u05ff]"), "he"),
    (re.compile(r"[\u0400-\u04ff]"), "ru"),
    (re.compile(r"[\u0370-\u03ff]"), "el"),
]
_LATIN_WORD = re.compile(r"[^\W\d_]{2,}")
_NOISE = re.compile(r"\S+@\S+|https?://\S+|\S*\d\S*")
"""Emails, links and ids (A1001, SKU-12) say nothing about the language."""


_LINGUA_NAMES = {
    "en": "ENGLISH", "lt": "LITHUANIAN", "tr": "TURKISH", "de": "GERMAN", "fr": "FRENCH", "es": "SPANISH",
    "pl": "POLISH", "lv": "LATVIAN", "et": "ESTONIAN", "it": "ITALIAN", "nl": "DUTCH", "pt": "PORTUGUESE",
    "fi": "FINNISH", "sv": "SWEDISH", "da": "DANISH", "cs": "CZECH", "ro": "ROMANIAN", "hu": "HUNGARIAN",
}  # fmt: skip


@lru_cache(maxsize=8)
def _detector(codes: frozenset[str]) -> Any:
    """A lingua detector for just these languages: small sets load fast and confuse less."""
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, _LINGUA_NAMES[c]) for c in sorted(codes)]
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()


def detect_language(
    text: str, previous: str = "", default: str = "en", expected: tuple[str, ...] = ()
) -> str:
    """ISO 639-1 code of ``text``; ``previous`` (or ``default``) when the text does not tell.

    Latin-script text is told apart among English and the ``expected`` languages (the
    store's), so a short message is not mistaken for some language nobody here speaks."""
    text = _NOISE.sub(" ", text)
    for pattern, code in _SCRIPTS:
        if pattern.search(text):
            return code
    words = _LATIN_WORD.findall(text)
    codes = frozenset(c for c in ("en", *expected) if c in _LINGUA_NAMES)
    if not words or (len(words) == 1 and len(words[0]) < 4) or len(codes) < 2:
        return previous or default
    found = _latin(text, codes)
    if found and found != (previous or default):
        plain = _latin(_without_names(text), codes)
        if (
            plain != found
        ):  # "Address: Petras Test, Vilniaus g. 3": the names, not the shopper, are Lithuanian
            return plain or previous or default
    return found or previous or default


def _latin(text: str, codes: frozenset[str]) -> str:
    if not _LATIN_WORD.search(text):
        return ""
    ranked = _detector(codes).compute_language_confidence_values(text)
    if ranked and ranked[0].value >= MIN_CONFIDENCE:
        return str(ranked[0].language.iso_code_639_1.name.lower())
    return ""


def _without_names(text: str) -> str:
    """``text`` without the capitalised words that do not start a sentence (names of people,
    streets and towns) and the short all-capital ones (LT, EU)."""
    kept: list[str] = []
    starts = True
    for token in text.split():
        capital = token[:1].isupper() and not starts
        if not (capital or (token.strip(".,;:!?").isupper() and len(token.strip(".,;:!?")) <= 3)):
            kept.append(token)
        starts = token.endswith((".", "!", "?", ":"))
    return " ".join(kept)


def script_language(text: str) -> str:
    """The language a non-Latin script gives away ('' for Latin-script or no letters)."""
    for pattern, code in _SCRIPTS:
        if pattern.search(text):
            return code
    return ""


def confidences(text: str, codes: tuple[str, ...]) -> dict[str, float]:
    """Lingua's confidence for each of ``codes`` (those it knows) that ``text`` is in it."""
    known = frozenset(c for c in codes if c in _LINGUA_NAMES)
    if len(known) < 2:
        return {}
    values = _detector(known).compute_language_confidence_values(text)
    return {str(v.language.iso_code_639_1.name.lower()): float(v.value) for v in values}
