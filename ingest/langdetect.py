"""The language of a document or a Windows-1252/1257 text sample, cheaply.

Script decides most cases outright (Arabic, Chinese, Cyrillic, ...). Latin-script text
goes to lingua in low-accuracy mode over a short list of languages: its high-accuracy
models take tens of seconds to load, which an ingest run should not pay for one label.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

_SCRIPTS = (
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
)
LATIN = (
    Language.ENGLISH,
    Language.LITHUANIAN,
    Language.LATVIAN,
    Language.ESTONIAN,
    Language.TURKISH,
    Language.GERMAN,
    Language.FRENCH,
    Language.SPANISH,
    Language.ITALIAN,
    Language.PORTUGUESE,
    Language.DUTCH,
    Language.POLISH,
    Language.SWEDISH,
    Language.DANISH,
    Language.FINNISH,
)


@lru_cache(maxsize=1)
def latin_detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*LATIN).with_low_accuracy_mode().build()


def script_language(text: str) -> str | None:
    """The language a non-Latin script implies, when at least a fifth of the letters use it."""
    letters = sum(ch.isalpha() for ch in text) or 1
    for code, pattern in _SCRIPTS:
        if len(pattern.findall(text)) / letters > 0.2:
            return code
    return None


def detect_language(text: str) -> str:
    """ISO 639-1 code, or '' when the text gives no clue."""
    sample = text[:3000]
    by_script = script_language(sample)
    if by_script:
        return by_script
    if not any(ch.isalpha() for ch in sample):
        return ""
    language = latin_detector().detect_language_of(sample)
    return str(language.iso_code_639_1.name).lower() if language else ""
